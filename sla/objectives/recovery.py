"""`recovers: {p99: 1s, within: 15s}`: the P99 of every window of 5 s is back at or under 1 s,
for good, at most 15 s after the phase starts. From the load generator's latency series (one
range query), cut into sliding windows (`stats.recovery_time`)."""

from __future__ import annotations

from sla.analysis.stats import recovery_time
from sla.analysis.verdict import FAIL, INCONCLUSIVE, PASS, Measurement, ObjectiveResult
from sla.objectives.base import AnyPercentile, Kind, Objective, ParseContext, Run, checked_percentile, pct_id, result
from sla.units import format_duration, parse_duration
from sla.validation import positive

RECOVERY_WINDOW_S = 5.0


class Recovery(Kind):
    names = ("recovery",)
    key = "recovers"
    description = "how fast latency comes back in this phase, e.g. {p99: 1s, within: 15s} (windows of 5 s)"

    def parse(self, ctx: ParseContext) -> list[Objective]:
        if "recovers" not in ctx.doc:
            return []
        reader, path = ctx.reader, f"{ctx.path}.recovers"
        doc = reader.mapping(ctx.doc["recovers"], path, AnyPercentile(extra={"within": "how soon, e.g. 15s"}))
        within = reader.get(doc, path, "within", positive(parse_duration), "a duration such as 15s")
        keys = [k for k in doc if k != "within"]
        if len(keys) != 1:
            reader.problem(path, "give one percentile and its limit, e.g. {p99: 1s, within: 15s}")
            return []
        pct = checked_percentile(reader, f"{path}.{keys[0]}", keys[0])
        threshold = reader.get(doc, path, keys[0], positive(parse_duration), "a positive duration such as 1s")
        if pct is None or threshold is None or within is None:
            return []
        return [Objective(f"{ctx.phase}.recovers.{pct_id(pct)}", "recovery", ctx.phase, "loadgen", within, pct,
                          threshold=threshold, where=path)]

    def limits_s(self, o: Objective) -> tuple[float, ...]:
        return (o.threshold,) if o.threshold else ()

    def measure(self, o: Objective, run: Run, w) -> Measurement:
        q, samples = run.loadgen.latency_series(w)
        at = recovery_time(samples, w.start, RECOVERY_WINDOW_S, o.q, o.threshold or 0.0)
        return Measurement(q, value=at, count=samples[-1][1].total if samples else 0.0)

    def judge(self, o: Objective, m: Measurement) -> ObjectiveResult:
        """m.value: seconds from the phase start until the percentile of every later window stayed
        at or under the threshold (None: it never did); m.count: requests in the phase."""
        name, lim = f"P{o.percentile:g}", format_duration(o.threshold or 0.0)
        if not m.count:
            return result(o, m, INCONCLUSIVE, None, "no requests in the phase", "check that Prometheus scraped the load generator", samples=0)
        if m.value is None:
            return result(o, m, FAIL, None, f"{name} of the windows never came back under {lim} during the phase",
                          "the spike's backlog outlasted the phase: shed earlier (a smaller queue), or add capacity", samples=m.count)
        detail = f"{name} of every window back under {lim} {m.value:.1f} s into the phase"
        if m.value <= o.limit:
            return result(o, m, PASS, m.value, detail, samples=m.count)
        return result(o, m, FAIL, m.value, f"{detail}, later than {format_duration(o.limit)}",
                      "the backlog drains too slowly: shed earlier (a smaller queue), or add capacity", samples=m.count)

    def production(self, o: Objective, rules) -> str | None:
        return "recovery after a spike is judged over a test's spike phase; in production the latency alerts cover a slow recovery"

    def server_problem(self, o: Objective, mapping) -> str | None:
        return "recovery is read from the load generator only (source: loadgen)"
