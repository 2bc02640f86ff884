"""`cold_start: {time_to_ready: 30s, first_request: {max: 3s, source: server}}`: a fresh
server's start, judged apart from everything else.

- time to ready: process start to ready. From the server's ready timestamp where its metrics have
  one (`source: server`), else from the gate's readiness probe (`source: loadgen`, in run.json);
- first request: the first request after the start, as the load generator saw it (or the
  server's own gauge).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sla.analysis.verdict import FAIL, INCONCLUSIVE, PASS, Measurement, ObjectiveResult
from sla.objectives.base import Kind, Objective, ParseContext, Run, limit, result
from sla.units import format_duration, parse_duration
from sla.validation import positive

if TYPE_CHECKING:
    from sla.targets.metrics import MetricsMapping


class _ColdStart(Kind):
    section = "cold_start"
    bucket_limit = True
    what = ""

    def parse(self, ctx: ParseContext) -> list[Objective]:
        doc = ctx.doc
        if self.key not in doc:
            return []
        got = limit(ctx.reader, doc, "cold_start", self.key, positive(parse_duration), "max", "a positive duration such as 3s")
        if not got:
            return []
        source = got[1] if isinstance(doc[self.key], dict) and "source" in doc[self.key] else self.default_source(ctx.mapping)
        return [Objective(f"cold_start.{self.key}", self.names[0], None, source, got[0], where=f"cold_start.{self.key}")]

    def default_source(self, mapping: "MetricsMapping | None") -> str:
        return "loadgen"

    def figure(self, source):
        raise NotImplementedError

    def measure(self, o: Objective, run: Run, w) -> Measurement:
        got = self.figure(run.source(o.source))
        if got.why_not:
            return Measurement("", validity=(got.why_not,))
        return Measurement(got.promql, value=got.value)

    def judge(self, o: Objective, m: Measurement) -> ObjectiveResult:
        value = m.value
        if value is None or not value > 0 or value == float("inf"):
            return result(o, m, INCONCLUSIVE, None, "no value recorded (no series, or 0: the event did not happen while scraped)",
                          "start the server fresh with the run (a scenario with target.fresh: true, or without --host)")
        detail = f"{self.what} {format_duration(value)}"
        if value <= o.limit:
            return result(o, m, PASS, value, detail, samples=1)
        return result(o, m, FAIL, value, f"{detail}, over {format_duration(o.limit)}",
                      "warm the models up before ready (--warmup on), load them earlier, or keep a replica warm", samples=1)


class TimeToReady(_ColdStart):
    names = ("time_to_ready",)
    key = "time_to_ready"
    description = "maximum, e.g. 30s"
    what = "time to ready"

    def default_source(self, mapping: "MetricsMapping | None") -> str:
        """The server's own ready timestamp where it has one, else the gate's readiness probe."""
        return "server" if mapping is not None and mapping.ready_timestamp else "loadgen"

    def figure(self, source):
        return source.time_to_ready()

    def production(self, o: Objective, rules) -> str | None:
        return rules.time_to_ready(o)

    def server_problem(self, o: Objective, mapping) -> str | None:
        return None if mapping.ready_timestamp else f"the {mapping.name} metrics have no ready timestamp"


class FirstRequest(_ColdStart):
    names = ("first_request",)
    key = "first_request"
    description = "maximum, e.g. 3s"
    what = "first request"

    def figure(self, source):
        return source.first_request()

    def production(self, o: Objective, rules) -> str | None:
        return rules.first_request(o)

    def server_problem(self, o: Objective, mapping) -> str | None:
        return None if mapping.first_request_gauge else f"the {mapping.name} metrics have no first-request gauge"
