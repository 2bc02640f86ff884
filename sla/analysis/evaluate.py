"""Judging objectives (pure: no clock, no network). Measurement in, result out; each kind judges
its own (sla/objectives/), this module adds what holds for every kind."""

from __future__ import annotations

from sla.analysis.verdict import FAIL, INCONCLUSIVE, Measurement, ObjectiveResult
from sla.objectives.base import result
from sla.objectives import Objective


def evaluate(o: Objective, m: Measurement) -> ObjectiveResult:
    """Judge one objective. Evidence problems (scrape gaps, restarts) make it INCONCLUSIVE. When
    the load generator did not deliver the load asked, a PASS is not earned (INCONCLUSIVE), but a
    FAIL stands where the kind says the shortfall cannot explain it."""
    if m.validity:
        return result(o, m, INCONCLUSIVE, None, "; ".join(m.validity), "fix the cause and run again; evidence with gaps is not judged")
    kind = o.kind_of
    judged = kind.judge(o, m)
    if not m.delivery:
        return judged
    if judged.verdict == FAIL and kind.stands_despite_shortfall(o, m, judged):
        return judged
    judged.verdict, judged.detail = INCONCLUSIVE, f"{'; '.join(m.delivery)} [measured: {judged.detail}]"
    judged.recommendation = "give the load generator more CPU (sla run --processes N, or another machine), or ask a lower rate"
    return judged


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
