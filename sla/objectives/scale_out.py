"""`scale_out: {window: 20s, p95: 1s, error_rate: 1%, time_to_ready: 10s, first_request: 1s}` in a
phase with `scale_to`: the scale event at its start, judged as users and the new replicas saw it.

- users' percentile and error rate over `window` after the event (the load generator's counters'
  difference at its two edges), from the intended send time in arrival-rate phases;
- each new replica's time to ready (its start to its own readiness endpoint answering, from the
  gate's probe in run.json) and its first request (its own first-request gauge), the worst one;
- how long until the percentile is back under its limit is `recovers` in the same phase
  (sla/objectives/recovery.py): the event is at the phase's start.
"""

from __future__ import annotations

from sla.analysis import promql
from sla.processes import LOOPBACK
from sla.analysis.verdict import FAIL, INCONCLUSIVE, PASS, Measurement, ObjectiveResult
from sla.objectives.base import AnyPercentile, Kind, Objective, ParseContext, Run, checked_percentile, fraction, pct_id, result
from sla.objectives.error_rate import ErrorRate
from sla.objectives.latency import Latency, judge_percentile
from sla.units import format_duration, parse_duration
from sla.validation import positive

KEY = "scale_out"
DESCRIPTION = "the scale event at the phase's start: {window: 20s, p95: 1s, error_rate: 1%, time_to_ready: 10s, first_request: 1s}"
NAMED = {"window": "how long after the event users are judged, e.g. 20s", "error_rate": "maximum share of failures in the window",
         "time_to_ready": "each new replica, e.g. 10s", "first_request": "each new replica's first request, e.g. 1s"}
SUB_KEYS = AnyPercentile(NAMED)
NO_EVENT = "no scale event in this phase (run.json server.replicas.scale_events): give the phase scale_to and let the gate start the replicas"


def _doc(ctx: ParseContext) -> dict:
    return ctx.doc[KEY] if isinstance(ctx.doc.get(KEY), dict) else {}


def _window(ctx: ParseContext) -> float | None:
    return ctx.reader.get(_doc(ctx), f"{ctx.path}.{KEY}", "window", positive(parse_duration), "a duration such as 20s", 20.0)


def scale_event(run: Run, phase: str | None) -> dict | None:
    manifest = run.manifest
    events = ((manifest.server or {}).get("replicas") or {}).get("scale_events") or []
    return next((e for e in events if e.get("phase") == phase), None)


class _AtScaleEvent:
    """What the scale-event kinds share: each measures from the event at its phase's start."""

    def measure(self, o: Objective, run: Run, w) -> Measurement:
        event = scale_event(run, o.phase)
        if event is None:
            return Measurement("", validity=(NO_EVENT,))
        return self.measure_event(o, run, w, event)

    def measure_event(self, o: Objective, run: Run, w, event: dict) -> Measurement:
        raise NotImplementedError


def _after_event(o: Objective, judged: ObjectiveResult) -> ObjectiveResult:
    judged.detail = f"in the {format_duration(o.threshold or 0.0)} after the scale event: {judged.detail}"
    return judged


class ScaleLatency(_AtScaleEvent, Latency):
    names = ("scale_latency",)
    key = KEY
    description = DESCRIPTION
    cross_checked = False

    def parse(self, ctx: ParseContext) -> list[Objective]:
        if KEY not in ctx.doc:
            return []
        path = f"{ctx.path}.{KEY}"
        doc = ctx.reader.mapping(ctx.doc[KEY], path, SUB_KEYS)  # the other scale kinds read the rest
        window = _window(ctx)
        out = []
        for key in doc:
            pct = checked_percentile(ctx.reader, f"{path}.{key}", key) if key not in NAMED else None
            lim = ctx.reader.get(doc, path, key, positive(parse_duration), "a positive duration such as 1s") if pct else None
            if pct is not None and lim is not None and window is not None:
                out.append(Objective(f"{ctx.phase}.{KEY}.{pct_id(pct)}", self.names[0], ctx.phase, "loadgen", lim, pct, threshold=window,
                                     where=f"{path}.{key}"))
        return out

    def measure_event(self, o: Objective, run: Run, w, event: dict) -> Measurement:
        q, buckets = run.loadgen.buckets_between(w, event["at"], event["at"] + (o.threshold or 0.0))
        return Measurement(q, buckets=buckets)

    def judge(self, o: Objective, m: Measurement) -> ObjectiveResult:
        return _after_event(o, judge_percentile(o, m, o.limit))

    def server_problem(self, o: Objective, mapping) -> str | None:
        return "judged from what users saw (the load generator)"

    def production(self, o: Objective, rules) -> str | None:
        return "a scale event in a test run; in production the latency alerts see a cold replica's requests"


