"""`shed: 85%`: the share of requests the service refused with 503 or 429 and Retry-After (load
shedding, the target API's rule), at or under a maximum. Read from the load generator only."""

from __future__ import annotations

from sla.analysis.sources import Outcomes
from sla.objectives.base import Objective, ParseContext
from sla.objectives.error_rate import ErrorRate


class Shed(ErrorRate):
    names = ("shed_rate",)
    counts_failures = False  # refusals the server counts as shed, not failures
    key = "shed"
    description = "maximum share of requests shed (503 or 429 with Retry-After), e.g. 85%; error_rate then counts the other failures"
    what = "shed (503/429 with Retry-After)"
    example = "85%"

    def excludes_shed(self, ctx: ParseContext) -> bool:
        return False

    def counted(self, o: Objective, counts: Outcomes) -> float:
        return counts.shed

    def production(self, o: Objective, rules) -> str | None:
        return "the shed share is judged under a test's overload; in production the error-ratio alerts count shed requests as failures"

    def server_problem(self, o: Objective, mapping) -> str | None:
        return "shed_rate is read from the load generator only (source: loadgen)"

    def stands_despite_shortfall(self, o, m, judged) -> bool:
        return False
