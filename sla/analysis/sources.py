"""Metrics sources: the series a run left in Prometheus, asked by meaning, not by name.

An objective kind asks `run.source(o.source)` for latency buckets, outcome counts, a latency
series or a cold-start figure; the source knows the metric names (the load generator's own
`loadgen_*`, or the target's server metrics mapping) and the PromQL that reads them. Every read
also says which query it came from, so each result shows its PromQL.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from sla.analysis import promql
from sla.analysis.stats import Buckets, per_second, share
from sla.loadgen.histograms import hdr_percentile
from sla.manifest import PhaseWindow, RunManifest
from sla.targets.metrics import MetricsMapping

SCRAPE_INTERVAL_S = 1.0
MIN_SCRAPE_SHARE = 0.8  # fewer samples than this share of the expected count is a scrape gap
# A lost Locust worker's last observations reach the master up to one report interval (3 s) before
# it died, and its heartbeat marks it missing up to 3 s after: a phase ending within this of the
# moment it was marked lost is missing some of its observations.
LOST_WORKER_SLACK_S = 6.0
READY_PROBE = "(not PromQL) run.json: server.ready - server.start, from the gate's readiness probe"


@dataclass(frozen=True)
class Outcomes:
    """Requests of a window by outcome."""

    promql: str
    success: float
    failure: float  # failed, not counting shed
    shed: float = 0.0  # refused with 503/429 and Retry-After

    @property
    def total(self) -> float:
        return self.success + self.failure + self.shed

    def throughput(self, duration: float) -> float | None:
        return per_second(self.success, duration)

    def failed(self, excluding_shed: bool = False) -> float:
        return self.failure if excluding_shed else self.failure + self.shed

    def error_rate(self, excluding_shed: bool = False) -> float | None:
        return share(self.failed(excluding_shed), self.total)


@dataclass(frozen=True)
class Answers:
    """How right a window's scored answers were (the load generator's `loadgen_answers_total`)."""

    promql: str
    answers: float
    lines: float
    exact_lines: float
    chars: float
    char_errors: float

    @property
    def exact_share(self) -> float | None:
        return share(self.exact_lines, self.lines)

    @property
    def cer(self) -> float | None:
        return share(self.char_errors, self.chars)

    def to_json(self) -> dict[str, float | None]:
        return {"answers": self.answers, "lines": self.lines, "exact_lines": self.exact_share, "cer": self.cer}


@dataclass(frozen=True)
class LatencyRead:
    promql: str
    buckets: Buckets | None
    actual: Buckets | None = None  # arrival-rate phases: from the actual send time (buckets: intended)
    hdr: float | None = None  # the asked percentile from the HdrHistogram, when there is one


@dataclass(frozen=True)
class MeanRead:
    """A mean latency over a window: the summed seconds and the requests they sum over."""

    promql: str
    seconds: float | None
    count: float | None

    @property
    def value(self) -> float | None:
        return self.seconds / self.count if self.seconds is not None and self.count else None


@dataclass(frozen=True)
class Figure:
    """A single value (a cold-start figure) and where it came from."""

    promql: str
    value: float | None
    why_not: str = ""  # when the source cannot give it


class Source(Protocol):
    name: str

    def validity(self, w: PhaseWindow) -> tuple[str, ...]: ...

    def latency(self, w: PhaseWindow, percentile: float | None = None, stage: str | None = None) -> LatencyRead: ...

    def mean(self, w: PhaseWindow) -> MeanRead: ...

    def outcomes(self, w: PhaseWindow) -> Outcomes | None: ...

    def time_to_ready(self) -> Figure: ...

    def first_request(self) -> Figure: ...


class _Prom:
    """Shared by both sources: the reader, the run, and the validity checks of a job."""

    def __init__(self, reader: Any, manifest: RunManifest, final: float) -> None:
        self.reader = reader
        self.manifest = manifest
        self.final = final

    def _validity(self, job: str, start: float, end: float, counter: str | None, **labels: str) -> tuple[str, ...]:
        """Scrape gaps, the target down, a restart. A scrape that timed out (a target answering
        /metrics late, as one whose event loop is busy with inference does) is a gap, not the target
        down: the counters stay cumulative, so a window with at least MIN_SCRAPE_SHARE of its
        scrapes is still read exactly enough."""
        problems = []
        samples = self.reader.scalar(promql.scrape_samples(job, start, end))
        expected = (end - start) / SCRAPE_INTERVAL_S
        slowest = self.reader.scalar(promql.slowest_scrape(job, start, end)) or 0.0
        timed_out = slowest >= 0.9 * SCRAPE_INTERVAL_S  # the scrape timeout equals the interval
        if samples is None:
            problems.append(f"no scrapes of job {job!r} in the window")
        elif samples < MIN_SCRAPE_SHARE * expected:
            problems.append(f"scrape gaps: {samples:.0f} scrapes of job {job!r} where {expected:.0f} were expected"
                            + (f" (its /metrics answered too late: a scrape took {slowest:.2f} s, the timeout is "
                               f"{SCRAPE_INTERVAL_S:g} s; a server busy on its event loop answers late)" if timed_out else ""))
        if not timed_out and self.reader.scalar(promql.scrape_down(job, start, end)) == 0:
            problems.append(f"job {job!r} was down (up == 0) during the window")
        if counter and self.reader.scalar(promql.restarts(counter, start, end, **labels)):
            problems.append(f"counter reset in the window: the {job} restarted")
        return tuple(problems)

    def _mean(self, sum_q: str, count_q: str, unit: float = 1.0) -> MeanRead:
        seconds, count = self.reader.scalar(sum_q), self.reader.scalar(count_q)
        return MeanRead(f"({sum_q}) / ({count_q})", seconds * unit if seconds is not None else None, count)


class LoadgenSource(_Prom):
    """What users saw: the load generator's series (phase-labelled, read at the final scrape)."""

    name = "loadgen"

    def __init__(self, reader: Any, manifest: RunManifest, final: float, final_seen: bool, hdr: dict[str, Any]) -> None:
        super().__init__(reader, manifest, final)
        self.final_seen = final_seen
        self.hdr = hdr

    @property
    def run_id(self) -> str:
        return self.manifest.run_id

    @staticmethod
    def timing(w: PhaseWindow) -> str:
        """Arrival-rate phases are judged from the intended send time (coordinated omission corrected)."""
        return "intended" if w.asked_rate is not None else "actual"

    def validity(self, w: PhaseWindow) -> tuple[str, ...]:
        lost: tuple[str, ...] = () if self.final_seen else (
            f"Prometheus never held the load generator's final request count ({self.manifest.loadgen.get('requests')}): "
            "its last observations were not scraped",)
        lost += tuple(
            f"load-generator worker {worker['id']} was lost {worker['at'] - self.manifest.started_at:.0f} s into the run (phase "
            f"{worker.get('phase') or '-'}; Locust's heartbeat marked it missing, or it quit): its unreported observations "
            "and its share of the load from then on are missing"
            for worker in self.manifest.loadgen.get("lost_workers") or [] if worker["at"] - LOST_WORKER_SLACK_S <= w.end)
        return lost + self._validity(promql.LOADGEN_JOB, w.start, self.final, "loadgen_request_duration_seconds_count",
                                     run_id=self.run_id)

    def buckets(self, w: PhaseWindow, timing: str, at: float | None = None) -> tuple[str, Buckets | None]:
        q = promql.loadgen_buckets(self.run_id, w.name, self.final if at is None else at, timing)
        return q, self.reader.buckets(q)

    def hdr_value(self, phase: str, timing: str, percentile: float | None) -> float | None:
        entry = self.hdr.get(phase, {}).get(timing)
        if entry is None or percentile is None:
            return None
        return entry.get(f"p{percentile:g}") or hdr_percentile(entry["encoded"], percentile)

    def latency(self, w: PhaseWindow, percentile: float | None = None, stage: str | None = None) -> LatencyRead:
        timing = self.timing(w)
        q, buckets = self.buckets(w, timing)
        actual = self.buckets(w, "actual")[1] if timing == "intended" else None
        return LatencyRead(q, buckets, actual, self.hdr_value(w.name, timing, percentile))

    def mean(self, w: PhaseWindow) -> MeanRead:
        return self._mean(*promql.loadgen_mean(self.run_id, w.name, self.final, self.timing(w)))

    def outcomes(self, w: PhaseWindow) -> Outcomes | None:
        q = promql.loadgen_counts(self.run_id, w.name, self.final)
        got = self.reader.vector(q, "outcome")
        if not got:
            return None
        return Outcomes(q, got.get("success", 0.0), got.get("failure", 0.0), got.get("shed", 0.0))

    def answers(self, w: PhaseWindow) -> Answers | None:
        """The phase's scored answers (None: no payload of the run says what it reads)."""
        q = promql.loadgen_answers(self.run_id, w.name, self.final)
        got = self.reader.vector(q, "measure")
        if not got:
            return None
        return Answers(q, got.get("answers", 0.0), got.get("lines", 0.0), got.get("exact_lines", 0.0), got.get("chars", 0.0),
                       got.get("char_errors", 0.0))

    def buckets_between(self, w: PhaseWindow, start: float, end: float) -> tuple[str, Buckets | None]:
        """Latency buckets of the phase's requests that ended within [start, end] (a part of the
        phase: the counters' difference at the two instants)."""
        sel = promql.series("loadgen_request_duration_seconds_bucket", run_id=self.run_id, phase=w.name, outcome="success",
                            timing=self.timing(w))
        q = promql.server_delta(sel, "le", start, end)
        return q, self.reader.buckets(q)

    def outcomes_between(self, w: PhaseWindow, start: float, end: float) -> Outcomes | None:
        sel = promql.series("loadgen_request_duration_seconds_count", run_id=self.run_id, phase=w.name, timing="actual")
        q = promql.server_delta(sel, "outcome", start, end)
        got = self.reader.vector(q, "outcome")
        return Outcomes(q, got.get("success", 0.0), got.get("failure", 0.0), got.get("shed", 0.0)) if got else None

    def latency_series(self, w: PhaseWindow) -> tuple[str, list[tuple[float, Buckets]]]:
        """The phase's latency buckets at every scrape (one range query)."""
        q = promql.loadgen_bucket_series(self.run_id, w.name, self.timing(w))
        by_time: dict[float, dict[float, float]] = {}
        for s in self.reader.range(q, w.start, max(w.end, w.start + 1), SCRAPE_INTERVAL_S):
            for t, v in s["values"]:
                by_time.setdefault(float(t), {})[float(s["metric"]["le"])] = float(v)
        samples = [(t, Buckets.from_pairs(pairs)) for t, pairs in sorted(by_time.items())]
        return q + f" [range {w.start:.3f}..{w.end:.3f}, step {SCRAPE_INTERVAL_S:g}s]", samples

    def time_to_ready(self) -> Figure:
        """Process start to the first ready answer of the gate's readiness probe (run.json)."""
        server = self.manifest.server
        if not server.get("ready") or not server.get("start"):
            return Figure(READY_PROBE, None)
        return Figure(READY_PROBE, float(server["ready"]) - float(server["start"]))

    def first_request(self) -> Figure:
        q = promql.gauge("loadgen_first_request_duration_seconds", self.final, promql.LOADGEN_JOB)
        return Figure(q, self.reader.scalar(q))