class ScaleErrors(_AtScaleEvent, ErrorRate):
    names = ("scale_error_rate",)
    key = KEY
    description = DESCRIPTION

    def parse(self, ctx: ParseContext) -> list[Objective]:
        doc = _doc(ctx)
        if "error_rate" not in doc:
            return []
        window = _window(ctx)
        if window is None:
            return []
        got = ctx.reader.get(doc, f"{ctx.path}.{KEY}", "error_rate", fraction, "a percentage such as 1%")
        return [] if got is None else [Objective(f"{ctx.phase}.{KEY}.error_rate", self.names[0], ctx.phase, "loadgen", got,
                                                 threshold=window, where=f"{ctx.path}.{KEY}.error_rate")]

    def measure_event(self, o: Objective, run: Run, w, event: dict) -> Measurement:
        counts = run.loadgen.outcomes_between(w, event["at"], event["at"] + (o.threshold or 0.0))
        if counts is None:
            return Measurement("")
        return Measurement(counts.promql, count=counts.total, failures=counts.failed(excluding_shed=False))

    def judge(self, o: Objective, m: Measurement) -> ObjectiveResult:
        return _after_event(o, super().judge(o, m))

    def server_problem(self, o: Objective, mapping) -> str | None:
        return "judged from what users saw (the load generator)"

    def production(self, o: Objective, rules) -> str | None:
        return "a scale event in a test run; in production the error-ratio alerts count its failures"


class _NewReplicas(_AtScaleEvent, Kind):
    key = KEY
    description = DESCRIPTION
    bucket_limit = False
    sub = ""
    what = ""

    def parse(self, ctx: ParseContext) -> list[Objective]:
        doc = _doc(ctx)
        if self.sub not in doc:
            return []
        got = ctx.reader.get(doc, f"{ctx.path}.{KEY}", self.sub, positive(parse_duration), "a positive duration such as 10s")
        return [] if got is None else [Objective(f"{ctx.phase}.{KEY}.{self.sub}", self.names[0], ctx.phase, "loadgen", got,
                                                 where=f"{ctx.path}.{KEY}.{self.sub}")]

    def figures(self, run: Run, event: dict) -> tuple[str, list[tuple[str, float | None]]]:
        raise NotImplementedError

    def measure_event(self, o: Objective, run: Run, w, event: dict) -> Measurement:
        if not event.get("added"):
            return Measurement("", validity=(f"the scale event of phase {o.phase} added no replica (it scaled down)",))
        q, figures = self.figures(run, event)
        return Measurement(q, figures=dict(figures))

    def judge(self, o: Objective, m: Measurement) -> ObjectiveResult:
        figures = m.figures or {}
        missing = [name for name, v in figures.items() if v is None]
        shown = ", ".join(f"{name} {format_duration(v) if v is not None else 'none'}" for name, v in figures.items())
        extra = {"replicas": figures}
        if missing and self.sub == "time_to_ready":
            return result(o, m, FAIL, None, f"{self.what} of the new replicas: {shown}; {', '.join(missing)} never got ready",
                          "look at the new replica's log (server-rN.log in the run directory)", extra=extra)
        if missing:
            return result(o, m, INCONCLUSIVE, None, f"{self.what} of the new replicas: {shown}",
                          "a replica that served no request has no first request; lengthen the phase", extra=extra)
        worst = max(v for v in figures.values() if v is not None)
        detail = f"{self.what} of the new replicas: {shown}"
        if worst <= o.limit:
            return result(o, m, PASS, worst, detail, samples=len(figures), extra=extra)
        return result(o, m, FAIL, worst, f"{detail}; over {format_duration(o.limit)}",
                      "warm the models up before ready (--warmup on) and route only ready replicas (target.routing: ready)",
                      samples=len(figures), extra=extra)

    def server_problem(self, o: Objective, mapping) -> str | None:
        return None

    def production(self, o: Objective, rules) -> str | None:
        return "a scale event in a test run; in production ColdStartSlow and FirstRequestSlow cover each replica"


class ScaleTimeToReady(_NewReplicas):
    names = ("scale_time_to_ready",)
    sub = "time_to_ready"
    what = "time to ready"

    def figures(self, run: Run, event: dict):
        return ("(not PromQL) run.json: server.replicas.scale_events[].added[].ready - start, from the gate's probe of each replica",
                [(a["replica"], a["ready"] - a["start"] if a.get("ready") else None) for a in event["added"]])


class ScaleFirstRequest(_NewReplicas):
    names = ("scale_first_request",)
    sub = "first_request"
    what = "first request"

    def figures(self, run: Run, event: dict):
        source = run.server
        gauge = source.metrics.first_request_gauge if source.metrics else None
        if gauge is None:
            return "", [(a["replica"], None) for a in event["added"]]
        queries, out = [], []
        for a in event["added"]:
            # over the time since it started: a replica scaled down later is no longer scraped at the end
            span = promql.window_seconds(a["start"], source.final)
            selector = promql.series(gauge, instance=f"{LOOPBACK}:{a['port']}")
            q = f"max(max_over_time({selector}[{span}s] @ {source.final:.3f}))"
            queries.append(q)
            value = source.reader.scalar(q)
            out.append((a["replica"], value if value else None))
        return "\n".join(queries), out
