"""The `promtool test rules` cases of the generated alerts: for each alert, series on which it must
fire and near misses on which it must not (sla/alerts/promtool.py runs them). The series are the
service's own metrics, with label values its mapping's matchers accept."""

from __future__ import annotations

import math
import re
from typing import TYPE_CHECKING

from prometheus_client.utils import floatToGoString

from sla.analysis.promql import named, series

from sla.alerts.model import AlertOptions, Case, Rule

if TYPE_CHECKING:
    from sla.objectives import Objective
    from sla.slafile import SlaSpec
    from sla.targets.metrics import MetricsMapping

CASE_REQUESTS = 100.0  # requests per test interval in the generated promtool cases
INSTANCE = "replica-1:8000"  # the instance label of the generated promtool cases


def _example_labels(spec: str) -> dict[str, str]:
    """Label values that satisfy a mapping series' own matchers (for the promtool cases)."""
    out = {}
    for name, op, value in re.findall(r'(\w+)\s*(=~|!=|!~|=)\s*"((?:[^"\\]|\\.)*)"', spec.partition("{")[2]):
        if op == "=":
            out[name] = value
        elif op == "=~":
            guess = re.sub(r"\.\*", "", re.sub(r"\.\+", "x", value)).replace("\\", "")
            if not re.fullmatch(value, guess):
                raise ValueError(f"cannot make a test label value matching {name}=~{value!r} in {spec}")
            out[name] = guess
        else:
            out[name] = "zz-other"
    return out


def _equality_labels(selector: str) -> dict[str, str]:
    """The labels `absent()` gives its result: the selector's equality matchers."""
    return dict(re.findall(r'(\w+)="((?:[^"\\]|\\.)*)"', selector))


def counter(segments: list[tuple[float, int]]) -> str:
    """promtool's values notation of a counter from 0 that grows by `inc` per interval for `n`
    intervals, segment after segment."""
    value, parts = 0.0, []
    for i, (inc, n) in enumerate(segments):
        first = value if i == 0 else value + inc
        parts.append(f"{first:g}+{inc:g}x{n if i == 0 else n - 1}")
        value += inc * n
    return " ".join(parts)


Segments = list[tuple[float, int]]  # (share of bad requests, intervals)


