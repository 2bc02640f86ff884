"""`latency: {p50: 400ms, p99: {max: 1.5s, source: server}}`: a percentile at or under a limit.

Read from histogram buckets. Exact when the limit is a bucket boundary (the gate makes every SLA
limit one); INCONCLUSIVE when it lies inside a bucket too wide to decide, or when fewer requests
were seen than the claim needs (MLPerf early stopping). In arrival-rate phases the load
generator's percentile is from the intended send time, cross-checked against its HdrHistogram.
"""

from __future__ import annotations

import math
from dataclasses import replace

from sla.analysis.stats import min_samples
from sla.analysis.verdict import FAIL, INCONCLUSIVE, PASS, Measurement, ObjectiveResult
from sla.objectives.base import AnyPercentile, Kind, Objective, ParseContext, Run, checked_percentile, limit, pct_id, result
from sla.units import format_duration, parse_duration
from sla.validation import positive


class Latency(Kind):
    names = ("latency",)
    panel = "Latency percentiles (SLA limits as lines)"
    key = "latency"
    description = "percentile (or mean) -> maximum, e.g. p99: 150ms, mean: 80ms"
    bucket_limit = True
    cross_checked = True
    request_latency = True

    def parse(self, ctx: ParseContext) -> list[Objective]:
        path = f"{ctx.path}.latency"
        doc = ctx.reader.mapping(ctx.doc.get("latency") or {}, path, AnyPercentile({"mean": "the mean latency (sla/objectives/mean.py)"}))
        out = []
        for key in doc:
            if key == "mean":
                continue
            pct = checked_percentile(ctx.reader, f"{path}.{key}", key)
            got = limit(ctx.reader, doc, path, key, positive(parse_duration), "max", "a positive duration such as 150ms")
            if pct is not None and got:
                out.append(Objective(f"{ctx.phase}.latency.{pct_id(pct)}", "latency", ctx.phase, got[1], got[0], pct,
                                     where=f"{path}.{key}"))
        return out

    def measure(self, o: Objective, run: Run, w) -> Measurement:
        read = run.source(o.source).latency(w, o.percentile, o.stage)
        uncorrected = read.actual.quantile(o.q) if read.actual and read.actual.total else None
        return Measurement(read.promql, buckets=read.buckets, hdr=read.hdr, uncorrected=uncorrected, actual_buckets=read.actual)

    def judge(self, o: Objective, m: Measurement) -> ObjectiveResult:
        return judge_percentile(o, m, o.limit)

    def needs(self, o: Objective) -> int:
        return min_samples(o.percentile / 100, 0) if o.percentile is not None else 0

    def production(self, o: Objective, rules) -> str | None:
        return rules.percentile(o)

    def server_problem(self, o: Objective, mapping) -> str | None:
        return None if mapping.percentiles else mapping.latency_source()

    def stands_despite_shortfall(self, o: Objective, m: Measurement, judged: ObjectiveResult) -> bool:
        """Latency from the actual send time is a lower bound of what users saw: the generator's lag
        only inflates latency from the intended send time."""
        if m.actual_buckets is None:
            return False
        if self.judge(o, replace(m, buckets=m.actual_buckets, hdr=None)).verdict != FAIL:
            return False
        judged.detail += " (a FAIL even from the actual send time, which the generator's lag cannot inflate)"
        return True


def judge_percentile(o: Objective, m: Measurement, lim: float, extra: dict | None = None) -> ObjectiveResult:
    """P(o.percentile) of `m.buckets` at or under `lim`."""
    extra = extra or {}
    b = m.buckets
    n = b.total if b else 0.0
    if not b or n <= 0:
        return result(o, m, INCONCLUSIVE, None, "no requests in the window (no series or all zero)",
                      "check that Prometheus scraped the target during the phase", limit=lim, samples=0, extra=extra)
    q = o.q
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
            return result(o, m, INCONCLUSIVE, estimate,
                          f"{name}: the HdrHistogram ({format_duration(m.hdr)}) lies outside the Prometheus buckets around "
                          f"that rank ({format_duration(lo)} to {format_duration(hi)}, ~{format_duration(estimate)} interpolated)",
                          "check for lost scrapes or a bucket layout that differs between workers", limit=lim, samples=n, extra=extra)
    exact = b.count_le(lim)
    if exact is not None:
        at_or_under, overs, how = exact, n - exact, f"{exact / n * 100:.2f}% of {n:.0f} at or under {format_duration(lim)} (exact, bucket boundary)"
        decided_fail = exact / n < q
    else:
        lo, c_lo, hi, c_hi = b.bracket(lim)
        at_or_under, overs = c_lo, n - c_lo  # the worst case for a pass
        how = f"{format_duration(lim)} lies inside the bucket ({format_duration(lo)}, {format_duration(hi) if math.isfinite(hi) else '+Inf'}]"
        decided_fail = c_hi / n < q
        if c_lo / n < q and not decided_fail:
            return result(o, m, INCONCLUSIVE, estimate, f"{how}: too wide to decide {name} <= {format_duration(lim)}",
                          "make the limit a histogram bucket boundary (sla run adds its SLA's limits; for a server started elsewhere pass --extra-buckets)",
                          limit=lim, samples=n, extra=extra)
    fraction = exact / n if exact is not None else None
    if decided_fail:
        return result(o, m, FAIL, estimate, f"{name} ~ {format_duration(estimate)} over {format_duration(lim)}: {how}",
                      f"{name} is over the limit at this load: `sla explain` (the Why below) says whether the server was saturated, throttled or one stage dominates, and what to try",
                      limit=lim, samples=n, exact_fraction=fraction, extra=extra)
    need = min_samples(q, int(math.ceil(overs)))
    if n < need:
        return result(o, m, INCONCLUSIVE, estimate,
                      f"{n:.0f} requests, {overs:.0f} over the limit: a {name} claim needs at least {need} (MLPerf early stopping, 99% confidence)",
                      f"run the phase longer: {need - n:.0f} more requests", limit=lim, samples=n, exact_fraction=fraction, extra=extra)
    return result(o, m, PASS, estimate, f"{name} ~ {format_duration(estimate)}: {how}", limit=lim, samples=n,
                  exact_fraction=(at_or_under / n if exact is not None else None), extra=extra)
