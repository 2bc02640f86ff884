"""Why a run measured what it did (pure arithmetic over sla/explain/evidence.py's readings).

For each phase: where a request's time went (outside the server, queue wait, each stage), how
loaded the server was (asked rate, throughput, Little's law, CPU), whether it was saturated and
what it can serve here, the setting the data points at with the command that tests it, and a
what-if: the highest rate at which it would meet the SLA's percentile (sla/explain/queueing.py).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import Any

from sla.explain.evidence import Part, PhaseEvidence
from sla.explain.queueing import highest_rate, samples_from, simulated_percentile
from sla.units import format_duration

SATURATED_UTILIZATION = 0.95  # asked / capacity at or over this: saturated
NEAR_UTILIZATION = 0.8  # at or over this with requests waiting a quarter of their service time: near capacity
CLOSED_BUSY = 0.9  # a closed-loop phase whose server was this busy, with requests waiting
PLANNING_UTILIZATION = 0.8  # load per replica to plan for: headroom under the capacity
GROWTH = 2.0  # a queue (or latency) whose last third is this many times its first third grew
GROWTH_MIN_S = 0.01
DOMINANT_STAGE = 0.5  # a stage with this share of the server's time at low load dominates
SLOW_FIRST_REQUEST = 3.0  # first request over this many times the steady P50: warm-up
THROTTLED = 0.2  # a share of CFS periods throttled worth a finding
COARSE = 0.5  # a part whose P50 bucket is wider than this share of it cannot be split finely


@dataclass
class Finding:
    kind: str  # saturation, stage, batching, warmup, generator, throttling
    text: str
    advice: str
    command: str = ""


@dataclass
class Load:
    asked: float | None  # arrivals/s asked (arrival-rate phases)
    throughput: float | None  # successes/s of the requests sent in the phase (the gate's throughput)
    served: float | None  # requests/s the server answered (its counter; else the client's completions after the first third)
    service_time: float | None  # mean time a worker spends on one request (server time less queue wait)
    workers: int | None
    cpu_per_request: float | None  # CPU seconds the server spent per request
    cpu_used: float | None  # cores' worth used on average
    cores: float | None  # cores it may use
    capacity: float | None  # requests/s it can serve here
    capacity_how: str
    utilization: float | None  # asked (else served) / capacity
    in_flight: float | None  # Little's law: throughput x mean client latency
    saturated: bool
    why: list[str] = field(default_factory=list)
    near: bool = False  # not saturated, but loaded enough that requests queued (utilization >= NEAR_UTILIZATION)


@dataclass
class PhaseExplanation:
    phase: str
    breakdown: list[dict[str, Any]]
    load: Load
    findings: list[Finding]
    what_if: dict[str, Any] | None
    missing: list[str]

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def _ms(v: float | None) -> str:
    return "-" if v is None or not math.isfinite(v) else format_duration(v)


def _minus(a: float | None, b: float | None) -> float | None:
    return a - b if a is not None and b is not None else None


def breakdown(ev: PhaseEvidence) -> list[dict[str, Any]]:
    """Where a request's time went: the client's total, the part outside the server (client minus
    server), and inside it the queue wait, each stage and what the stages do not cover; the server's
    over the requests that ended within the phase (sla/explain/evidence.py). Means add up;
    percentiles of parts do not add (each is its own distribution) and are shown as read."""
    rows: list[dict[str, Any]] = []

    def row(part: Part, level: int, note: str = "") -> None:
        width = part.resolution(part.p50)
        if width is not None and part.p50 and width > COARSE * part.p50:
            note = (note + "; " if note else "") + f"buckets {_ms(width)} wide at its P50: too coarse to split finely"
        rows.append({"part": part.name, "level": level, "mean": part.mean, "p50": part.p50, "p99": part.p99, "p50_width": width,
                     "note": note})

    row(ev.client, 0, "what users saw")
    if ev.server is None:
        return rows
    rows.append({"part": "outside the server", "level": 1, "mean": _minus(ev.client.mean, ev.server.mean),
                 "p50": _minus(ev.client.p50, ev.server.p50), "p99": _minus(ev.client.p99, ev.server.p99), "p50_width": None,
                 "note": "client minus server: network, HTTP, the client's own time"})
    row(ev.server, 1, "inside the server")
    inside = [p for p in ([ev.queue] if ev.queue else []) + ev.stages]
    for part in inside:
        row(part, 2)
    if inside and ev.server.mean is not None and all(p.mean is not None for p in inside):
        rest = ev.server.mean - sum(p.mean for p in inside)  # type: ignore[misc]
        rows.append({"part": "other (server less queue and stages)", "level": 2, "mean": rest, "p50": None, "p99": None,
                     "p50_width": None, "note": "HTTP parsing, handing to a worker, answering"})
    return rows


def _growth(trend: tuple[float, float] | None) -> bool:
    return bool(trend) and trend[1] > GROWTH * trend[0] and trend[1] - trend[0] > GROWTH_MIN_S  # type: ignore[index]


def load(ev: PhaseEvidence) -> Load:
    """How loaded the server was, and what it can serve here."""
    served_rate = ev.served / ev.duration if ev.served is not None and ev.duration > 0 else ev.completed_rate or ev.throughput
    service = ev.service_time
    estimates: list[tuple[float, str]] = []
    if service and ev.workers:
        estimates.append((ev.workers / service, f"mean service {_ms(service)} on {ev.workers} worker(s)"))
    cpu_per_request = ev.cpu_seconds / ev.served if ev.cpu_seconds is not None and ev.served else None
    if cpu_per_request and ev.cores:
        estimates.append((ev.cores / cpu_per_request, f"{_ms(cpu_per_request)} of CPU per request on {ev.cores:g} core(s), {ev.cores_from}"))
    capacity, how = min(estimates) if estimates else (None, "")
    why: list[str] = []
    short = ev.asked_rate is not None and ev.throughput is not None and ev.throughput < SATURATED_UTILIZATION * ev.asked_rate
    if short:
        why.append(f"served {ev.throughput:.3g}/s of the {ev.asked_rate:.3g}/s asked")
    if ev.ramp:
        pass  # the asked rate itself grew through the phase: so does the queue, saturated or not
    elif _growth(ev.queue_trend):
        why.append(f"queue wait grew from {_ms(ev.queue_trend[0])} to {_ms(ev.queue_trend[1])} through the phase")  # type: ignore[index]
    elif _growth(ev.client_trend) and ev.asked_rate is not None:
        why.append(f"latency (P50) grew from {_ms(ev.client_trend[0])} to {_ms(ev.client_trend[1])} through the phase")  # type: ignore[index]
    if ev.requests and ev.shed / ev.requests > 0.01:
        why.append(f"{ev.shed:.0f} requests shed (503: queue full)")
    if capacity is None and ev.asked_rate is not None and why and served_rate:
        capacity, how = served_rate, "what it served while saturated"
    offered = ev.asked_rate if ev.asked_rate is not None else served_rate
    utilization = offered / capacity if offered and capacity else None
    if utilization is not None and utilization >= SATURATED_UTILIZATION and ev.asked_rate is not None:
        why.insert(0, f"utilization {utilization:.2f}")
    in_flight = ev.throughput * ev.client.mean if ev.throughput and ev.client.mean else None
    if ev.asked_rate is not None:
        saturated = bool(why)
    else:  # a closed loop is never over capacity; it is saturated when busy with requests waiting
        waiting = ev.queue is not None and ev.queue.mean is not None and service and ev.queue.mean > 0.5 * service
        saturated = bool(utilization and utilization >= CLOSED_BUSY and waiting)
        if saturated:
            why.insert(0, f"busy {utilization:.0%} of the time with requests waiting (queue wait {_ms(ev.queue.mean)})")  # type: ignore[union-attr]
    waiting = ev.queue is not None and ev.queue.mean is not None and bool(service) and ev.queue.mean >= 0.25 * service  # type: ignore[operator]
    near = not saturated and waiting and utilization is not None and utilization >= NEAR_UTILIZATION
    if near:
        why.append(f"utilization {utilization:.2f}, requests waiting {_ms(ev.queue.mean)} on average "  # type: ignore[union-attr]
                   f"(P99 {_ms(ev.queue.p99)}) for a worker")  # type: ignore[union-attr]
    return Load(ev.asked_rate, ev.throughput, served_rate, service, ev.workers, cpu_per_request,
                ev.cpu_seconds / ev.duration if ev.cpu_seconds is not None and ev.duration > 0 else None, ev.cores,
                capacity, how, utilization, in_flight, saturated, why, near)


def _percentile_objective(objectives: list[Any], phase: str) -> Any | None:
    """The SLA's highest latency percentile for the phase (what a what-if aims at)."""
    mine = [o for o in objectives if o.phase == phase and o.kind_of.request_latency and o.percentile is not None]
    return max(mine, key=lambda o: (o.percentile, o.source == "loadgen"), default=None)


