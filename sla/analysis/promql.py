"""PromQL (pure strings). Every query a verdict reads is pinned with the `@` modifier, so judging a
run again gives the same answer; the polls while a run goes (is the target scraped yet) ask for
now, and series over a window are read by range queries between explicit times.

Two ways of cutting a window, both without `increase()`'s extrapolation (Prometheus scales the
increase it sees between the first and last sample in the range out to the range's edges, so a
count read with increase() is not a whole number and can exceed what was sent):
- load-generator series carry a `phase` label and exist at 0 before the run: their value at the
  final scrape (`@ final`) is the exact count of that phase.
- server series are not phase-labelled: the phase is the difference of the cumulative counters at
  the executed window's edges (`x @ end - x @ start`), exact to one scrape interval.
Validity (scrape gaps, target down, restarts) uses range functions `[<D>s] @ <end>`.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sla.targets.metrics import MetricsMapping

LOADGEN_JOB = "loadgen"
SERVER_JOB = "server"
HAPROXY_JOB = "haproxy"  # the load balancer in front of replicas (sla/balancer.py)


def _at(t: float) -> str:
    return f"@ {t:.3f}"


def escape(value: str) -> str:
    """A PromQL string literal's content: backslash, double quote and newline escaped. Names are
    checked against a safe character set where they are read; this holds even if one is not."""
    return str(value).replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _labels(**labels: str) -> str:
    return "{" + ",".join(f'{k}="{escape(v)}"' for k, v in labels.items()) + "}"


def named(spec: str | None) -> str:
    """A series of a mapping that its objective kind checked the mapping has."""
    if spec is None:
        raise ValueError("the server metrics mapping names no such series (the objective kind should have refused it)")
    return spec


def series(spec: str, suffix: str = "", *raw: str, **labels: str) -> str:
    """A selector from a server metrics mapping's series (`name` or `name{matchers}`), with a
    suffix such as `_bucket`, more label matchers, and matchers written out (`raw`, such as
    `code!~"200"`)."""
    name, _, rest = spec.partition("{")
    matchers = ([m for m in [rest.rstrip().removesuffix("}").strip()] if m] + [f'{k}="{escape(v)}"' for k, v in labels.items()]
                + list(raw))
    return f"{name}{suffix}" + ("{" + ",".join(matchers) + "}" if matchers else "")


def restart_counter(m: "MetricsMapping") -> str | None:
    """A counter of the mapping's that only grows while the server lives (a reset: it restarted)."""
    if m.request_histogram:
        return series(m.request_histogram, "_count")
    return m.duration_count or m.requests_counter


def server_info(name: str, at: float) -> str:
    """An info metric of the server (or each replica) as it was exposed at `at`."""
    return f"{series(name, '', job=SERVER_JOB)} {_at(at)}"


def window_seconds(start: float, end: float) -> int:
    """A range selector's whole seconds that stay inside [start, end] (rounded up, it would reach
    back before the window: a scrape of a server not listening yet would count as down)."""
    return max(1, int(math.floor(end - start)))


def loadgen_bucket_series(run_id: str, phase: str, timing: str = "actual") -> str:
    """Unpinned: for a range query with explicit start and end (the recovery windows)."""
    sel = _labels(run_id=run_id, phase=phase, outcome="success", timing=timing)
    return f"sum by (le) (loadgen_request_duration_seconds_bucket{sel})"


def loadgen_buckets(run_id: str, phase: str, final: float, timing: str = "actual") -> str:
    sel = _labels(run_id=run_id, phase=phase, outcome="success", timing=timing)
    return f"sum by (le) (loadgen_request_duration_seconds_bucket{sel} {_at(final)})"


def loadgen_counts(run_id: str, phase: str, final: float) -> str:
    sel = _labels(run_id=run_id, phase=phase, timing="actual")
    return f"sum by (outcome) (loadgen_request_duration_seconds_count{sel} {_at(final)})"


def loadgen_answers(run_id: str, phase: str, final: float) -> str:
    """The phase's scored answers by measure (answers, lines, exact_lines, chars, char_errors)."""
    return f"sum by (measure) (loadgen_answers_total{_labels(run_id=run_id, phase=phase)} {_at(final)})"


def loadgen_total(run_id: str) -> str:
    return f"sum(loadgen_request_duration_seconds_count{_labels(run_id=run_id, timing='actual')})"


def sample_time(run_id: str, phase: str, at: float) -> str:
    """When the load-generator sample in effect at `at` was scraped."""
    sel = _labels(run_id=run_id, phase=phase, timing="intended")
    return f"max(timestamp(loadgen_request_duration_seconds_count{sel} {_at(at)}))"


def schedule_lag_buckets(run_id: str, phase: str, final: float) -> str:
    return f"sum by (le) (loadgen_schedule_lag_seconds_bucket{_labels(run_id=run_id, phase=phase)} {_at(final)})"


def arrivals(run_id: str, phase: str, final: float) -> str:
    return f"sum by (result) (loadgen_arrivals_total{_labels(run_id=run_id, phase=phase)} {_at(final)})"


def loadgen_mean(run_id: str, phase: str, final: float, timing: str = "actual") -> tuple[str, str]:
    """(sum, count) of the successful requests' latency."""
    sel = _labels(run_id=run_id, phase=phase, outcome="success", timing=timing)
    return (f"sum(loadgen_request_duration_seconds_sum{sel} {_at(final)})",
            f"sum(loadgen_request_duration_seconds_count{sel} {_at(final)})")


