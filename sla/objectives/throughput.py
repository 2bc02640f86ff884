"""`throughput: 5/s`: successful requests per second over the phase, at or over a minimum.

Over the planned duration in arrival-rate phases (the rate asked is the rate judged), else over
the phase as executed."""

from __future__ import annotations

from sla.analysis.stats import per_second
from sla.analysis.verdict import FAIL, INCONCLUSIVE, PASS, Measurement, ObjectiveResult
from sla.objectives.base import Kind, Objective, ParseContext, Run, limit, result
from sla.units import parse_rate
from sla.validation import positive


class Throughput(Kind):
    names = ("throughput",)
    panel = "Successful requests/s (SLA floor as a line)"
    key = "throughput"
    description = "minimum successful requests/s, e.g. 120/s"
    unit = "/s"
    direction = "min"

    def parse(self, ctx: ParseContext) -> list[Objective]:
        if "throughput" not in ctx.doc:
            return []
        got = limit(ctx.reader, ctx.doc, ctx.path, "throughput", positive(parse_rate), "min", "a positive rate such as 120/s")
        return [Objective(f"{ctx.phase}.throughput", "throughput", ctx.phase, got[1], got[0], where=f"{ctx.path}.throughput")] if got else []

    def measure(self, o: Objective, run: Run, w) -> Measurement:
        return measure_successes(o, run, w)

    def judge(self, o: Objective, m: Measurement) -> ObjectiveResult:
        return judge_throughput(o, m, o.limit)

    def production(self, o: Objective, rules) -> str | None:
        return rules.throughput(o)

    def server_problem(self, o: Objective, mapping) -> str | None:
        return None if mapping.requests_counter else f"the {mapping.name} metrics have no request counter"


def measure_successes(o: Objective, run: Run, w) -> Measurement:
    counts = run.source(o.source).outcomes(w)
    if counts is None:
        return Measurement("", duration=run.duration(w))
    return Measurement(counts.promql, count=counts.success, duration=run.duration(w))


def judge_throughput(o: Objective, m: Measurement, lim: float, extra: dict | None = None) -> ObjectiveResult:
    extra = extra or {}
    if m.count is None or not m.duration or m.duration <= 0:
        return result(o, m, INCONCLUSIVE, None, "no request count for the window", "check that Prometheus scraped the target", limit=lim, extra=extra)
    value = per_second(m.count, m.duration)
    assert value is not None  # the duration is positive
    detail = f"{m.count:.0f} successful requests in {m.duration:.1f} s = {value:.2f}/s"
    if value >= lim:
        return result(o, m, PASS, value, detail, limit=lim, samples=m.count, extra=extra)
    return result(o, m, FAIL, value, f"{detail}, under {lim:.2f}/s",
                  "the phase did not reach the throughput: more users (or a higher arrival rate), or the server is saturated",
                  limit=lim, samples=m.count, extra=extra)
