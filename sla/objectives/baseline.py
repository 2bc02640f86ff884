"""`baseline: {p99: 10%, throughput: 10%}`: against an earlier run's result.json (`--baseline`),
a percentile may grow at most 10 % and throughput drop at most 10 %. Judged only when a baseline
is given (the analyzer notes the ones it left out)."""

from __future__ import annotations

from dataclasses import replace

from sla.analysis.verdict import INCONCLUSIVE, Measurement, ObjectiveResult, result
from sla.objectives.base import AnyPercentile, Kind, Objective, ParseContext, Run, checked_percentile, fraction, pct_id
from sla.objectives.latency import Latency, judge_percentile
from sla.objectives.throughput import judge_throughput, measure_successes

DESCRIPTION = "allowed change against --baseline: pXX growth, throughput drop, e.g. p99: 10%"
NO_BASELINE = "judge against a baseline result.json of a run with this phase"
BASELINE_ONLY = "compares two runs of the gate, with no production counterpart"


def baseline_value(run: Run, o: Objective, key: str) -> float | None:
    phase = ((run.baseline or {}).get("phases") or {}).get(o.phase or "", {})
    value = phase.get(key) if isinstance(phase, dict) else None
    return float(value) if isinstance(value, (int, float)) else None


class BaselineLatency(Latency):
    """Measured like `latency` (and, like it, a FAIL from the actual send time stands)."""

    names = ("baseline_latency",)
    key = "baseline"
    description = DESCRIPTION
    bucket_limit = False  # its limit is a growth, not seconds
    cross_checked = False

    def parse(self, ctx: ParseContext) -> list[Objective]:
        path = f"{ctx.path}.baseline"
        doc = ctx.reader.mapping(ctx.doc.get("baseline") or {}, path, AnyPercentile(extra={"throughput": "allowed drop"}))
        out = []
        for key in doc:
            if key == "throughput":
                continue  # BaselineThroughput's
            pct = checked_percentile(ctx.reader, f"{path}.{key}", key)
            growth = ctx.reader.get(doc, path, key, fraction, "a percentage such as 10%")
            if pct is not None and growth is not None:
                out.append(Objective(f"{ctx.phase}.baseline.{pct_id(pct)}", "baseline_latency", ctx.phase, "loadgen", growth, pct,
                                     where=f"{path}.{key}"))
        return out

    def measure(self, o: Objective, run: Run, w) -> Measurement:
        return replace(super().measure(o, run, w), baseline=baseline_value(run, o, f"p{o.percentile:g}"))

    def production(self, o: Objective, rules) -> str | None:
        return BASELINE_ONLY

    def judge(self, o: Objective, m: Measurement) -> ObjectiveResult:
        if m.baseline is None or not m.baseline > 0:
            return result(o, m, INCONCLUSIVE, None, "the baseline has no value for this percentile", NO_BASELINE)
        return judge_percentile(o, m, m.baseline * (1 + o.limit), extra={"baseline": m.baseline})


class BaselineThroughput(Kind):
    names = ("baseline_throughput",)
    key = "baseline"
    description = DESCRIPTION
    unit = "/s"
    direction = "min"

    def parse(self, ctx: ParseContext) -> list[Objective]:
        doc = ctx.doc.get("baseline")
        if not isinstance(doc, dict) or "throughput" not in doc:
            return []  # the mapping's problems are BaselineLatency's to report
        drop = ctx.reader.get(doc, f"{ctx.path}.baseline", "throughput", fraction, "a percentage such as 10%")
        if drop is None:
            return []
        return [Objective(f"{ctx.phase}.baseline.throughput", "baseline_throughput", ctx.phase, "loadgen", drop,
                          where=f"{ctx.path}.baseline.throughput")]

    def measure(self, o: Objective, run: Run, w) -> Measurement:
        return replace(measure_successes(o, run, w), baseline=baseline_value(run, o, "throughput"))

    def production(self, o: Objective, rules) -> str | None:
        return BASELINE_ONLY

    def judge(self, o: Objective, m: Measurement) -> ObjectiveResult:
        if m.baseline is None or not m.baseline > 0:
            return result(o, m, INCONCLUSIVE, None, "the baseline has no throughput for this phase", NO_BASELINE)
        return judge_throughput(o, m, m.baseline * (1 - o.limit), extra={"baseline": m.baseline})