class ServerSource(_Prom):
    """What the server says of itself, through the target's metrics mapping. Its series carry no
    phase: a window is the difference of the counters at its edges."""

    name = "server"

    def __init__(self, reader: Any, manifest: RunManifest, final: float, metrics: MetricsMapping | None) -> None:
        super().__init__(reader, manifest, final)
        self.metrics = metrics

    def missing(self) -> str:
        return f"the {self.manifest.target_api} target has no server metrics"

    def absent(self, start: float, end: float) -> list[tuple[str, str]]:
        """The mapping's series (field, selector) of which no scrape over [start, end] held a sample."""
        m = self.metrics
        assert m is not None
        out = []
        for field, spec in m.series().items():
            suffix = "_count" if field.endswith("histogram") else ""
            selector = promql.series(spec, suffix, job=promql.SERVER_JOB)
            if self.reader.scalar(f"count(last_over_time({selector}[{promql.window_seconds(start, end)}s] @ {end:.3f}))") is None:
                out.append((field, selector))
        return out

    def validity(self, w: PhaseWindow) -> tuple[str, ...]:
        if self.metrics is None:
            return (self.missing(),)
        return self._validity(promql.SERVER_JOB, w.start, w.end, promql.restart_counter(self.metrics))

    def latency(self, w: PhaseWindow, percentile: float | None = None, stage: str | None = None) -> LatencyRead:
        assert self.metrics is not None  # validity() said so first
        q = promql.server_buckets(self.metrics, w.start, w.end, stage)
        buckets = self.reader.buckets(q)
        return LatencyRead(q, buckets.scaled(self.metrics.unit) if buckets else None)

    def mean(self, w: PhaseWindow) -> MeanRead:
        assert self.metrics is not None
        return self._mean(*promql.server_mean(self.metrics, w.start, w.end), self.metrics.unit)

    def outcomes(self, w: PhaseWindow) -> Outcomes | None:
        """Requests by status (a counter labelled by status), or a success and a failure counter."""
        m = self.metrics
        assert m is not None and m.requests_counter is not None
        if m.status_label:
            q = promql.server_codes(m, w.start, w.end)
            codes = self.reader.vector(q, m.status_label)
            if not codes:
                return None
            ok = sum(codes.get(v, 0.0) for v in m.success_values)
            return Outcomes(q, ok, sum(codes.values()) - ok)
        q = promql.server_count(m.requests_counter, w.start, w.end)
        ok = self.reader.scalar(q)
        if ok is None:
            return None
        if m.failures_counter is None:
            return Outcomes(q, ok, 0.0)
        q_failed = promql.server_count(m.failures_counter, w.start, w.end)
        return Outcomes(f"{q}\n{q_failed}", ok, self.reader.scalar(q_failed) or 0.0)

    def time_to_ready(self) -> Figure:
        if self.metrics is None or self.metrics.ready_timestamp is None:
            return Figure("", None, self.missing() if self.metrics is None else f"the {self.metrics.name} metrics have no ready timestamp")
        q = promql.time_to_ready(self.metrics, self.final)
        return Figure(q, self.reader.scalar(q))

    def first_request(self) -> Figure:
        if self.metrics is None or self.metrics.first_request_gauge is None:
            return Figure("", None, self.missing() if self.metrics is None else f"the {self.metrics.name} metrics have no first-request gauge")
        q = promql.gauge(self.metrics.first_request_gauge, self.final)
        return Figure(q, self.reader.scalar(q))
