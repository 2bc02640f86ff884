"""`baseline: {p99: +10%, throughput: 10%}`: a percentile may grow at most 10 % and throughput drop
at most 10 %, against
- an earlier run's result.json (`--baseline`): one run against one run, judged as a limit; or
- with `runs: N`, the last N comparable runs of the history store (`--history`): judged
  statistically, with the noise between runs (sla/history/change.py). FAIL only when the whole
  confidence interval of the change is beyond the allowed one, PASS when it is within,
  INCONCLUSIVE when it straddles it or fewer than N comparable runs exist.
Judged only when a baseline (or a history) is given; the analyzer notes the ones it left out.
"""

from __future__ import annotations

from dataclasses import replace

from sla.analysis.stats import per_second
from sla.analysis.verdict import FAIL, INCONCLUSIVE, Measurement, ObjectiveResult
from sla.history.change import change_against, judge_change
from sla.objectives.base import AnyPercentile, Kind, Objective, ParseContext, Run, checked_percentile, fraction, pct_id, result
from sla.objectives.latency import Latency, judge_percentile
from sla.objectives.throughput import judge_throughput, measure_successes
from sla.units import format_duration
from sla.validation import positive

DESCRIPTION = "allowed change against --baseline, or with runs: N the last N runs of --history: pXX growth, throughput drop, e.g. p99: +10%"
NO_BASELINE = "judge against a baseline result.json of a run with this phase"
BASELINE_ONLY = "compares runs of the gate, with no production counterpart"
HISTORY_NEEDS = "runs of the same scenario and SLA file on this machine (--any-environment: on any machine) build the history"
MAX_RUNS = 1000


def baseline_value(run: Run, o: Objective, key: str) -> float | None:
    phase = ((run.baseline or {}).get("phases") or {}).get(o.phase or "", {})
    value = phase.get(key) if isinstance(phase, dict) else None
    return float(value) if isinstance(value, (int, float)) else None


def history_values(run: Run, o: Objective, key: str) -> Measurement:
    """The comparable runs' values of this phase and key, as a Measurement's `history`."""
    if run.history is None:
        return Measurement("", history=None)
    values = [v for r in run.history.runs if isinstance(v := (r.values.get(o.phase or "") or {}).get(key), (int, float)) and v > 0]
    return Measurement("", history=tuple(float(v) for v in values), history_note=run.history.others)


def judge_history(o: Objective, m: Measurement, value: float | None, what: str, shown) -> ObjectiveResult:
    """This run's `value` against the comparable runs' (`m.history`), the change allowed `o.limit`."""
    got = m.history or ()
    if m.history is None:
        return result(o, m, INCONCLUSIVE, value, "no history store given", "run with --history URL", limit=None)
    if len(got) < (o.runs or 0):
        why = f"no comparable runs: {m.history_note or 'the store holds no earlier run of this scenario'}" if not got else \
            f"{len(got)} comparable run(s) of the {o.runs} needed" + (f" ({m.history_note})" if m.history_note else "")
        return result(o, m, INCONCLUSIVE, value, why, HISTORY_NEEDS, limit=None, extra={"runs": len(got)})
    change = change_against(value, list(got)) if value is not None else None
    if change is None:
        return result(o, m, INCONCLUSIVE, value, f"no {what} measured to compare", limit=None, extra={"runs": len(got)})
    verdict = judge_change(change, o.limit, o.direction)
    allowed = f"{'+' if o.direction == 'max' else '-'}{o.limit * 100:g} %"
    detail = f"{change.describe(what)} (median {shown(change.baseline)}, runs {change.between_runs * 100:.1f} % apart); allowed {allowed}"
    if verdict == INCONCLUSIVE:
        detail += ": the interval straddles it"
    limit = change.baseline * (1 + o.limit if o.direction == "max" else 1 - o.limit)
    return result(o, m, verdict, value, detail,
                  "a regression beyond the noise between runs: `sla diff` against one of the baseline runs shows where it went" if verdict == FAIL
                  else "more runs in the baseline (runs: N) or less noisy runs narrow the interval" if verdict == INCONCLUSIVE else "",
                  limit=limit, extra={"baseline": change.baseline, "change": change.estimate, "ci": [change.low, change.high],
                                      "runs": change.runs, "allowed": o.limit})


def _runs(ctx: ParseContext, doc: dict, path: str) -> int | None:
    if "runs" not in doc:
        return None
    got = ctx.reader.get(doc, path, "runs", positive(int), "a whole number of runs, at least 2, such as 10")
    if got is not None and not 2 <= got <= MAX_RUNS:
        ctx.reader.problem(f"{path}.runs", f"{got} is outside 2 to {MAX_RUNS}: a baseline of runs needs at least 2 to see their spread")
        return None
    return got


