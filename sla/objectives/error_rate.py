"""`error_rate: 1%`: the share of failed requests, at or under a maximum. In a phase that also
has a `shed` objective it counts only the failures other than shedding."""

from __future__ import annotations

from sla.analysis.sources import Outcomes
from sla.analysis.stats import min_samples, share
from sla.analysis.verdict import FAIL, INCONCLUSIVE, PASS, Measurement, ObjectiveResult
from sla.objectives.base import Kind, Objective, ParseContext, Run, fraction, limit, result


class ErrorRate(Kind):
    names = ("error_rate",)
    panel = "Error ratio (SLA limit as a line)"
    key = "error_rate"
    description = "maximum share of failures, e.g. 0.1%"
    unit = "fraction"
    what = "failed"  # for the detail
    counts_failures = True
    example = "0.1%"

    def parse(self, ctx: ParseContext) -> list[Objective]:
        if self.key not in ctx.doc:
            return []
        got = limit(ctx.reader, ctx.doc, ctx.path, self.key, fraction, "max", f"a percentage such as {self.example}")
        if not got:
            return []
        return [Objective(f"{ctx.phase}.{self.key}", self.names[0], ctx.phase, got[1], got[0], excludes_shed=self.excludes_shed(ctx),
                          where=f"{ctx.path}.{self.key}")]

    def excludes_shed(self, ctx: ParseContext) -> bool:
        return "shed" in ctx.doc

    def counted(self, o: Objective, counts: Outcomes) -> float:
        return counts.failed(excluding_shed=o.excludes_shed)

    def measure(self, o: Objective, run: Run, w) -> Measurement:
        counts = run.source(o.source).outcomes(w)
        if counts is None:
            return Measurement("")
        return Measurement(counts.promql, count=counts.total, failures=self.counted(o, counts))

    def judge(self, o: Objective, m: Measurement) -> ObjectiveResult:
        n, k = m.count or 0.0, m.failures or 0.0
        if n <= 0:
            return result(o, m, INCONCLUSIVE, None, "no requests in the window", "check that Prometheus scraped the target", samples=0)
        rate = share(k, n)
        assert rate is not None  # n > 0
        what = self.what + (" other than shed" if o.excludes_shed else "")
        detail = f"{k:.0f} {what} of {n:.0f} = {rate * 100:.3f}%"
        if rate > o.limit:
            return result(o, m, FAIL, rate, f"{detail}, over {o.limit * 100:g}%",
                          "look at the failure messages (locust_failures.csv in the run directory) and the server log", samples=n)
        need = min_samples(1.0 - o.limit, int(k)) if 0 < o.limit < 1 else 0
        if n < need:
            return result(o, m, INCONCLUSIVE, rate, f"{detail}: an error rate <= {o.limit * 100:g}% claim needs at least {need} requests",
                          f"run the phase longer: {need - n:.0f} more requests", samples=n)
        return result(o, m, PASS, rate, detail, samples=n)

    def needs(self, o: Objective) -> int:
        return min_samples(1.0 - o.limit, 0) if 0 < o.limit < 1 else 0

    def production(self, o: Objective, rules) -> str | None:
        return rules.error_ratio(o)

    def server_problem(self, o: Objective, mapping) -> str | None:
        if mapping.failures:
            return None
        return f"the {mapping.name} metrics count no failed requests" + (
            " (their request counter counts successes only)" if mapping.requests_counter else " (no request counter)")

    def stands_despite_shortfall(self, o: Objective, m: Measurement, judged: ObjectiveResult) -> bool:
        """Failed requests are failures whatever the load."""
        judged.detail += f" (a FAIL although {'; '.join(m.delivery)})"
        return True
