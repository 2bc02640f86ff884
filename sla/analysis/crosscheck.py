"""Server-side percentiles cross-checked against what the load generator saw.

A server's own histogram starts its clock when its handler starts: time queued before it (in the
kernel's accept queue, in an event loop busy with another request, in a proxy) and the network
are not in it. So a server-side P99 may pass while users wait far longer. Each server-side
percentile objective is compared with the load generator's same percentile over the same window
(from the actual send time). The overhead between the two measured at low load (the phase with
the fewest requests in flight, by Little's law: rate times median latency, if that is at most
LOW_LOAD_IN_FLIGHT; else none is allowed) is expected; a gap wider than that, even at
the bucket edges most favourable to agreement, is a warning in the report, never a silent pass.
A server percentile above what users saw is a warning too: the server counted other traffic, or
the two histograms disagree. Not by a hair, though: a server may stop its clock a little after
the client has the answer (Ray Serve's proxy records once its send returns), so a server bucket
starting at 50 ms above a client bucket ending at 49.8 ms agrees (SERVER_LATE: 5 %). Nor by a rank:
the server's window may miss a few requests at its edges (Ray Serve reports every second: 116 of
users' 120), which moves its percentile up by a rank. Every request the server counts, users waited
for longer, so its k-th slowest is at most users' k-th slowest: that is the bound it is held to.

The server's failure counts are checked against the load generator's the same way
(`uncounted_failures`): many stacks count only what fails inside the model (Triton counts nothing
it refuses before the model runs), so the load generator's outcome is the truth, and a server
error rate says what it cannot see. And a mapping's series that never appeared in the server's
scrapes over the run is a warning naming it (`absent_series`): a wrong name judges nothing.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sla.analysis.stats import Buckets
from sla.units import format_duration

LOW_LOAD_IN_FLIGHT = 1.5  # requests in flight on average: about one at a time, so little queueing
SERVER_LATE = 0.05  # a server bucket may start this much (relative) above the client's upper edge and agree
UNCOUNTED_SLACK = 2  # failures the load generator may see beyond the server's (timeouts, a request in flight at an edge)

if TYPE_CHECKING:
    from sla.analysis.sources import Outcomes
    from sla.analysis.verdict import ObjectiveResult
    from sla.objectives import Objective
    from sla.targets.metrics import MetricsMapping


@dataclass(frozen=True)
class Pair:
    """One window's latency from both sides."""

    phase: str
    server: Buckets
    client: Buckets
    rate: float  # the load generator's requests per second in the window

    @property
    def in_flight(self) -> float:
        """Requests in flight on average (Little's law, with the median for the mean)."""
        return self.rate * self.client.quantile(0.5)

    def gap(self, q: float) -> float:
        """Client minus server at quantile q, interpolated (the overhead between the two)."""
        return self.client.quantile(q) - self.server.quantile(q)


def rank(b: Buckets, q: float) -> float:
    """The rank (1-based, from the smallest) of quantile q's observation."""
    return max(1.0, math.ceil(q * b.total))


def bounds(b: Buckets, q: float) -> tuple[float, float]:
    """The bucket that holds quantile q: (lower, upper)."""
    return b.rank_bucket(rank(b, q))


def low_load_overhead(pairs: list[Pair], q: float) -> tuple[float, str]:
    """The client-minus-server overhead in the window with the fewest requests in flight: the larger
    of its gap at the median and at q (never below 0), and that window's phase. ("", 0) when no
    window ran at low load: its gap would hold queueing too."""
    low = min(pairs, key=lambda p: p.in_flight)
    if low.in_flight > LOW_LOAD_IN_FLIGHT:
        return 0.0, ""
    return max(0.0, low.gap(0.5), low.gap(q)), low.phase