class BaselineLatency(Latency):
    """Measured like `latency` (and, like it, a FAIL from the actual send time stands)."""

    names = ("baseline_latency",)
    key = "baseline"
    description = DESCRIPTION
    bucket_limit = False  # its limit is a growth, not seconds
    cross_checked = False
    request_latency = False
    compares_runs = True

    def parse(self, ctx: ParseContext) -> list[Objective]:
        path = f"{ctx.path}.baseline"
        doc = ctx.reader.mapping(ctx.doc.get("baseline") or {}, path, AnyPercentile(extra={
            "throughput": "allowed drop", "runs": "compare with the last N comparable runs of --history (default: --baseline)"}))
        runs = _runs(ctx, doc, path)
        if "runs" in doc and len(doc) == 1:
            ctx.reader.problem(f"{path}.runs", "compares nothing on its own: give what may change, e.g. p99: +10% or throughput: 10%")
        out = []
        for key in doc:
            if key in ("throughput", "runs"):
                continue  # BaselineThroughput's, and the baseline's source
            pct = checked_percentile(ctx.reader, f"{path}.{key}", key)
            growth = ctx.reader.get(doc, path, key, fraction, "a percentage such as +10%")
            if pct is not None and growth is not None:
                out.append(Objective(f"{ctx.phase}.baseline.{pct_id(pct)}", "baseline_latency", ctx.phase, "loadgen", growth, pct,
                                     where=f"{path}.{key}", runs=runs))
        return out

    def measure(self, o: Objective, run: Run, w) -> Measurement:
        m = super().measure(o, run, w)
        if o.runs is None:
            return replace(m, baseline=baseline_value(run, o, f"p{o.percentile:g}"))
        got = history_values(run, o, f"p{o.percentile:g}")
        return replace(m, history=got.history, history_note=got.history_note)

    def needs(self, o: Objective) -> int:
        return 0 if o.runs is not None else super().needs(o)  # the interval says how sure it is

    def production(self, o: Objective, rules) -> str | None:
        return BASELINE_ONLY

    def judge(self, o: Objective, m: Measurement) -> ObjectiveResult:
        if o.runs is not None:
            b = m.buckets
            value = m.hdr if m.hdr is not None else b.quantile(o.q) if b and b.total else None
            return judge_history(o, m, value, f"P{o.percentile:g}", format_duration)
        if m.baseline is None or not m.baseline > 0:
            return result(o, m, INCONCLUSIVE, None, "the baseline has no value for this percentile", NO_BASELINE)
        return judge_percentile(o, m, m.baseline * (1 + o.limit), extra={"baseline": m.baseline})


class BaselineThroughput(Kind):
    names = ("baseline_throughput",)
    key = "baseline"
    description = DESCRIPTION
    unit = "/s"
    direction = "min"
    compares_runs = True

    def parse(self, ctx: ParseContext) -> list[Objective]:
        doc = ctx.doc.get("baseline")
        if not isinstance(doc, dict) or "throughput" not in doc:
            return []  # the mapping's problems are BaselineLatency's to report
        drop = ctx.reader.get(doc, f"{ctx.path}.baseline", "throughput", fraction, "a percentage such as 10%")
        if drop is None:
            return []
        runs = doc.get("runs") if isinstance(doc.get("runs"), int) and 2 <= doc["runs"] <= MAX_RUNS else None
        return [Objective(f"{ctx.phase}.baseline.throughput", "baseline_throughput", ctx.phase, "loadgen", drop,
                          where=f"{ctx.path}.baseline.throughput", runs=runs)]

    def measure(self, o: Objective, run: Run, w) -> Measurement:
        m = measure_successes(o, run, w)
        if o.runs is None:
            return replace(m, baseline=baseline_value(run, o, "throughput"))
        got = history_values(run, o, "throughput")  # its spread between runs is all its noise
        return replace(m, history=got.history, history_note=got.history_note)

    def production(self, o: Objective, rules) -> str | None:
        return BASELINE_ONLY

    def judge(self, o: Objective, m: Measurement) -> ObjectiveResult:
        if o.runs is not None:
            value = per_second(m.count, m.duration) if m.count is not None and m.duration else None
            return judge_history(o, m, value, "throughput", lambda v: f"{v:.2f}/s")
        if m.baseline is None or not m.baseline > 0:
            return result(o, m, INCONCLUSIVE, None, "the baseline has no throughput for this phase", NO_BASELINE)
        return judge_throughput(o, m, m.baseline * (1 - o.limit), extra={"baseline": m.baseline})
