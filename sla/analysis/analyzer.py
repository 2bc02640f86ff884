"""The analyzer: a run judged from its series in Prometheus (read through sla/prometheus/client.py),
objective by objective, with the per-phase summaries that result.json, capacity and compare use."""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from sla.analysis import promql
from sla.analysis.evaluate import evaluate, target_exited
from sla.analysis.sources import LoadgenSource, Outcomes, ServerSource, Source
from sla.analysis.stats import Buckets, per_second, share
from sla.analysis.verdict import Measurement, ObjectiveResult, overall
from sla.claims import ARRIVALS_PER_PROCESS
from sla.errors import SlaError
from sla.history.store import Comparable
from sla.prometheus.client import PromReader
from sla.manifest import HDR_NAME, PhaseWindow, RunManifest, read_hdr
from sla.objectives import Objective
from sla.slafile import SlaSpec
from sla.analysis.crosscheck import Pair, absent_series, cross_check, uncounted_failures
from sla.targets import metrics_of_run

SUMMARY_PERCENTILES = (50.0, 90.0, 95.0, 99.0, 99.9)
# Stability (after Triton perf_analyzer's rule): the last STABLE_WINDOWS windows agree within
# STABLE_SPREAD on throughput (per window) and on P99 (of the measurement so far: a P99 of one
# window of ~100 requests swings by 25 % on a steady server, while the cumulative one converges,
# and keeps climbing when a queue grows). P99s further apart still agree when their requests cannot
# tell them apart: one value lies within every window's confidence interval for its P99
# (Buckets.quantile_interval). The P99 of 100 requests is their slowest one or two, which a single
# slow request moves by more than STABLE_SPREAD; a growing queue moves the whole interval. A window
# lasts at least WINDOW_MIN_S and holds about WINDOW_MIN_REQUESTS.
WINDOW_MIN_S, WINDOW_MIN_REQUESTS, STABLE_WINDOWS, STABLE_SPREAD = 5.0, 100, 3, 0.10


@dataclass
class Delivery:
    """What the load generator was asked and sent in an arrival-rate phase."""

    asked_rate: float
    planned: float
    sent: float
    achieved_rate: float | None
    dropped: float
    lag_p99: float | None


@dataclass
class PhaseSummary:
    """What users saw in a phase (result.json `phases`: the basis of baselines, capacity, compare)."""

    requests: float
    throughput: float | None
    shed: float
    error_rate: float | None  # shed included
    duration: float  # as executed
    percentiles: dict[str, float | None]  # p50 ... p99.9 (intended send time in arrival-rate phases)
    hdr_p99: float | None = None
    uncorrected: dict[str, float | None] = field(default_factory=dict)  # arrival-rate phases: from the actual send time
    delivery: Delivery | None = None  # arrival-rate phases
    windows: list[dict[str, float | None]] = field(default_factory=list)  # arrival-rate phases: per window (Analyzer.windows)
    stable: bool = False
    accuracy: dict[str, float | None] | None = None  # scored answers: answers, lines, exact_lines (share), cer

    @property
    def p50(self) -> float | None:
        return self.percentiles.get("p50")

    @property
    def p99(self) -> float | None:
        return self.percentiles.get("p99")

    @property
    def achieved_rate(self) -> float | None:
        return self.delivery.achieved_rate if self.delivery else None

    def to_json(self) -> dict[str, Any]:
        """The flat form result.json has always had (a baseline reads `p99`, `throughput`)."""
        doc: dict[str, Any] = {**self.percentiles, "requests": self.requests, "throughput": self.throughput, "shed": self.shed,
                               "error_rate": self.error_rate, "duration": self.duration, "hdr_p99": self.hdr_p99,
                               "accuracy": self.accuracy}
        if self.delivery is not None:
            doc.update({f"{k}_uncorrected": v for k, v in self.uncorrected.items()})
            doc.update(asdict(self.delivery), windows=self.windows, stable=self.stable)
        return doc


@dataclass
class Analysis:
    verdict: str
    results: list[ObjectiveResult]
    phases: dict[str, PhaseSummary]
    notes: list[str]
    cold_start: dict[str, float | None] = field(default_factory=dict)  # time_to_ready, first_request (s)
    warnings: list[str] = field(default_factory=list)  # evidence that disagrees (sla/analysis/crosscheck.py)
    replicas: dict[str, dict[str, dict[str, float]]] = field(default_factory=dict)  # phase -> replica -> answers by class (HAProxy)