def server_delta(selector: str, by: str | None, start: float, end: float) -> str:
    """A cumulative series' growth over [start, end]: its values at the two edges, summed (by a
    label). A series that did not exist yet at `start` counts from 0: many servers create a
    labelled series at its first observation."""
    agg = f"sum by ({by})" if by else "sum"
    at_end = f"{agg} ({selector} {_at(end)})"
    return f"{at_end} - ({agg} ({selector} {_at(start)}) or {at_end} * 0)"


def server_buckets(m: "MetricsMapping", start: float, end: float, stage: str | None = None) -> str:
    if stage is None:
        return server_delta(series(named(m.request_histogram), "_bucket"), "le", start, end)
    return server_delta(series(named(m.stage_histogram), "_bucket", **{m.stage_label: stage}), "le", start, end)


def server_mean(m: "MetricsMapping", start: float, end: float) -> tuple[str, str]:
    """(sum, count) of the requests' latency in the window, the sum in the mapping's unit."""
    if m.request_histogram:
        return (server_delta(series(m.request_histogram, "_sum"), None, start, end),
                server_delta(series(m.request_histogram, "_count"), None, start, end))
    return (server_delta(series(named(m.duration_sum)), None, start, end),
            server_delta(series(named(m.duration_count)), None, start, end))


def server_codes(m: "MetricsMapping", start: float, end: float) -> str:
    """Requests by status (the mapping's status label)."""
    return server_delta(series(named(m.requests_counter)), m.status_label, start, end)


def server_count(spec: str, start: float, end: float) -> str:
    return server_delta(series(spec), None, start, end)


def haproxy_answers(start: float, end: float) -> str:
    """Answers per replica (HAProxy server) and status class over a window."""
    sel = f'haproxy_server_http_responses_total{{job="{HAPROXY_JOB}",proxy="replicas"}}'
    return server_delta(sel, "server, code", start, end)


def haproxy_connection_errors(start: float, end: float) -> str:
    """Connections to a replica that failed (refused while it was not listening yet, ...)."""
    return server_delta(f'haproxy_server_connection_errors_total{{job="{HAPROXY_JOB}",proxy="replicas"}}', "server", start, end)


def gauge(metric: str, at: float, job: str | None = None) -> str:
    return f"max({series(metric, **({'job': job} if job else {}))} {_at(at)})"


def time_to_ready(m: "MetricsMapping", at: float) -> str:
    return f"{gauge(named(m.ready_timestamp), at)} - {gauge(named(m.process_start), at, SERVER_JOB)}"


# -- over time, for the report's charts (range queries with explicit start, end and step) --------


def loadgen_quantile_over_time(run_id: str, q: float, window_s: int, timing: str) -> str:
    sel = _labels(run_id=run_id, outcome="success", timing=timing)
    return f"histogram_quantile({q:g}, sum by (le) (rate(loadgen_request_duration_seconds_bucket{sel}[{window_s}s])))"


def lag_quantile_over_time(run_id: str, q: float, window_s: int) -> str:
    return f"histogram_quantile({q:g}, sum by (le) (rate(loadgen_schedule_lag_seconds_bucket{_labels(run_id=run_id)}[{window_s}s])))"


def server_quantile_over_time(m: "MetricsMapping", q: float, window_s: int) -> str:
    return f"histogram_quantile({q:g}, sum by (le) (rate({series(named(m.request_histogram), '_bucket')}[{window_s}s])))"


def loadgen_rate_over_time(run_id: str, window_s: int) -> str:
    """Requests per second by outcome (success, failure, shed)."""
    sel = _labels(run_id=run_id, timing="actual")
    return f"sum by (outcome) (rate(loadgen_request_duration_seconds_count{sel}[{window_s}s]))"


def loadgen_gauge_over_time(name: str) -> str:
    return f"max(loadgen_{name}{_labels(job=LOADGEN_JOB)})"


def gauge_sum(metric: str, at: float) -> str:
    """A labelled gauge summed (each model's load time, say)."""
    return f"sum({series(metric)} {_at(at)})"


def scrape_samples(job: str, start: float, end: float) -> str:
    """Successful scrapes in the window (up is 1 for each, 0 for a failed one)."""
    return f"min(sum_over_time(up{_labels(job=job)}[{window_seconds(start, end)}s] {_at(end)}))"


def slowest_scrape(job: str, start: float, end: float) -> str:
    return f"max(max_over_time(scrape_duration_seconds{_labels(job=job)}[{window_seconds(start, end)}s] {_at(end)}))"


def scrape_down(job: str, start: float, end: float) -> str:
    return f"min(min_over_time(up{_labels(job=job)}[{window_seconds(start, end)}s] {_at(end)}))"


def restarts(metric: str, start: float, end: float, **labels: str) -> str:
    return f"sum(resets({series(metric, **labels)}[{window_seconds(start, end)}s] {_at(end)}))"


def quantile_of(buckets_query: str, percentile: float) -> str:
    """The equivalent histogram_quantile expression, shown beside the exact fraction."""
    return f"histogram_quantile({percentile / 100:g}, {buckets_query})"
