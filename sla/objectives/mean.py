"""`latency: {mean: 80ms}`: the mean latency at or under a limit. From the load generator's or a
histogram's sum and count, or from a server that keeps only a cumulative duration counter and a
request counter (Triton, or a stack written as a mapping such as TorchServe), where a mean is all there is."""

from __future__ import annotations

from sla.analysis.verdict import FAIL, INCONCLUSIVE, PASS, Measurement, ObjectiveResult
from sla.objectives.base import Kind, Objective, ParseContext, Run, limit, result
from sla.units import format_duration, parse_duration
from sla.validation import positive

KEY = "mean"


class MeanLatency(Kind):
    names = ("mean_latency",)
    panel = "Mean latency (SLA limit as a line)"
    key = "latency"  # beside the percentiles (sla/objectives/latency.py reads those)

    def parse(self, ctx: ParseContext) -> list[Objective]:
        doc = ctx.doc.get("latency")
        if not isinstance(doc, dict) or KEY not in doc:
            return []  # the latency kind reports a latency entry that is not a mapping
        path = f"{ctx.path}.latency"
        got = limit(ctx.reader, doc, path, KEY, positive(parse_duration), "max", "a positive duration such as 80ms")
        return [Objective(f"{ctx.phase}.latency.mean", self.names[0], ctx.phase, got[1], got[0], where=f"{path}.{KEY}")] if got else []

    def measure(self, o: Objective, run: Run, w) -> Measurement:
        read = run.source(o.source).mean(w)
        return Measurement(read.promql, value=read.value, count=read.count)

    def judge(self, o: Objective, m: Measurement) -> ObjectiveResult:
        n = m.count or 0.0
        if n <= 0 or m.value is None:
            return result(o, m, INCONCLUSIVE, None, "no requests in the window (no series or all zero)",
                          "check that Prometheus scraped the target during the phase", samples=0)
        detail = f"mean {format_duration(m.value)} over {n:.0f} requests"
        if m.value > o.limit:
            return result(o, m, FAIL, m.value, f"{detail}, over {format_duration(o.limit)}",
                          "the mean is over the limit at this load: `sla explain` (the Why below) says whether the server was saturated, throttled or one stage dominates, and what to try",
                          samples=n)
        return result(o, m, PASS, m.value, detail, samples=n)

    def production(self, o: Objective, rules) -> str | None:
        return rules.mean(o)

    def server_problem(self, o: Objective, mapping) -> str | None:
        return None if mapping.mean else mapping.latency_source()
