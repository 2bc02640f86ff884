"""`stages: {det: {p99: 300ms}}`: a percentile of one pipeline stage, from the server's stage
histogram (its names and stages come from the target's server metrics mapping)."""

from __future__ import annotations

from sla.objectives.base import AnyPercentile, Objective, ParseContext, checked_percentile, pct_id
from sla.objectives.latency import Latency
from sla.units import parse_duration
from sla.validation import positive


class StageLatency(Latency):
    """Measured and judged like `latency`, from the server's stage histogram."""

    names = ("stage_latency",)
    panel = "Stage latency (SLA limits as lines)"
    key = "stages"
    description = "server stage -> percentile -> maximum"
    cross_checked = False  # a stage is a part of the request: nothing on the client to compare with
    request_latency = False

    def parse(self, ctx: ParseContext) -> list[Objective]:
        path = f"{ctx.path}.stages"
        stages = ctx.reader.mapping(ctx.doc.get("stages") or {}, path, {s: "server stage" for s in ctx.stage_names})
        out = []
        for stage, per in stages.items():
            if stage not in ctx.stage_names:
                continue
            per = ctx.reader.mapping(per, f"{path}.{stage}", AnyPercentile())
            for key in per:
                pct = checked_percentile(ctx.reader, f"{path}.{stage}.{key}", key)
                lim = ctx.reader.get(per, f"{path}.{stage}", key, positive(parse_duration), "a positive duration such as 50ms")
                if pct is not None and lim is not None:
                    out.append(Objective(f"{ctx.phase}.stage.{stage}.{pct_id(pct)}", "stage_latency", ctx.phase, "server", lim,
                                         pct, stage, where=f"{path}.{stage}.{key}"))
        return out

    def production(self, o: Objective, rules) -> str | None:
        return rules.percentile(o, o.stage)

    def server_problem(self, o: Objective, mapping) -> str | None:
        if mapping.stage_histogram is None:
            return f"the {mapping.name} metrics have no stage histogram"
        if o.stage not in mapping.stages:
            return f"the {mapping.name} metrics have no stage {o.stage!r}; their stages: {', '.join(mapping.stages)}"
        return None
