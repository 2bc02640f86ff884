"""The figures an explanation is made from, read once per phase from the run's Prometheus over the
verdict's own window (the analyzer's sources and PromQL), and from run.json (environment, CPU
limit, throttling). Everything here is a reading; sla/explain/findings.py does the arithmetic.

The server's parts of a request's time (its own, its queue's, its stages') are its counters'
growth from the phase's start to its end, each interpolated between its scrapes at those two
instants (`PromReader.growth`), so that they count the requests that ended within the phase, as
the client's phase-labelled series do. Read at its last scrape before each edge instead, the
server's window is shifted by up to a scrape interval from the client's: Prometheus scrapes the
load generator and the server at different moments of each second, and a phase whose latency
changed in its last second (a neighbour freeing a core) showed time outside the server below zero.
"""

from __future__ import annotations

import os

from dataclasses import asdict, dataclass, field
from typing import Any

from sla.analysis import promql
from sla.analysis.stats import Buckets
from sla.limits import cpu_list
from sla.manifest import PhaseWindow

THIRDS = 3  # a phase's first and last third: how queue wait and latency moved through it
# cAdvisor's CFS counters of a container (Kubernetes): periods with a quota, and those it used up
CFS_PERIODS, CFS_THROTTLED = "container_cpu_cfs_periods_total", "container_cpu_cfs_throttled_periods_total"


@dataclass
class Part:
    """One part of a request's time: its mean, P50 and P99 (seconds) and the histogram it came from."""

    name: str
    mean: float | None = None
    p50: float | None = None
    p99: float | None = None
    buckets: Buckets | None = field(default=None, repr=False)

    def resolution(self, value: float | None) -> float | None:
        """The width of the bucket holding `value`: how finely it can be split."""
        if self.buckets is None or value is None:
            return None
        lo, _, hi, _ = self.buckets.bracket(value)
        return hi - lo

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "mean": self.mean, "p50": self.p50, "p99": self.p99}


@dataclass
class PhaseEvidence:
    phase: str
    kind: str
    duration: float  # as judged (arrival-rate phases: planned)
    asked_rate: float | None  # arrivals/s asked (arrival-rate phases)
    requests: float  # answered to the client, all outcomes
    throughput: float | None  # client successes/s
    failed: float
    shed: float
    client: Part
    server: Part | None = None  # time inside the server (its request histogram or mean)
    queue: Part | None = None  # waiting for a worker, inside the server
    stages: list[Part] = field(default_factory=list)
    served: float | None = None  # requests the server answered in the window
    cpu_seconds: float | None = None  # the server process's CPU time in the window
    cores: float | None = None  # the CPU the server may use: its limit, else its affinity
    cores_from: str = ""
    workers: int | None = None  # requests it serves at once, when it reports it (instances)
    in_flight: float | None = None  # mean of its in-flight gauge
    queue_trend: tuple[float, float] | None = None  # mean queue wait in the first and the last third
    client_trend: tuple[float, float] | None = None  # client P50 in the first and the last third
    completed_rate: float | None = None  # successes that ended per second after the first third (the served rate)
    batch_mean: float | None = None  # items per batched model run
    throttled: float | None = None  # share of CFS periods throttled (target.cpus, or cAdvisor's counters)
    throttled_from: str = ""
    lag_p99: float | None = None  # the generator's arrival-clock lag P99
    ramp: bool = False  # an arrival-rate ramp: latency that grows with the rate is no sign of saturation
    poisson: bool | None = None  # its arrivals: Poisson, evenly spaced (False), or not an arrival-rate phase
    missing: list[str] = field(default_factory=list)  # what the target's metrics could not say

    @property
    def service_time(self) -> float | None:
        """Mean time a worker spends on a request: the server's time less its queue wait (None
        without server metrics)."""
        if self.server is None or self.server.mean is None:
            return None
        return self.server.mean - (self.queue.mean if self.queue is not None and self.queue.mean is not None else 0.0)

    def to_json(self) -> dict[str, Any]:
        doc = {k: v for k, v in asdict(self).items() if k not in ("client", "server", "queue", "stages")}
        doc.update(client=self.client.to_json(), server=self.server.to_json() if self.server else None,
                   queue=self.queue.to_json() if self.queue else None, stages=[s.to_json() for s in self.stages])
        return doc


def _part(name: str, buckets: Buckets | None, seconds: float | None, count: float | None) -> Part:
    mean = seconds / count if seconds is not None and count else None
    if buckets is None or buckets.total <= 0:
        return Part(name, mean, None, None, None)
    return Part(name, mean, buckets.quantile(0.5), buckets.quantile(0.99), buckets)


def _total(reader: Any, selector: str, start: float, end: float) -> float | None:
    """A cumulative series' growth over [start, end], at the same instants on every target."""
    grown = reader.growth(selector, None, start, end)
    return sum(grown.values()) if grown else None


def _buckets(reader: Any, selector: str, start: float, end: float) -> Buckets | None:
    return Buckets.from_le(reader.growth(selector, "le", start, end))