class CaseSeries:
    """The case-making half of the rules builder (sla/alerts/rules.py's RuleBuilder)."""

    sla: "SlaSpec"
    m: "MetricsMapping"
    opt: "AlertOptions"

    # -- promtool cases ---------------------------------------------------------------------------
    def _job_labels(self, **more: str) -> dict[str, str]:
        return {"job": self.opt.job, **more}

    def case_series(self, spec: str, suffix: str = "", **labels: str) -> str:
        """A series of a promtool case: the mapping's metric with label values its own matchers
        accept, on the job and the cases' instance."""
        return series(spec.partition("{")[0], suffix, **_example_labels(spec), **self._job_labels(instance=INSTANCE), **labels)

    def _case_interval(self) -> float:
        return max(self.opt.window_s / 5, 1.0)

    def _steps(self, until_s: float, interval_s: float) -> int:
        return int(math.ceil(until_s / interval_s)) + 2

    def _threshold_cases(self, rule: Rule, series_for, over: float, under: float, labels: dict[str, str], quiet_what: str) -> None:
        """Cases of a threshold alert: firing once over the limit for longer than `for`; quiet at a
        near miss; not firing yet before `for` has passed."""
        ti = self._case_interval()
        settle = self.opt.window_s + rule.for_s + 2 * ti
        steps = self._steps(settle, ti)
        rule.cases += [Case("over the limit for longer than `for`: fires", ti, series_for([(over, steps)]), settle,
                            {**labels, **rule.labels}),
                       Case(quiet_what, ti, series_for([(under, steps)]), settle, None)]
        if rule.for_s >= 2 * ti:
            rule.cases.append(Case("over the limit, `for` not yet passed: does not fire yet", ti, series_for([(over, steps)]),
                                   rule.for_s, None))

    def histogram_series(self, spec: str, bounds: list[float], segments: list[tuple[tuple[float, ...], int]],
                         **labels: str) -> list[tuple[str, str]]:
        """A histogram growing by CASE_REQUESTS requests per interval: per segment, the cumulative
        shares under each of `bounds` (seconds), for that many intervals."""
        out = []
        for i, bound in enumerate([*bounds, math.inf]):
            le = "+Inf" if math.isinf(bound) else floatToGoString(bound / self.m.unit)
            incs = [(CASE_REQUESTS * (shares[i] if i < len(bounds) else 1.0), n) for shares, n in segments]
            out.append((self.case_series(spec, "_bucket", **labels, le=le), counter(incs)))
        out.append((self.case_series(spec, "_count", **labels), counter([(CASE_REQUESTS, n) for _, n in segments])))
        out.append((self.case_series(spec, "_sum", **labels), counter([(CASE_REQUESTS * bounds[0] / self.m.unit, n) for _, n in segments])))
        return out

    def outcome_series(self, segments: Segments, per_interval: float = CASE_REQUESTS) -> list[tuple[str, str]]:
        """Request counters growing by `per_interval` per interval, a share of them failing."""
        m, requests = self.m, named(self.m.requests_counter)
        good = counter([(per_interval * (1 - bad), n) for bad, n in segments])
        failed = counter([(per_interval * bad, n) for bad, n in segments])
        if m.status_label:
            failing = "500" if "500" not in m.success_values else "599"
            return [(self.case_series(requests, **{m.status_label: m.success_values[0]}), good),
                    (self.case_series(requests, **{m.status_label: failing}), failed)]
        return [(self.case_series(requests), good), (self.case_series(named(m.failures_counter)), failed)]

    def _burn_cases(self, o: Objective, clauses, budget: float, series_for, rule: Rule) -> list[Case]:
        """A steady burn just over and just under the smallest factor. For pages also the fast
        clause alone (an hour at 20x after five good ones: the 6h window stays under 6x), and a
        5-minute burst that ends two hours in, which burns the short windows only.

        Series every minute (5-minute windows need two samples); the rules evaluated every hour, each
        case judged on the hour. A burn alert has no `for`, so what it says at a time depends on the
        series alone, not on how often it was evaluated before: every 5 minutes, the cases took
        promtool 12 times as long (minutes per shipped SLA file on a slow CPU) for the same verdicts."""
        ti, step = 60.0, 3600.0
        lowest = min(f for f, _, _ in clauses)
        until = 6 * 3600  # the long windows read what data there is
        steps = self._steps(until, ti)
        fired = {**self._job_labels(sla=self.sla.name), **rule.labels}
        cases = [Case(f"{lowest:g}x the budget burning: fires", ti, series_for([(min(1.0, 1.2 * lowest * budget), steps)]), until,
                      fired, step),
                 Case(f"just under {lowest:g}x the budget: does not fire", ti, series_for([(0.9 * lowest * budget, steps)]), until,
                      None, step)]
        factors = {f for f, _, _ in clauses}
        if rule.labels["severity"] == "page" and factors == {14.4, 6.0} and 20 * budget <= 1:
            cases.append(Case("an hour at 20x after five good hours (the 14.4x clause alone): fires", ti,
                              series_for([(0.0, 300), (20 * budget, 60), (0.0, steps - 360)]), 6 * 3600, fired, step))
        if rule.labels["severity"] == "page":
            quiet = 115
            cases.append(Case("a 5-minute burst after 115 good minutes (short windows burn, long ones do not): does not fire", ti,
                              series_for([(0.0, quiet), (min(1.0, 100 * budget), 5), (0.0, steps - quiet - 5)]), (quiet + 5) * ti,
                              None, step))
        return cases