def disagreement(pair: Pair, q: float, overhead: float, low_phase: str) -> str | None:
    """Why the two sides disagree at quantile q beyond the overhead (None: they agree)."""
    name = f"P{q * 100:g}"
    s_lo, s_hi = bounds(pair.server, q)
    c_lo, c_hi = bounds(pair.client, q)
    shown = (f"users saw {name} ~ {format_duration(pair.client.quantile(q))} (in ({format_duration(c_lo)}, {_edge(c_hi)}]), "
             f"the server's own {name} ~ {format_duration(pair.server.quantile(q))} (in ({format_duration(s_lo)}, {_edge(s_hi)}])")
    if c_lo - s_hi > overhead:
        allowed = (f"more than the {format_duration(overhead)} network and queueing overhead measured at low load (phase {low_phase})"
                   if low_phase else f"and no phase ran at low load (at most {LOW_LOAD_IN_FLIGHT:g} requests in flight) to measure "
                   "the overhead between the two")
        return (f"{pair.phase}: {shown}: at least {format_duration(c_lo - s_hi)} apart, {allowed}. "
                "The server's histogram misses time spent before its handler (queued connections, a busy event loop, a proxy): "
                "judge user-facing latency from the load generator (source: loadgen)")
    if s_lo > same_rank_from_top(pair, q)[1] * (1 + SERVER_LATE):
        return (f"{pair.phase}: {shown}: the server's is higher than anything users saw: it counts requests that were not "
                "the load generator's, or the two histograms disagree")
    return None


def same_rank_from_top(pair: Pair, q: float) -> tuple[float, float]:
    """The client's bucket holding the value with as many requests above it as the server's
    quantile q has."""
    above = pair.server.total - rank(pair.server, q)
    return pair.client.rank_bucket(max(1.0, pair.client.total - above))


def _edge(value: float) -> str:
    return format_duration(value) if math.isfinite(value) else "+Inf"


def cross_check(pairs_of: Callable[[], dict[str, Pair]], objectives: list["Objective"], results: list["ObjectiveResult"]) -> list[str]:
    """Warnings for server-side percentiles that disagree with the load generator's; each is also
    added to its result's detail. `pairs_of()` gives each phase's windows from both sides (read
    only when a server-side percentile is judged)."""
    checked = [(o, r) for o, r in zip(objectives, results)
               if o.source == "server" and o.kind_of.cross_checked and o.percentile is not None and o.phase]
    if not checked:
        return []
    pairs = pairs_of()
    warnings = []
    for o, r in checked:
        pair = pairs.get(o.phase) if o.phase else None
        if pair is None:
            continue
        q = o.q
        overhead, low_phase = low_load_overhead(list(pairs.values()), q)
        why = disagreement(pair, q, overhead, low_phase)
        r.extra["cross_check"] = {"client": pair.client.quantile(q), "server": pair.server.quantile(q), "overhead": overhead,
                                  "low_load_phase": low_phase or None, "agrees": why is None}
        if why:
            r.detail += f" (warning: {why})"
            warnings.append(f"{o.id}: {why}")
    return warnings


def absent_series(m: "MetricsMapping | None", missing: list[tuple[str, str]]) -> list[str]:
    """A warning for the mapping's series (field, selector) that no scrape of the server held over
    the whole run. Checked over the run, not at its first scrape: most stacks create a labelled
    series at its first observation."""
    if not missing or m is None:
        return []
    return [f"the {m.name} metrics mapping names series that the server never exposed during the run: "
            + "; ".join(f"{field} {selector}" for field, selector in missing)
            + ": objectives and charts from them judge nothing (check the names against the server's /metrics)"]


def uncounted_failures(m: "MetricsMapping | None", outcomes_of: Callable[[], list[tuple[str, "Outcomes | None", "Outcomes | None"]]],
                       objectives: list["Objective"], results: list["ObjectiveResult"]) -> list[str]:
    """Phases where the load generator saw more failures than the server counted: a warning, also
    added to the server error-rate results of the phase (what the server cannot see).
    `outcomes_of()` gives (phase, the load generator's outcomes, the server's) of each phase."""
    if m is None or not m.failures:
        return []
    server_rates = [(o, r) for o, r in zip(objectives, results) if o.kind_of.counts_failures and o.source == "server"]
    for o, r in server_rates:
        if m.uncounted:
            r.detail += f" (the {m.name} metrics do not count {m.uncounted}; the load generator's error rate does)"
    warnings = []
    for phase, client, server in outcomes_of():
        if client is None:
            continue
        seen, counted = client.failed(), server.failed() if server else 0.0
        if seen <= counted + UNCOUNTED_SLACK:
            continue
        why = (f"{phase}: the load generator saw {seen:.0f} failed requests, the server counted {counted:.0f}"
               + (f": the {m.name} metrics do not count {m.uncounted}" if m.uncounted else "")
               + "; judge errors from the load generator (the default source)")
        warnings.append(why)
        for o, r in server_rates:
            if o.phase == phase:
                r.detail += f" (warning: {why})"
    return warnings