def _sum_count(reader: Any, sum_selector: str, count_selector: str, unit: float, start: float,
               end: float) -> tuple[float | None, float | None]:
    """A duration's summed value (in seconds) and its count over [start, end]."""
    seconds = _total(reader, sum_selector, start, end)
    return (seconds * unit if seconds is not None else None), _total(reader, count_selector, start, end)


def _server_sum_count(reader: Any, spec: str, unit: float, start: float, end: float, **labels: str) -> tuple[float | None, float | None]:
    """A server histogram's summed value (in seconds for durations) and its count over [start, end]."""
    return _sum_count(reader, promql.series(spec, "_sum", **labels), promql.series(spec, "_count", **labels), unit, start, end)


def _server_mean(reader: Any, spec: str, unit: float, start: float, end: float) -> float | None:
    seconds, count = _server_sum_count(reader, spec, unit, start, end)
    return seconds / count if seconds is not None and count else None


def part_names(counters: tuple[str, ...]) -> list[tuple[str, str]]:
    """Short names of a mapping's compute counters, what their names do not share
    (nv_inference_compute_infer_duration_us: "compute infer"), with the counters."""
    names = [c.partition("{")[0] for c in counters]
    if len(names) < 2:
        return list(zip(names, counters))
    head = os.path.commonprefix(names).rpartition("_")[0]
    tail = os.path.commonprefix([n[::-1] for n in names])[::-1].partition("_")[2]
    short = [n[len(head):len(n) - len(tail)].strip("_") for n in names]
    if not all(short):
        return list(zip(names, counters))
    return [(f"compute {s.replace('_', ' ')}", c) for s, c in zip(short, counters)]


def _part_mean(reader: Any, m: Any, counter: str, start: float, end: float, count: float | None = None) -> float | None:
    """A cumulative duration counter's growth per request counted by the mapping's duration_count
    (`count`, read here when not given), in seconds: the mean of that part of a request's time
    (Triton's queue and compute counters)."""
    seconds = _total(reader, promql.series(counter), start, end)
    if count is None:
        count = _total(reader, promql.series(m.duration_count), start, end)
    return seconds * m.unit / count if seconds is not None and count else None


def _server_histogram(reader: Any, name: str, spec: str, unit: float, start: float, end: float, **labels: str) -> Part:
    buckets = _buckets(reader, promql.series(spec, "_bucket", **labels), start, end)
    return _part(name, buckets.scaled(unit) if buckets else None, *_server_sum_count(reader, spec, unit, start, end, **labels))


def target_info(manifest: Any, metric: str) -> dict[str, str]:
    info = ((manifest.environment or {}).get("target") or {}).get("info") or {}
    labels = info.get(metric) or {}
    return labels[0] if isinstance(labels, list) else labels


def server_cores(manifest: Any) -> tuple[float | None, str]:
    """The CPU the server may use: its reported CPU limit, else its affinity, else the limit the
    gate set, else nothing known."""
    env = target_info(manifest, "ocr_server_environment_info")
    if env.get("cpu_limit") not in (None, "", "none"):
        return float(env["cpu_limit"]), "its CPU limit"
    cpu = (manifest.server or {}).get("cpu") or {}
    if cpu.get("cpus"):
        return float(cpu["cpus"]), "target.cpus"
    if env.get("affinity"):
        return float(len(cpu_list(env["affinity"]))), f"its affinity (cores {env['affinity']})"
    if cpu.get("cpuset"):
        return float(len(cpu["cpuset"])), "target.cpuset"
    return None, ""


def gather(analyzer: Any, w: PhaseWindow) -> PhaseEvidence:
    """The evidence of one phase (`analyzer`: sla.analysis.analyzer.Analyzer over the run)."""
    manifest = analyzer.manifest
    loadgen = analyzer.loadgen
    timing = loadgen.timing(w)
    counts = loadgen.outcomes(w)
    duration = analyzer.duration(w)
    mean = loadgen.mean(w)
    client = _part("client", loadgen.buckets(w, timing)[1], mean.seconds, mean.count)
    ev = PhaseEvidence(
        w.name, w.kind, duration, w.asked_rate, counts.total if counts else 0.0,
        counts.throughput(duration) if counts else None, counts.failure if counts else 0.0, counts.shed if counts else 0.0, client)
    ev.poisson = w.poisson
    ev.ramp = w.rate_from is not None and w.rate_to is not None and w.rate_from != w.rate_to
    thirds = [w.start + (w.end - w.start) * i / THIRDS for i in range(THIRDS + 1)]
    first, last = (loadgen.buckets_between(w, thirds[0], thirds[1])[1], loadgen.buckets_between(w, thirds[-2], thirds[-1])[1])
    if first and last and first.total and last.total:
        ev.client_trend = (first.quantile(0.5), last.quantile(0.5))
    ended = loadgen.outcomes_between(w, thirds[1], thirds[-1])
    if ended is not None and thirds[-1] > thirds[1]:
        ev.completed_rate = ended.success / (thirds[-1] - thirds[1])
    if w.asked_rate is not None:
        ev.lag_p99 = analyzer.delivery(w).lag_p99
    cpu = ((manifest.server or {}).get("cpu") or {}).get("phases", {}).get(w.name)
    if cpu and cpu.get("nr_periods"):
        ev.throttled, ev.throttled_from = cpu["nr_throttled"] / cpu["nr_periods"], "its cgroup (target.cpus)"
    ev.cores, ev.cores_from = server_cores(manifest)
    config = target_info(manifest, "ocr_server_config_info")
    if config.get("instances", "").isdigit():
        ev.workers = int(config["instances"])
    m = analyzer.server.metrics
    if m is None:
        ev.missing.append(f"the {manifest.target_api} target has no server metrics: time inside the server, its queue "
                          "and its CPU are not known, only what the load generator saw")
        return ev
    _server_evidence(ev, analyzer, w, thirds)
    return ev