def what_if(ev: PhaseEvidence, ld: Load, quiet: PhaseEvidence, objective: Any | None) -> dict[str, Any] | None:
    """The highest rate at which this server would meet the phase's percentile objective: service
    times shaped as in the quietest phase (the least queueing), scaled to this phase's mean service
    time, on its workers (reported; else inferred at saturation by Little's law), plus the time
    spent outside the server."""
    if objective is None:
        return None
    source = quiet.server if quiet.server is not None and quiet.server.buckets is not None else quiet.client
    service_mean = ld.service_time or (quiet.client.mean if ev.server is None else None)
    if source.buckets is None or not service_mean:
        return {"objective": objective.id, "rate": None, "how": "no latency histogram to draw service times from"}
    outside = max(0.0, _minus(ev.client.mean, ev.server.mean) or 0.0) if ev.server is not None else 0.0
    workers, inferred = ld.workers, ""
    if workers is None:
        if ld.saturated and ld.capacity:
            workers = max(1, round(ld.capacity * service_mean))
            inferred = f"{workers} worker(s) inferred from the capacity x service time (Little's law at saturation)"
        else:
            workers, inferred = 1, "1 worker assumed (the target does not report its concurrency)"
    cpu_bound = bool(ld.capacity and workers / ld.capacity > service_mean)
    if cpu_bound:  # bound by CPU, not by its workers: a request holds a worker as long as its CPU share takes
        service_mean = workers / ld.capacity  # type: ignore[operator]
    service = samples_from(source.buckets, service_mean)
    rate = highest_rate(service, workers, objective.percentile, objective.limit, outside)
    how = (f"simulated FIFO queue, Poisson arrivals (as production traffic comes), {workers} worker(s), service times shaped as in phase {quiet.phase} "
           f"scaled to a mean of {_ms(service_mean)}" + (" (the CPU a request costs at its CPU limit: a fluid view of the "
           "quota, pessimistic for requests that fit in one CFS period)" if cpu_bound else "") + f", plus {_ms(outside)} outside the server")
    doc = {"objective": objective.id, "percentile": objective.percentile, "limit": objective.limit, "rate": rate,
           "workers": workers, "how": how + (f"; {inferred}" if inferred else "")}
    if ev.asked_rate and ev.client.buckets is not None:
        doc["at_asked_rate"] = check_at_rate(ev, ld, quiet, source, workers, objective.percentile, outside)
    return doc