class Analyzer:
    """Judges a run: for each objective its kind measures (asking a metrics source) and judges;
    the analyzer adds what holds for every objective of a phase (the phase window, the source's
    validity, whether the load generator delivered) and the per-phase summaries."""

    def __init__(
        self, reader: PromReader, manifest: RunManifest, baseline: dict[str, Any] | None = None, hdr: dict[str, Any] | None = None,
        history: Comparable | None = None,
    ) -> None:
        self.reader = reader
        self.manifest = manifest
        final_seen = bool(manifest.loadgen.get("final_scrape_at"))
        self.final = float(manifest.loadgen.get("final_scrape_at") or manifest.ended_at)
        self.baseline = baseline
        self.history = history
        self.sla: SlaSpec | None = None
        self.loadgen = LoadgenSource(reader, manifest, self.final, final_seen, hdr or {})
        self.server = ServerSource(reader, manifest, self.final, metrics_of_run(manifest))

    def source(self, name: str) -> Source:
        return self.server if name == "server" else self.loadgen

    def window(self, phase: str) -> PhaseWindow | None:
        return next((w for w in self.manifest.phases if w.name == phase), None)

    @staticmethod
    def duration(w: PhaseWindow) -> float:
        """Arrival-rate phases over the planned duration (the rate asked is the rate judged)."""
        return w.planned_duration if w.asked_rate is not None else w.end - w.start

    def delivery(self, w: PhaseWindow) -> Delivery:
        """What the load generator was asked and what it sent, for an arrival_rate phase."""
        arrivals = self.reader.vector(promql.arrivals(self.manifest.run_id, w.name, self.final), "result")
        lag = self.reader.buckets(promql.schedule_lag_buckets(self.manifest.run_id, w.name, self.final))
        asked = w.asked_rate or 0.0
        sent = arrivals.get("sent", 0.0)
        return Delivery(asked, asked * w.planned_duration, sent, per_second(sent, w.planned_duration), arrivals.get("dropped", 0.0),
                        lag.quantile(0.99) if lag and lag.total else None)

    def _generator_validity(self, w: PhaseWindow) -> tuple[str, ...]:
        """Arrival-rate phases: did the load generator deliver the load asked of it?"""
        if w.asked_rate is None or self.sla is None:
            return ()
        d = self.delivery(w)
        problems = []
        if d.sent < self.sla.min_achieved * d.planned:
            problems.append(
                f"the load generator sent {d.sent:.0f} of the {d.planned:.0f} arrivals asked ({(share(d.sent, d.planned) or 0) * 100:.1f}%, "
                f"under {self.sla.min_achieved * 100:g}%; {d.dropped:.0f} dropped at the in-flight limit): it did not deliver "
                f"{w.asked_rate:g}/s"
            )
        if d.lag_p99 is not None and d.lag_p99 > self.sla.max_lag_p99:
            problems.append(
                f"the load generator fell behind its arrival clock: lag P99 {d.lag_p99 * 1e3:.1f} ms over "
                f"{self.sla.max_lag_p99 * 1e3:g} ms: it was short of CPU (a server using every core starves it: leave the "
                f"generator a core, or run Locust workers on another host; over {ARRIVALS_PER_PROCESS:g}/s per process, more --processes)"
            )
        at_rate = self.sla.at_rate.get(w.name)
        if at_rate is not None and (d.achieved_rate or 0.0) < self.sla.min_achieved * at_rate:
            problems.append(f"achieved {d.achieved_rate or 0:.2f}/s, under the {at_rate:g}/s the SLA must hold at")
        return tuple(problems)

    def measure(self, o: Objective) -> Measurement:
        kind = o.kind_of
        if o.phase is None:
            return kind.measure(o, self, None)
        w = self.window(o.phase)
        if w is None:
            return Measurement(promql="", validity=(f"the run has no executed phase {o.phase!r}",))
        window = (w.start, w.end)
        validity = self.source(o.source).validity(w)
        if o.source == "server" and self.server.metrics is None:
            return Measurement("", window, validity=validity)
        m = kind.measure(o, self, w)
        return replace(m, window=window, validity=validity + m.validity, delivery=self._generator_validity(w))

    def _percentiles(self, w: PhaseWindow, timing: str) -> dict[str, float | None]:
        buckets = self.loadgen.buckets(w, timing)[1]
        return {f"p{p:g}": (buckets.quantile(p / 100) if buckets and buckets.total else None) for p in SUMMARY_PERCENTILES}

    def phase_summary(self, w: PhaseWindow) -> PhaseSummary:
        """What users saw in a phase: percentiles (from the intended send time in arrival-rate
        phases, with the uncorrected ones beside them), throughput, error rate, requests, and for
        arrival-rate phases what the load generator was asked and delivered."""
        counts = self.loadgen.outcomes(w) or Outcomes("", 0.0, 0.0, 0.0)
        timing = self.loadgen.timing(w)
        summary = PhaseSummary(
            requests=counts.total, throughput=counts.throughput(self.duration(w)), shed=counts.shed,
            error_rate=counts.error_rate(), duration=w.end - w.start, percentiles=self._percentiles(w, timing),
            hdr_p99=self.loadgen.hdr_value(w.name, timing, 99.0),
        )
        answers = self.loadgen.answers(w)
        if answers is not None and answers.answers:
            summary.accuracy = answers.to_json()
        if timing == "intended":
            summary.uncorrected = self._percentiles(w, "actual")
            summary.delivery = self.delivery(w)
            summary.windows = self.windows(w)
            summary.stable = stable(summary.windows)
        return summary

    def windows(self, w: PhaseWindow) -> list[dict[str, float | None]]:
        """Per window of an arrival-rate phase: its end, its throughput, and the P99 (intended
        timing) of the measurement so far with its confidence interval (`p99_low`, `p99_high`),
        counted from the end of the first window: the start of a phase (the load changing,
        connections opening) is a transient that a cumulative P99 of a few hundred requests would
        otherwise carry for the whole step. A value that cannot be had (the first window's P99) is
        None: null in result.json, which strict JSON readers accept and NaN they do not."""
        size = max(WINDOW_MIN_S, WINDOW_MIN_REQUESTS / (w.asked_rate or 1.0))
        edges = [w.start + i * size for i in range(int(w.planned_duration // size) + 1)]
        out: list[dict[str, float | None]] = []
        previous: tuple[Buckets, float] | None = None
        base: Buckets | None = None  # at the end of the first window
        for edge in edges:
            current = self.loadgen.buckets(w, "intended", at=edge)[1]
            # the sample's own time: a window holds whole scrapes, so divide by the time between them
            stamp = self.reader.scalar(promql.sample_time(self.manifest.run_id, w.name, edge))
            if current is None or stamp is None:
                continue
            if previous is not None and previous[0].bounds == current.bounds and stamp > previous[1]:
                since = current.minus(base) if base is not None and base.bounds == current.bounds else None
                low, high = since.quantile_interval(0.99) if since is not None else (math.nan, math.nan)
                p99 = since.quantile(0.99) if since is not None else math.nan
                out.append({"end": stamp, "throughput": (current.total - previous[0].total) / (stamp - previous[1]),
                            **{k: v if math.isfinite(v) else None for k, v in (("p99", p99), ("p99_low", low), ("p99_high", high))}})
                base = base or current
            previous = (current, stamp)
        return out

    def cold_start_summary(self) -> dict[str, float | None]:
        """Time to ready (the server's own timestamp where it has one, else the gate's probe) and
        the first request as the load generator saw it."""
        ready = self.server.time_to_ready()
        return {"time_to_ready": ready.value if not ready.why_not else self.loadgen.time_to_ready().value,
                "first_request": self.loadgen.first_request().value}

    def run(self, sla: SlaSpec) -> Analysis:
        self.sla = sla
        notes = []
        objectives = list(sla.objectives)
        for unjudged, given, flag in (([o for o in sla.baseline_objectives if o.runs is None], self.baseline, "--baseline"),
                                      ([o for o in sla.baseline_objectives if o.runs is not None], self.history, "--history")):
            if unjudged and given is None:
                notes.append(f"{len(unjudged)} baseline objective(s) not judged: no {flag} given")
                objectives = [o for o in objectives if o not in unjudged]
        results = [evaluate(o, self.measure(o)) for o in objectives]
        exited = self.manifest.server.get("exited")
        if exited:
            phase = next((w.name for w in self.manifest.phases if w.start <= exited["at"] <= (w.end or exited["at"])), None)
            results.insert(0, target_exited(exited, phase, sum(w.planned_duration for w in self.manifest.phases)))
        m = self.server.metrics
        missing = self.server.absent(self.manifest.phases[0].start, self.final) if m is not None and self.manifest.phases else []
        warnings = (absent_series(m, missing) + (cross_check(self.latency_pairs, objectives, results) if m is not None else [])
                    + uncounted_failures(m, self.outcome_pairs, objectives, results))
        phases = {w.name: self.phase_summary(w) for w in self.manifest.phases}
        return Analysis(overall(results), results, phases, notes, self.cold_start_summary(), warnings, self.served_by_replica())

    def latency_pairs(self) -> dict[str, Pair]:
        """Each phase's latency from both sides, where the server's series are valid (the cross-check's input)."""
        pairs: dict[str, Pair] = {}
        for w in self.manifest.phases:
            if self.server.validity(w):
                continue
            server = self.server.latency(w).buckets
            client = self.loadgen.buckets(w, "actual")[1]
            duration = w.end - w.start
            if server and client and server.total > 0 and client.total > 0 and duration > 0:
                pairs[w.name] = Pair(w.name, server, client, client.total / duration)
        return pairs

    def outcome_pairs(self) -> list[tuple[str, Outcomes | None, Outcomes | None]]:
        """Each phase's outcomes from both sides, where the server's series are valid."""
        return [(w.name, self.loadgen.outcomes(w), self.server.outcomes(w)) for w in self.manifest.phases if not self.server.validity(w)]

    def served_by_replica(self) -> dict[str, dict[str, dict[str, float]]]:
        """Behind HAProxy: per phase, what each replica answered (2xx, 5xx, ...) and the connections
        to it that failed, from HAProxy's own per-server counters."""
        if not (self.manifest.server or {}).get("replicas"):
            return {}
        out: dict[str, dict[str, dict[str, float]]] = {}
        for w in self.manifest.phases:
            per: dict[str, dict[str, float]] = {}
            for q, label in ((promql.haproxy_answers(w.start, w.end), "code"), (promql.haproxy_connection_errors(w.start, w.end), None)):
                for r in self.reader.query(q):
                    key = r["metric"].get(label, "") if label else "connection errors"
                    per.setdefault(r["metric"].get("server", "?"), {})[key] = float(r["value"][1])
            out[w.name] = {server: counts for server, counts in sorted(per.items()) if any(counts.values())}
        return out


def stable(windows: list[dict[str, float | None]]) -> bool:
    """The last STABLE_WINDOWS windows within STABLE_SPREAD of each other on throughput, and on P99
    or else within what their requests can tell apart (one value in every P99's interval)."""
    last = windows[-STABLE_WINDOWS:]
    if len(last) < STABLE_WINDOWS or not _agree([x.get("throughput") for x in last]):
        return False
    lows, highs = _known([x.get("p99_low") for x in last]), _known([x.get("p99_high") for x in last])
    return _agree([x.get("p99") for x in last]) or (lows is not None and highs is not None and max(lows) <= min(highs))


def _known(values: list[float | None]) -> list[float] | None:
    """The values when every one is a finite number, else None."""
    known = [v for v in values if v is not None and math.isfinite(v)]
    return known if len(known) == len(values) else None


def _agree(values: list[float | None]) -> bool:
    """All known, positive, and within STABLE_SPREAD of the largest."""
    known = _known(values)
    return known is not None and min(known) > 0 and (max(known) - min(known)) / max(known) <= STABLE_SPREAD


def load_hdr(run_dir: Path) -> dict[str, Any]:
    """The run's HdrHistogram summaries (hdr.json), or {} when the run has none."""
    try:
        return read_hdr(Path(run_dir) / HDR_NAME)
    except (OSError, ValueError):
        return {}


def load_baseline(path: Path | str) -> dict[str, Any]:
    try:
        doc = json.loads(Path(path).read_text())
    except (OSError, ValueError) as exc:
        raise SlaError(f"--baseline {path}: cannot read a result.json ({exc})") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("phases"), dict):
        raise SlaError(f"--baseline {path}: not a result.json written by sla run/check (no 'phases')")
    return doc
