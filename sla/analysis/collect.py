"""Measurements from Prometheus, through prometheus-api-client (the only way this package reads it).

Pitfalls of prometheus-api-client handled here: every query is an instant query with explicit `@` times
(never the client's import-time defaults); connection errors become an SlaError (exit 3);
`check_prometheus_connection` only GETs `/`, so readiness is `GET /-/ready`.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import requests
from prometheus_api_client import PrometheusApiClientException, PrometheusConnect

from sla.analysis import promql
from sla.analysis.evaluate import Measurement, ObjectiveResult, evaluate, overall, target_exited
from sla.analysis.stats import Buckets, recovery_time
from sla.claims import ARRIVALS_PER_PROCESS
from sla.loadgen.histograms import hdr_percentile
from sla.errors import SlaError
from sla.manifest import HDR_NAME, PhaseWindow, RunManifest
from sla.slafile import RECOVERY_WINDOW_S, Objective, SlaSpec
from sla.targets import metrics_for

SCRAPE_INTERVAL_S = 1.0
MIN_SCRAPE_SHARE = 0.8  # fewer samples than this share of the expected count is a scrape gap
READY_PROBE = "(not PromQL) run.json: server.ready - server.start, from the gate's readiness probe"
SUMMARY_PERCENTILES = (50.0, 90.0, 95.0, 99.0, 99.9)
# Stability (after Triton perf_analyzer's rule): the last STABLE_WINDOWS windows agree within
# STABLE_SPREAD on throughput (per window) and on P99 (of the measurement so far: a P99 of one
# window of ~100 requests swings by 25 % on a steady server, while the cumulative one converges,
# and keeps climbing when a queue grows). A window lasts at least WINDOW_MIN_S and holds about
# WINDOW_MIN_REQUESTS.
WINDOW_MIN_S, WINDOW_MIN_REQUESTS, STABLE_WINDOWS, STABLE_SPREAD = 5.0, 100, 3, 0.10


class PromReader:
    """Instant queries; errors name the URL and the query. Queries pinned with `@` always give the
    same answer, so they are cached (the analysis asks some twice); others (polling) are not."""

    def __init__(self, url: str, timeout_s: float = 30.0) -> None:
        self.url = url.rstrip("/")
        self.client = PrometheusConnect(url=self.url, disable_ssl=True, timeout=timeout_s)
        self._cache: dict[str, list[dict[str, Any]]] = {}

    def check_ready(self) -> None:
        try:
            resp = requests.get(f"{self.url}/-/ready", timeout=5)
        except requests.RequestException as exc:
            raise SlaError(f"Prometheus at {self.url} is unreachable: {exc}") from None
        if resp.status_code != 200:
            raise SlaError(f"Prometheus at {self.url} is not ready: HTTP {resp.status_code} from /-/ready")

    def query(self, expr: str) -> list[dict[str, Any]]:
        if expr in self._cache:
            return self._cache[expr]
        try:
            result = self.client.custom_query(expr)
        except (PrometheusApiClientException, requests.RequestException) as exc:
            raise SlaError(f"Prometheus at {self.url} failed the query {expr!r}: {exc}") from None
        if "@" in expr:
            self._cache[expr] = result
        return result

    def range(self, expr: str, start: float, end: float, step_s: float) -> list[dict[str, Any]]:
        """A range query between explicit Unix times (never the client's import-time defaults)."""
        try:
            return self.client.custom_query_range(
                expr, start_time=datetime.fromtimestamp(start, timezone.utc), end_time=datetime.fromtimestamp(end, timezone.utc),
                step=f"{step_s:g}")
        except Exception as exc:  # the client raises several types
            raise SlaError(f"Prometheus at {self.url} failed the query {expr!r}: {exc}") from None

    def scalar(self, expr: str) -> float | None:
        result = self.query(expr)
        if not result:
            return None
        value = float(result[0]["value"][1])
        return value if math.isfinite(value) else None

    def vector(self, expr: str, label: str) -> dict[str, float]:
        return {r["metric"].get(label, ""): float(r["value"][1]) for r in self.query(expr)}

    def buckets(self, expr: str) -> Buckets | None:
        pairs = {float(le): max(v, 0.0) for le, v in self.vector(expr, "le").items() if le}
        return Buckets.from_pairs(pairs) if pairs else None


@dataclass
class Analysis:
    verdict: str
    results: list[ObjectiveResult]
    phases: dict[str, dict[str, Any]]  # per-phase summary: the basis of baselines
    notes: list[str]
    cold_start: dict[str, float | None] = field(default_factory=dict)  # time_to_ready, first_request (s)


class Analyzer:
    def __init__(
        self, reader: PromReader, manifest: RunManifest, baseline: dict[str, Any] | None = None, hdr: dict[str, Any] | None = None
    ) -> None:
        self.reader = reader
        self.manifest = manifest
        self.final_seen = bool(manifest.loadgen.get("final_scrape_at"))
        self.final = float(manifest.loadgen.get("final_scrape_at") or manifest.ended_at)
        self.baseline = baseline
        self.hdr = hdr or {}
        self.sla: SlaSpec | None = None
        self.metrics = metrics_for(manifest.target_api)  # None: the target has no server metrics

    def window(self, phase: str) -> PhaseWindow | None:
        return next((w for w in self.manifest.phases if w.name == phase), None)

    # -- validity -------------------------------------------------------------------------
    def _validity(self, job: str, start: float, end: float, counter: str, **labels: str) -> tuple[str, ...]:
        problems = []
        samples = self.reader.scalar(promql.scrape_samples(job, start, end))
        expected = (end - start) / SCRAPE_INTERVAL_S
        if samples is None:
            problems.append(f"no scrapes of job {job!r} in the window")
        elif samples < MIN_SCRAPE_SHARE * expected:
            problems.append(f"scrape gaps: {samples:.0f} scrapes of job {job!r} where {expected:.0f} were expected")
        if self.reader.scalar(promql.scrape_down(job, start, end)) == 0:
            problems.append(f"job {job!r} was down (up == 0) during the window")
        resets = self.reader.scalar(promql.restarts(counter, start, end, **labels))
        if resets:
            problems.append(f"counter reset in the window: the {job} restarted")
        return tuple(problems)

    def _loadgen_validity(self, w: PhaseWindow) -> tuple[str, ...]:
        counter = "loadgen_request_duration_seconds_count"
        lost = () if self.final_seen else (
            f"Prometheus never held the load generator's final request count ({self.manifest.loadgen.get('requests')}): "
            "its last observations were not scraped",)
        return lost + self._validity(promql.LOADGEN_JOB, w.start, self.final, counter, run_id=self.manifest.run_id)

    def _server_validity(self, w: PhaseWindow) -> tuple[str, ...]:
        if self.metrics is None:
            return (f"the {self.manifest.target_api} target has no server metrics",)
        return self._validity(promql.SERVER_JOB, w.start, w.end, f"{self.metrics.request_histogram}_count")

    def delivery(self, w: PhaseWindow) -> dict[str, float | None]:
        """What the load generator was asked and what it sent, for an arrival_rate phase."""
        arrivals = self.reader.vector(promql.arrivals(self.manifest.run_id, w.name, self.final), "result")
        lag = self.reader.buckets(promql.schedule_lag_buckets(self.manifest.run_id, w.name, self.final))
        asked = w.asked_rate or 0.0
        sent = arrivals.get("sent", 0.0)
        return {
            "asked_rate": asked, "planned": asked * w.planned_duration, "sent": sent,
            "achieved_rate": sent / w.planned_duration if w.planned_duration else None,
            "dropped": arrivals.get("dropped", 0.0),
            "lag_p99": lag.quantile(0.99) if lag and lag.total else None,
        }

    def _generator_validity(self, w: PhaseWindow) -> tuple[str, ...]:
        """Arrival-rate phases: did the load generator deliver the load asked of it?"""
        if w.asked_rate is None or self.sla is None:
            return ()
        d = self.delivery(w)
        problems = []
        planned, sent = d["planned"] or 0.0, d["sent"] or 0.0
        if sent < self.sla.min_achieved * planned:
            problems.append(
                f"the load generator sent {sent:.0f} of the {planned:.0f} arrivals asked ({sent / planned * 100 if planned else 0:.1f}%, "
                f"under {self.sla.min_achieved * 100:g}%; {d['dropped']:.0f} dropped at the in-flight limit): it did not deliver "
                f"{w.asked_rate:g}/s"
            )
        if d["lag_p99"] is not None and d["lag_p99"] > self.sla.max_lag_p99:
            problems.append(
                f"the load generator fell behind its arrival clock: lag P99 {d['lag_p99'] * 1e3:.1f} ms over "
                f"{self.sla.max_lag_p99 * 1e3:g} ms: it was short of CPU (a server using every core starves it: leave the "
                f"generator a core, or run Locust workers on another host; over {ARRIVALS_PER_PROCESS:g}/s per process, more --processes)"
            )
        at_rate = self.sla.at_rate.get(w.name)
        if at_rate is not None and (d["achieved_rate"] or 0.0) < self.sla.min_achieved * at_rate:
            problems.append(f"achieved {d['achieved_rate'] or 0:.2f}/s, under the {at_rate:g}/s the SLA must hold at")
        return tuple(problems)

    def _timing(self, w: PhaseWindow) -> str:
        """Arrival-rate phases are judged from the intended send time (coordinated omission corrected)."""
        return "intended" if w.asked_rate is not None else "actual"

    def _hdr(self, phase: str, timing: str, percentile: float | None) -> float | None:
        entry = self.hdr.get(f"{phase}\x1f{timing}")
        if entry is None or percentile is None:
            return None
        return entry.get(f"p{percentile:g}") or hdr_percentile(entry["encoded"], percentile)

    def _duration(self, w: PhaseWindow) -> float:
        return w.planned_duration if w.asked_rate is not None else w.end - w.start

    # -- measurements ---------------------------------------------------------------------
    def measure(self, o: Objective) -> Measurement:
        if o.phase is None:
            return self._cold_start(o)
        w = self.window(o.phase)
        if w is None:
            return Measurement(promql="", validity=(f"the run has no executed phase {o.phase!r}",))
        window = (w.start, w.end)
        baseline = self._baseline_value(o)
        delivery = self._generator_validity(w)
        if o.source == "server":
            validity = self._server_validity(w)
            if self.metrics is None:
                return Measurement("", window, validity=validity)
            if o.kind in ("latency", "stage_latency", "baseline_latency"):
                q = promql.server_buckets(self.metrics, w.start, w.end, o.stage)
                return Measurement(q, window, buckets=self.reader.buckets(q), validity=validity, baseline=baseline, delivery=delivery)
            q = promql.server_codes(self.metrics, w.start, w.end)
            codes = self.reader.vector(q, self.metrics.status_label)
            total = sum(codes.values()) if codes else None
            ok = sum(codes.get(v, 0.0) for v in self.metrics.success_values) if codes else None
            if o.kind in ("throughput", "baseline_throughput"):
                return Measurement(q, window, count=ok, duration=self._duration(w), validity=validity, baseline=baseline, delivery=delivery)
            return Measurement(q, window, count=total, failures=(total - ok) if codes else None, validity=validity, delivery=delivery)
        validity = self._loadgen_validity(w)
        if o.kind in ("latency", "baseline_latency"):
            timing = self._timing(w)
            q = promql.loadgen_buckets(self.manifest.run_id, o.phase, self.final, timing)
            uncorrected, actual = None, None
            if timing == "intended":
                actual = self.reader.buckets(promql.loadgen_buckets(self.manifest.run_id, o.phase, self.final))
                uncorrected = actual.quantile(o.percentile / 100) if actual and actual.total else None
            return Measurement(q, window, buckets=self.reader.buckets(q), validity=validity, baseline=baseline,
                               hdr=self._hdr(o.phase, timing, o.percentile), uncorrected=uncorrected,
                               actual_buckets=actual, delivery=delivery)
        if o.kind == "recovery":
            return self._recovery(o, w, validity)
        q = promql.loadgen_counts(self.manifest.run_id, o.phase, self.final)
        outcomes = self.reader.vector(q, "outcome")
        ok, failed, shed = outcomes.get("success"), outcomes.get("failure", 0.0), outcomes.get("shed", 0.0)
        if o.kind in ("throughput", "baseline_throughput"):
            return Measurement(q, window, count=ok, duration=self._duration(w), validity=validity, baseline=baseline, delivery=delivery)
        total = (ok or 0.0) + failed + shed if outcomes else None
        counted = shed if o.kind == "shed_rate" else failed if o.excludes_shed else failed + shed
        return Measurement(q, window, count=total, failures=counted if outcomes else None, validity=validity, delivery=delivery)

    def _recovery(self, o: Objective, w: PhaseWindow, validity: tuple[str, ...]) -> Measurement:
        """The phase's latency buckets at every scrape (one range query), cut into sliding windows."""
        timing = self._timing(w)
        q = promql.loadgen_bucket_series(self.manifest.run_id, w.name, timing)
        series = self.reader.range(q, w.start, max(w.end, w.start + 1), SCRAPE_INTERVAL_S)
        by_time: dict[float, dict[float, float]] = {}
        for s in series:
            for t, v in s["values"]:
                by_time.setdefault(float(t), {})[float(s["metric"]["le"])] = float(v)
        samples = [(t, Buckets.from_pairs(pairs)) for t, pairs in sorted(by_time.items())]
        at = recovery_time(samples, w.start, RECOVERY_WINDOW_S, o.percentile / 100, o.threshold or 0.0)
        total = samples[-1][1].total if samples else 0.0
        return Measurement(q + f" [range {w.start:.3f}..{w.end:.3f}, step {SCRAPE_INTERVAL_S:g}s]", (w.start, w.end),
                           value=at, count=total, validity=validity)

    def _cold_start(self, o: Objective) -> Measurement:
        if o.source == "server":
            why = self.metrics.supports(o.kind) if self.metrics else f"the {self.manifest.target_api} target has no server metrics"
            if why:
                return Measurement("", None, validity=(why,))
            q = promql.time_to_ready(self.metrics, self.final) if o.kind == "time_to_ready" else promql.gauge(self.metrics.first_request_gauge, self.final)
            return Measurement(q, None, value=self.reader.scalar(q))
        if o.kind == "time_to_ready":
            return Measurement(READY_PROBE, None, value=self.probed_time_to_ready())
        q = promql.gauge("loadgen_first_request_duration_seconds", self.final, promql.LOADGEN_JOB)
        return Measurement(q, None, value=self.reader.scalar(q))

    def probed_time_to_ready(self) -> float | None:
        """Process start to the first ready answer of the gate's readiness probe (run.json)."""
        server = self.manifest.server
        if not server.get("ready") or not server.get("start"):
            return None
        return float(server["ready"]) - float(server["start"])

    def _baseline_value(self, o: Objective) -> float | None:
        if not o.kind.startswith("baseline_") or self.baseline is None:
            return None
        phase = self.baseline.get("phases", {}).get(o.phase or "", {})
        key = "throughput" if o.kind == "baseline_throughput" else f"p{o.percentile:g}"
        value = phase.get(key)
        return float(value) if value is not None else None

    def _percentiles(self, phase: str, timing: str, suffix: str = "") -> dict[str, float | None]:
        buckets = self.reader.buckets(promql.loadgen_buckets(self.manifest.run_id, phase, self.final, timing))
        return {f"p{p:g}{suffix}": (buckets.quantile(p / 100) if buckets and buckets.total else None) for p in SUMMARY_PERCENTILES}

    def phase_summary(self, w: PhaseWindow) -> dict[str, float | None]:
        """What users saw in a phase: percentiles (from the intended send time in arrival-rate
        phases, with the uncorrected ones beside them), throughput, error rate, requests, and for
        arrival-rate phases what the load generator was asked and delivered."""
        outcomes = self.reader.vector(promql.loadgen_counts(self.manifest.run_id, w.name, self.final), "outcome")
        ok, failed, shed = outcomes.get("success", 0.0), outcomes.get("failure", 0.0), outcomes.get("shed", 0.0)
        failed += shed
        total = ok + failed
        timing = self._timing(w)
        summary = self._percentiles(w.name, timing)
        summary.update(
            requests=total, throughput=ok / self._duration(w) if self._duration(w) > 0 else None, shed=shed,
            error_rate=failed / total if total else None, duration=w.end - w.start, hdr_p99=self._hdr(w.name, timing, 99.0),
        )
        if timing == "intended":
            summary.update(self._percentiles(w.name, "actual", "_uncorrected"))
            summary.update(self.delivery(w))
            windows = self.windows(w)
            summary.update(windows=windows, stable=stable(windows))
        return summary

    def windows(self, w: PhaseWindow) -> list[dict[str, float]]:
        """Throughput and P99 (intended timing) per window of an arrival-rate phase. The P99 is of
        the measurement so far, counted from the end of the first window: the start of a phase
        (the load changing, connections opening) is a transient that a cumulative P99 of a few
        hundred requests would otherwise carry for the whole step."""
        size = max(WINDOW_MIN_S, WINDOW_MIN_REQUESTS / (w.asked_rate or 1.0))
        edges = [w.start + i * size for i in range(int(w.planned_duration // size) + 1)]
        out: list[dict[str, float]] = []
        previous: tuple[Buckets, float] | None = None
        base: Buckets | None = None  # at the end of the first window
        for edge in edges:
            current = self.reader.buckets(promql.loadgen_buckets(self.manifest.run_id, w.name, edge, "intended"))
            # the sample's own time: a window holds whole scrapes, so divide by the time between them
            stamp = self.reader.scalar(promql.sample_time(self.manifest.run_id, w.name, edge))
            if current is None or stamp is None:
                continue
            if previous is not None and previous[0].bounds == current.bounds and stamp > previous[1]:
                since = current.minus(base) if base is not None and base.bounds == current.bounds else None
                out.append({"end": stamp, "throughput": (current.total - previous[0].total) / (stamp - previous[1]),
                            "p99": since.quantile(0.99) if since is not None and since.total else math.nan})
                base = base or current
            previous = (current, stamp)
        return out

    def cold_start_summary(self) -> dict[str, float | None]:
        server_ready = self.metrics is not None and self.metrics.supports("time_to_ready") is None
        return {
            "time_to_ready": self.reader.scalar(promql.time_to_ready(self.metrics, self.final)) if server_ready else self.probed_time_to_ready(),
            "first_request": self.reader.scalar(promql.gauge("loadgen_first_request_duration_seconds", self.final, promql.LOADGEN_JOB)),
        }

    def run(self, sla: SlaSpec) -> Analysis:
        self.sla = sla
        notes = []
        objectives = list(sla.objectives)
        if self.baseline is None and sla.baseline_objectives:
            notes.append(f"{len(sla.baseline_objectives)} baseline objective(s) not judged: no --baseline given")
            objectives = [o for o in objectives if not o.kind.startswith("baseline_")]
        results = [evaluate(o, self.measure(o)) for o in objectives]
        exited = self.manifest.server.get("exited")
        if exited:
            phase = next((w.name for w in self.manifest.phases if w.start <= exited["at"] <= (w.end or exited["at"])), None)
            results.insert(0, target_exited(exited, phase, sum(w.planned_duration for w in self.manifest.phases)))
        phases = {w.name: self.phase_summary(w) for w in self.manifest.phases}
        return Analysis(overall(results), results, phases, notes, self.cold_start_summary())


def stable(windows: list[dict[str, float]]) -> bool:
    """The last STABLE_WINDOWS windows within STABLE_SPREAD of each other on throughput and P99."""
    last = windows[-STABLE_WINDOWS:]
    if len(last) < STABLE_WINDOWS:
        return False
    for key in ("throughput", "p99"):
        values = [x[key] for x in last]
        if any(not math.isfinite(v) or v <= 0 for v in values) or (max(values) - min(values)) / max(values) > STABLE_SPREAD:
            return False
    return True


def load_hdr(run_dir: Path) -> dict[str, Any]:
    """The run's HdrHistogram summaries (hdr.json), or {} when the run has none."""
    try:
        return json.loads((Path(run_dir) / HDR_NAME).read_text())
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