def check_at_rate(ev: PhaseEvidence, ld: Load, quiet: PhaseEvidence, source: Part, workers: int, percentile: float,
                  outside: float) -> dict[str, Any]:
    """The model's check against this phase, at its asked rate and with its own arrivals: the
    percentile predicted from the quiet phase's service times alone (no figure of this phase), and
    from this phase's own mean service time (the queueing model alone), beside what users measured."""
    quiet_mean = quiet.service_time or quiet.client.mean or 0.0  # no server metrics: the client's time stands for it
    poisson = ev.poisson is not False  # as the phase sent them (unknown: Poisson)
    doc: dict[str, Any] = {"rate": ev.asked_rate, "from_phase": quiet.phase, "arrivals": "poisson" if poisson else "even",
                           "measured": ev.client.buckets.quantile(percentile / 100) if ev.client.buckets is not None else None}
    for key, mean in (("predicted", quiet_mean), ("predicted_own_service", ld.service_time)):
        if not mean or ev.asked_rate is None or ev.asked_rate * mean >= workers:
            doc[key] = None  # at or over the capacity that service time implies: the queue grows without bound
        else:
            doc[key] = simulated_percentile(ev.asked_rate, samples_from(source.buckets, mean), workers, percentile, outside, poisson)  # type: ignore[arg-type]
    return doc


def _quietest(evidence: list[PhaseEvidence]) -> PhaseEvidence:
    """The phase with the least queueing relative to its time in the server (or the lowest client latency)."""
    def key(ev: PhaseEvidence) -> float:
        if ev.queue is not None and ev.queue.mean is not None and ev.server is not None and ev.server.mean:
            return ev.queue.mean / ev.server.mean
        return ev.client.p50 if ev.client.p50 is not None else math.inf
    usable = [ev for ev in evidence if ev.client.buckets is not None and ev.client.buckets.total >= 20] or evidence
    return min(usable, key=key)