def _server_evidence(ev: PhaseEvidence, analyzer: Any, w: PhaseWindow, thirds: list[float]) -> None:
    """What the server's metrics say of the phase: its own latency, queue, stages, batches, CPU."""
    reader, m = analyzer.reader, analyzer.server.metrics
    start, end = w.start, w.end
    if m.request_histogram:
        ev.server = _server_histogram(reader, "server", m.request_histogram, m.unit, start, end)
    elif m.duration_count:
        ev.server = _part("server", None, *_sum_count(reader, promql.series(promql.named(m.duration_sum)), promql.series(m.duration_count),
                                                     m.unit, start, end))
    if m.requests_counter:
        out = analyzer.server.outcomes(w)
        ev.served = out.total if out else None
    elif ev.server and ev.server.buckets:
        ev.served = ev.server.buckets.total
    _queue_evidence(ev, reader, m, start, end, thirds)
    if m.stage_histogram:
        ev.stages = [_server_histogram(reader, stage, m.stage_histogram, m.unit, start, end, **{m.stage_label: stage}) for stage in m.stages]
    else:
        counted = _total(reader, promql.series(m.duration_count), start, end) if m.compute_durations else None
        ev.stages = [Part(name, _part_mean(reader, m, counter, start, end, counted)) for name, counter in part_names(m.compute_durations)]
    if m.batch_histogram:
        ev.batch_mean = _server_mean(reader, m.batch_histogram, 1.0, start, end)
    if m.in_flight_gauge:
        ev.in_flight = reader.scalar(f"avg(avg_over_time({promql.series(m.in_flight_gauge, job=promql.SERVER_JOB)}"
                                     f"[{promql.window_seconds(start, end)}s] @ {end:.3f}))")
    if ev.throttled is None and m.cadvisor:
        ev.throttled = cfs_throttling(reader, m.cadvisor, start, end)
        ev.throttled_from = f"cAdvisor, containers {m.cadvisor}" if ev.throttled is not None else ""
    ev.cpu_seconds = reader.scalar(promql.server_delta(promql.series("process_cpu_seconds_total", job=promql.SERVER_JOB), None, start, end))
    if ev.cpu_seconds is None:
        ev.missing.append("the server exposes no process_cpu_seconds_total: its CPU use is not known")


def _queue_evidence(ev: PhaseEvidence, reader: Any, m: Any, start: float, end: float, thirds: list[float]) -> None:
    """Time waiting for a worker, over the phase and in its first and last thirds."""
    if not (m.queue_histogram or m.queue_duration):
        ev.missing.append(f"the {m.name} metrics have no queue histogram: waiting for a worker is not told apart from service")
        return
    if m.queue_histogram:
        ev.queue = _server_histogram(reader, "queue wait", m.queue_histogram, 1.0, start, end)
        trend = [_server_mean(reader, m.queue_histogram, 1.0, a, b) for a, b in ((thirds[0], thirds[1]), (thirds[-2], thirds[-1]))]
    else:  # a cumulative counter of queue wait: a mean per request (Triton)
        ev.queue = Part("queue wait", _part_mean(reader, m, m.queue_duration, start, end))
        trend = [_part_mean(reader, m, m.queue_duration, a, b) for a, b in ((thirds[0], thirds[1]), (thirds[-2], thirds[-1]))]
    if trend[0] is not None and trend[1] is not None:
        ev.queue_trend = (trend[0], trend[1])


def cfs_throttling(reader: Any, matchers: str, start: float, end: float) -> float | None:
    """The share of CFS periods in which the containers picked by `matchers` used up their quota,
    from cAdvisor's counters over [start, end] (summed over every matching container), or None
    when the Prometheus has no such series."""
    periods = reader.scalar(promql.server_delta(CFS_PERIODS + matchers, None, start, end))
    throttled = reader.scalar(promql.server_delta(CFS_THROTTLED + matchers, None, start, end))
    return throttled / periods if periods and throttled is not None else None
