"""Judging objectives (pure: no clock, no network). Measurement in, result out.

Three values: PASS, FAIL, INCONCLUSIVE. INCONCLUSIVE, never PASS, when the evidence is missing
or thin: no data, a validity problem found in Prometheus (scrape gaps, target down, restart), a
threshold inside a bucket too wide to decide, fewer samples than the percentile claim needs
(MLPerf early stopping), or a load generator that did not deliver the load asked of it.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field, replace

from sla.analysis.stats import Buckets, min_samples
from sla.slafile import Objective
from sla.units import format_duration

PASS, FAIL, INCONCLUSIVE = "PASS", "FAIL", "INCONCLUSIVE"
EXIT_CODES = {PASS: 0, FAIL: 1, INCONCLUSIVE: 2}


@dataclass(frozen=True)
class Measurement:
    """What Prometheus said for one objective, over one window."""

    promql: str
    window: tuple[float, float] | None = None  # Unix seconds
    buckets: Buckets | None = None  # latency kinds: cumulative counts by bound
    count: float | None = None  # throughput: successful requests; error rate: all requests
    failures: float | None = None  # error rate
    duration: float | None = None  # seconds, for throughput
    value: float | None = None  # gauges (cold start)
    validity: tuple[str, ...] = ()  # reasons the evidence cannot be trusted
    baseline: float | None = None  # the baseline run's value, for baseline objectives
    hdr: float | None = None  # the same percentile from the HdrHistogram (3 significant digits)
    uncorrected: float | None = None  # arrival-rate phases: the percentile from the actual send time
    actual_buckets: Buckets | None = None  # arrival-rate phases: latency from the actual send time
    delivery: tuple[str, ...] = ()  # the load generator did not deliver the load asked of it


@dataclass
class ObjectiveResult:
    id: str
    kind: str
    phase: str | None
    source: str
    verdict: str
    value: float | None
    limit: float
    comparator: str  # "<=" or ">="
    unit: str  # s, /s, fraction
    samples: float | None
    window: tuple[float, float] | None
    promql: str
    detail: str
    recommendation: str = ""
    exact_fraction: float | None = None  # share of requests at or under a latency limit, when exact
    extra: dict = field(default_factory=dict)

    def to_json(self) -> dict:
        return asdict(self)


def overall(results: list[ObjectiveResult]) -> str:
    verdicts = {r.verdict for r in results}
    if FAIL in verdicts:
        return FAIL
    if INCONCLUSIVE in verdicts or not results:
        return INCONCLUSIVE
    return PASS


def _result(o: Objective, m: Measurement, verdict: str, value: float | None, detail: str, rec: str = "", **kw) -> ObjectiveResult:
    unit = {"throughput": "/s", "baseline_throughput": "/s", "error_rate": "fraction", "shed_rate": "fraction"}.get(o.kind, "s")
    return ObjectiveResult(
        id=o.id, kind=o.kind, phase=o.phase, source=o.source, verdict=verdict, value=value, limit=kw.pop("limit", o.limit),
        comparator="<=" if o.direction == "max" else ">=", unit=unit, samples=kw.pop("samples", None), window=m.window,
        promql=m.promql, detail=detail, recommendation=rec, **kw,
    )


def evaluate(o: Objective, m: Measurement) -> ObjectiveResult:
    """Judge one objective. Evidence problems (scrape gaps, restarts) make it INCONCLUSIVE. When
    the load generator did not deliver the load asked, a PASS is not earned (INCONCLUSIVE), but a
    FAIL stands where the shortfall cannot explain it: failed requests are failures whatever the
    load, and latency measured from the actual send time is a lower bound of what users saw (the
    generator's lag only inflates latency from the intended send time)."""
    if m.validity:
        return _result(o, m, INCONCLUSIVE, None, "; ".join(m.validity), "fix the cause and run again; evidence with gaps is not judged")
    result = _judge(o, m)
    if not m.delivery:
        return result
    shortfall = "; ".join(m.delivery)
    if result.verdict == FAIL and o.kind == "error_rate":
        result.detail += f" (a FAIL although {shortfall})"
        return result
    if result.verdict == FAIL and o.kind in ("latency", "baseline_latency") and m.actual_buckets is not None:
        lower_bound = _judge(o, replace(m, buckets=m.actual_buckets, hdr=None))
        if lower_bound.verdict == FAIL:
            result.detail += " (a FAIL even from the actual send time, which the generator's lag cannot inflate)"
            return result
    result.verdict, result.detail = INCONCLUSIVE, f"{shortfall} [measured: {result.detail}]"
    result.recommendation = "give the load generator more CPU (sla run --processes N, or another machine), or ask a lower rate"
    return result


def _judge(o: Objective, m: Measurement) -> ObjectiveResult:
    if o.kind in ("latency", "stage_latency"):
        return _latency(o, m, o.limit)
    if o.kind == "baseline_latency":
        if m.baseline is None or not m.baseline > 0:
            return _result(o, m, INCONCLUSIVE, None, "the baseline has no value for this percentile", "judge against a baseline result.json of a run with this phase")
        return _latency(o, m, m.baseline * (1 + o.limit), extra={"baseline": m.baseline})
    if o.kind == "throughput":
        return _throughput(o, m, o.limit)
    if o.kind == "baseline_throughput":
        if m.baseline is None or not m.baseline > 0:
            return _result(o, m, INCONCLUSIVE, None, "the baseline has no throughput for this phase", "judge against a baseline result.json of a run with this phase")
        return _throughput(o, m, m.baseline * (1 - o.limit), extra={"baseline": m.baseline})
    if o.kind in ("error_rate", "shed_rate"):
        return _error_rate(o, m)
    if o.kind == "recovery":
        return _recovery(o, m)
    return _gauge(o, m)


def _latency(o: Objective, m: Measurement, limit: float, extra: dict | None = None) -> ObjectiveResult:
    extra = extra or {}
    b = m.buckets
    n = b.total if b else 0.0
    if not b or n <= 0:
        return _result(o, m, INCONCLUSIVE, None, "no requests in the window (no series or all zero)",
                       "check that Prometheus scraped the target during the phase", limit=limit, samples=0, extra=extra)
    q = o.percentile / 100.0
    name = f"P{o.percentile:g}"
    estimate = b.quantile(q)
    extra = {**extra, **{k: v for k, v in (("hdr", m.hdr), ("uncorrected", m.uncorrected)) if v is not None}}
    if m.hdr is not None and math.isfinite(estimate):
        # The percentile's rank q*n is fractional: the HdrHistogram rounds it to the nearest whole
        # observation, Prometheus interpolates. Both must lie between the buckets of the two
        # observations around that rank (with 1 % for HdrHistogram's 3 significant digits).
        lo, _ = b.rank_bucket(max(1.0, math.floor(q * n)))
        _, hi = b.rank_bucket(min(n, math.floor(q * n) + 1))
        if math.isfinite(hi) and not lo * 0.99 <= m.hdr <= hi * 1.01:
            return _result(o, m, INCONCLUSIVE, estimate,
                           f"{name}: the HdrHistogram ({format_duration(m.hdr)}) lies outside the Prometheus buckets around "
                           f"that rank ({format_duration(lo)} to {format_duration(hi)}, ~{format_duration(estimate)} interpolated)",
                           "check for lost scrapes or a bucket layout that differs between workers", limit=limit, samples=n, extra=extra)
    exact = b.count_le(limit)
    if exact is not None:
        at_or_under, overs, how = exact, n - exact, f"{exact / n * 100:.2f}% of {n:.0f} at or under {format_duration(limit)} (exact, bucket boundary)"
        decided_fail = exact / n < q
        decided_pass = not decided_fail
    else:
        lo, c_lo, hi, c_hi = b.bracket(limit)
        at_or_under, overs = c_lo, n - c_lo  # the worst case for a pass
        how = f"{format_duration(limit)} lies inside the bucket ({format_duration(lo)}, {format_duration(hi) if math.isfinite(hi) else '+Inf'}]"
        decided_pass = c_lo / n >= q
        decided_fail = c_hi / n < q
        if not decided_pass and not decided_fail:
            return _result(o, m, INCONCLUSIVE, estimate, f"{how}: too wide to decide {name} <= {format_duration(limit)}",
                           "make the limit a histogram bucket boundary (sla run adds its SLA's limits; for a server started elsewhere pass --extra-buckets)",
                           limit=limit, samples=n, extra=extra)
    if decided_fail:
        return _result(o, m, FAIL, estimate, f"{name} ~ {format_duration(estimate)} over {format_duration(limit)}: {how}",
                       f"{name} is over the limit at this load: lower the load per replica, add replicas, or tune threads/oneDNN/batching (sla compare)",
                       limit=limit, samples=n, exact_fraction=(exact / n if exact is not None else None), extra=extra)
    need = min_samples(q, int(math.ceil(overs)))
    if n < need:
        return _result(o, m, INCONCLUSIVE, estimate,
                       f"{n:.0f} requests, {overs:.0f} over the limit: a {name} claim needs at least {need} (MLPerf early stopping, 99% confidence)",
                       f"run the phase longer: {need - n:.0f} more requests", limit=limit, samples=n,
                       exact_fraction=(exact / n if exact is not None else None), extra=extra)
    return _result(o, m, PASS, estimate, f"{name} ~ {format_duration(estimate)}: {how}", limit=limit, samples=n,
                   exact_fraction=(at_or_under / n if exact is not None else None), extra=extra)


def _throughput(o: Objective, m: Measurement, limit: float, extra: dict | None = None) -> ObjectiveResult:
    if m.count is None or not m.duration or m.duration <= 0:
        return _result(o, m, INCONCLUSIVE, None, "no request count for the window", "check that Prometheus scraped the target", limit=limit, extra=extra or {})
    value = m.count / m.duration
    detail = f"{m.count:.0f} successful requests in {m.duration:.1f} s = {value:.2f}/s"
    if value >= limit:
        return _result(o, m, PASS, value, detail, limit=limit, samples=m.count, extra=extra or {})
    return _result(o, m, FAIL, value, f"{detail}, under {limit:.2f}/s",
                   "the phase did not reach the throughput: more users (or a higher arrival rate), or the server is saturated",
                   limit=limit, samples=m.count, extra=extra or {})


def _error_rate(o: Objective, m: Measurement) -> ObjectiveResult:
    n, k = m.count or 0.0, m.failures or 0.0
    if n <= 0:
        return _result(o, m, INCONCLUSIVE, None, "no requests in the window", "check that Prometheus scraped the target", samples=0)
    rate = k / n
    what = "shed (503/429 with Retry-After)" if o.kind == "shed_rate" else "failed" + (" other than shed" if o.excludes_shed else "")
    detail = f"{k:.0f} {what} of {n:.0f} = {rate * 100:.3f}%"
    if rate > o.limit:
        return _result(o, m, FAIL, rate, f"{detail}, over {o.limit * 100:g}%",
                       "look at the failure messages (locust_failures.csv in the run directory) and the server log", samples=n)
    if o.limit > 0:
        need = min_samples(1.0 - o.limit, int(k))
        if n < need:
            return _result(o, m, INCONCLUSIVE, rate, f"{detail}: an error rate <= {o.limit * 100:g}% claim needs at least {need} requests",
                           f"run the phase longer: {need - n:.0f} more requests", samples=n)
    return _result(o, m, PASS, rate, detail, samples=n)


def _recovery(o: Objective, m: Measurement) -> ObjectiveResult:
    """m.value: seconds from the phase start until the percentile of every later window stayed at
    or under the threshold (None: it never did); m.count: requests in the phase."""
    name, limit = f"P{o.percentile:g}", format_duration(o.threshold or 0.0)
    if not m.count:
        return _result(o, m, INCONCLUSIVE, None, "no requests in the phase", "check that Prometheus scraped the load generator", samples=0)
    if m.value is None:
        return _result(o, m, FAIL, None, f"{name} of the windows never came back under {limit} during the phase",
                       "the spike's backlog outlasted the phase: shed earlier (a smaller queue), or add capacity", samples=m.count)
    detail = f"{name} of every window back under {limit} {m.value:.1f} s into the phase"
    if m.value <= o.limit:
        return _result(o, m, PASS, m.value, detail, samples=m.count)
    return _result(o, m, FAIL, m.value, f"{detail}, later than {format_duration(o.limit)}",
                   "the backlog drains too slowly: shed earlier (a smaller queue), or add capacity", samples=m.count)


def _gauge(o: Objective, m: Measurement) -> ObjectiveResult:
    if m.value is None or not m.value > 0 or not math.isfinite(m.value):
        return _result(o, m, INCONCLUSIVE, None, "no value recorded (no series, or 0: the event did not happen while scraped)",
                       "start the server fresh with the run (a scenario with target.fresh: true, or without --host)")
    what = "time to ready" if o.kind == "time_to_ready" else "first request"
    detail = f"{what} {format_duration(m.value)}"
    if m.value <= o.limit:
        return _result(o, m, PASS, m.value, detail, samples=1)
    return _result(o, m, FAIL, m.value, f"{detail}, over {format_duration(o.limit)}",
                   "warm the models up before ready (--warmup on), load them earlier, or keep a replica warm", samples=1)


def target_exited(exited: dict, phase: str | None, planned_s: float) -> ObjectiveResult:
    """The service under test, started by the gate, died during the run: a FAIL with the evidence
    (how, when, its log's last lines). The other objectives are judged on what was measured."""
    tail = "\n".join(str(exited.get("log_tail", "")).splitlines()[-8:])
    where = f", in phase {phase}" if phase else ""
    return ObjectiveResult(
        id="target.survived", kind="survival", phase=phase, source="gate", verdict=FAIL, value=exited.get("after_s"),
        limit=planned_s, comparator=">=", unit="s", samples=None, window=None, promql="",
        detail=f"the service under test died ({exited.get('how')}) {exited.get('after_s')} s into the run{where}; its log ends:\n{tail}",
        recommendation="read server.log in the run directory: a service that crashes under load fails the gate",
        extra={"exited": {k: v for k, v in exited.items() if k != "log_tail"}},
    )