def findings(ev: PhaseEvidence, ld: Load, quiet: PhaseEvidence, scenario: str, sla_file: str, max_lag: float,
             reference: bool) -> list[Finding]:
    out: list[Finding] = []
    if ld.saturated or ld.near:
        cap = ld.capacity
        text = (f"asked {ld.asked:.3g}/s; " if ld.asked is not None else "") + (
            f"this server serves at most ~{cap:.3g}/s here ({ld.capacity_how}): " if cap else "") + (
            ("it was saturated (" if ld.saturated else "it ran near that (") + "; ".join(ld.why)
            + "), so requests queued and the tail latency followed the queue")
        advice, command = "", f"sla capacity {scenario} --sla {sla_file} --phase {ev.phase}"
        if cap:
            per_replica = PLANNING_UTILIZATION * cap
            peak = ld.asked or ld.throughput or cap
            advice = (f"plan at most ~{per_replica:.3g}/s per replica ({PLANNING_UTILIZATION:.0%} of capacity): "
                      f"{math.ceil(peak / per_replica)} replica(s) for {peak:.3g}/s, or more instances on more cores")
            command += f" --start-rate {max(per_replica / 2, 0.1):.2g}/s --target-peak {peak:.3g}/s"
        out.append(Finding("saturation", text, advice or "find what one replica takes within the SLA", command))
    if ev.throttled is not None and ev.throttled >= THROTTLED:
        limit = f"CPU limit {ev.cores:g} cores" if ev.cores and "cgroup" in ev.throttled_from else ev.throttled_from or "its CPU limit"
        out.append(Finding("throttling", f"the server was throttled in {ev.throttled:.0%} of its CFS periods ({limit}): it waited "
                           "for CPU time it was not allowed", "raise the CPU limit (target.cpus, the container's limits.cpu), or "
                           "plan for the throttled capacity"))
    if ev.lag_p99 is not None and ev.lag_p99 > max_lag:
        out.append(Finding("generator", f"the load generator fell behind its arrival clock (lag P99 {_ms(ev.lag_p99)}): "
                           "it was short of CPU, so the load was not delivered as asked", "give Locust a core of its own "
                           "(target.cpuset), more --processes, or workers on another host"))
    if not (ld.saturated or ld.near) and ev.server is not None and ev.server.mean and ev.stages:
        top = max((s for s in ev.stages if s.mean is not None), key=lambda s: s.mean, default=None)  # type: ignore[arg-type,return-value]
        if top is not None and top.mean / ev.server.mean >= DOMINANT_STAGE:  # type: ignore[operator]
            text = f"stage {top.name} takes {top.mean / ev.server.mean:.0%} of the server's time (mean {_ms(top.mean)})"  # type: ignore[operator]
            if reference and top.name == "rec" and ev.batch_mean is not None and ev.batch_mean < 1.5:
                out.append(Finding("batching", text + f"; recognition batches average {ev.batch_mean:.2g} crops",
                                   "try a batch size that fills (rec_batch)", f"sla compare {scenario} --vary rec_batch=1,6"))
            else:
                out.append(Finding("stage", text, "tune that stage: oneDNN and threads for a Paddle model",
                                   f"sla compare {scenario} --vary onednn=on,off --vary threads=1,2" if reference else ""))
    return out


def warmup_finding(cold_start: dict[str, Any], evidence: list[PhaseEvidence], first: PhaseEvidence | None, scenario: str,
                   warmup: str | None) -> Finding | None:
    """A first request far over the steady P50: not warmed up before ready, or, with warm-up on,
    throttled right after start (`first`: the run's first phase), or paying for what warm-up
    does not cover. `warmup`: the target's own setting when it reports one ("on", "off")."""
    took = cold_start.get("first_request")
    steady = [ev.client.p50 for ev in evidence if ev.client.p50]
    if not took or not steady or took < SLOW_FIRST_REQUEST * min(steady):
        return None
    text = f"the first request took {_ms(took)}, {took / min(steady):.0f}x the steady P50 ({_ms(min(steady))})"
    if first is not None and first.throttled is not None and first.throttled >= THROTTLED:
        return Finding("warmup", text + f": right after start the server was throttled in {first.throttled:.0%} of its CFS periods "
                       f"(phase {first.phase})", "its CPU limit slows the first requests most (warm-up and caches compete for the "
                       "quota): raise target.cpus / the container's CPU limit, or give it time after ready")
    if warmup == "on":
        return Finding("warmup", text + ", although warm-up is on", "warm up with the shapes real requests have (the oneDNN "
                       "cache keys on input shapes), or send a few requests before taking traffic")
    return Finding("warmup", text, "warm the models up before reporting ready (the reference server's --warmup on; a dummy "
                   "request in the readiness hook of other stacks)", f"sla compare {scenario} --vary warmup=on,off" if warmup else "")


def explain(evidence: list[PhaseEvidence], explained: list[str], objectives: list[Any], cold_start: dict[str, Any], scenario: str,
            sla_file: str, max_lag: float, reference: bool, warmup: str | None = None) -> tuple[list[PhaseExplanation], list[Finding]]:
    """The explanation of each phase named in `explained`, and the run's own findings (warm-up).
    `evidence` holds every phase: the quietest one shapes the what-if's service times."""
    if not evidence:
        return [], []
    quiet = _quietest(evidence)
    out = []
    for ev in (e for e in evidence if e.phase in explained):
        ld = load(ev)
        out.append(PhaseExplanation(ev.phase, breakdown(ev), ld, findings(ev, ld, quiet, scenario, sla_file, max_lag, reference),
                                    what_if(ev, ld, quiet, _percentile_objective(objectives, ev.phase)), list(ev.missing)))
    run_findings = [f for f in [warmup_finding(cold_start, [e for e in evidence if e.phase in explained], evidence[0], scenario, warmup)] if f]
    return out, run_findings
