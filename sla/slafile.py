"""SLA files (`sla/thresholds/*.yaml`): objectives per phase, cold start, and baseline growth.

    name: ocr-reference
    phases:
      steady:                            # a phase name of the scenario
        latency:                         # percentiles p50 p90 p95 p99 p99.9 ... (maximum)
          p50: 400ms
          p99: {max: 1.5s, source: server}   # source: loadgen (what users saw, default) or server
        throughput: 5/s                  # minimum successful requests/s over the phase
        error_rate: 1%                   # maximum share of failed requests
        stages: {det: {p99: 300ms}}      # server stage histograms
        baseline: {p99: 10%, throughput: 10%}   # vs --baseline: P99 may grow <= 10 %, QPS drop <= 10 %
        at_rate: 120/s                   # judged only if the generator delivered this arrival rate
    generator: {max_lag_p99: 50ms, min_achieved: 95%}   # when the load counts as delivered
    cold_start:
      time_to_ready: 30s                 # server process start to ready (the server's ready timestamp where
                                         # its metrics have one, else the gate's readiness probe: source loadgen)
      first_request: 3s                  # first request after start ({max: .., source: server})
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sla.targets import TargetApi
from sla.targets.reference import REFERENCE
from sla.units import parse_duration, parse_percent, parse_rate
from sla.validation import NAME_RULE, Reader, is_safe_name, load_yaml, positive, text

SOURCES = ("loadgen", "server")
PERCENTILE_KEY = re.compile(r"^p(\d+(?:\.\d+)?)$")
TOP_KEYS = {
    "name": "SLA name", "description": "what it promises", "phases": "objectives per phase",
    "cold_start": "cold-start objectives", "generator": "when the load generator counts as having delivered",
}
GENERATOR_KEYS = {
    "max_lag_p99": "largest P99 lag behind the arrival clock, e.g. 50ms",
    "min_achieved": "smallest share of the asked arrivals actually sent, e.g. 95%",
}
DEFAULT_MAX_LAG_P99 = 0.05
DEFAULT_MIN_ACHIEVED = 0.95
PHASE_KEYS = {
    "at_rate": "the arrival rate the objectives must hold at, e.g. 120/s (an arrival_rate phase)",
    "latency": "percentile -> maximum, e.g. p99: 150ms",
    "throughput": "minimum successful requests/s, e.g. 120/s",
    "error_rate": "maximum share of failures, e.g. 0.1%",
    "stages": "server stage -> percentile -> maximum",
    "baseline": "allowed change against --baseline: pXX growth, throughput drop, e.g. p99: 10%",
    "shed": "maximum share of requests shed (503 or 429 with Retry-After), e.g. 85%; error_rate then counts the other failures",
    "recovers": "how fast latency comes back in this phase, e.g. {p99: 1s, within: 15s} (windows of 5 s)",
}
RECOVERY_WINDOW_S = 5.0
COLD_KEYS = {"time_to_ready": "maximum, e.g. 30s", "first_request": "maximum, e.g. 3s"}
# Kinds and whether the measured value must stay at or under ("max") or at or over ("min") the limit.
DIRECTIONS = {
    "latency": "max", "stage_latency": "max", "error_rate": "max", "throughput": "min",
    "baseline_latency": "max", "baseline_throughput": "min", "time_to_ready": "max", "first_request": "max",
    "shed_rate": "max", "recovery": "max",
}


@dataclass(frozen=True)
class Objective:
    id: str  # e.g. steady.latency.p99, steady.stage.det.p99, cold_start.first_request
    kind: str
    phase: str | None  # None for cold-start objectives
    source: str  # loadgen or server
    limit: float  # seconds, requests/s, or a fraction (error rate, baseline change)
    percentile: float | None = None  # 99.0 for p99
    stage: str | None = None
    threshold: float | None = None  # recovery: the latency (s) the percentile must come back under
    excludes_shed: bool = False  # error_rate in a phase with a shed objective: the other failures

    @property
    def direction(self) -> str:
        return DIRECTIONS[self.kind]


@dataclass(frozen=True)
class SlaSpec:
    path: Path
    sha256: str
    name: str
    objectives: tuple[Objective, ...]
    at_rate: dict[str, float] = field(default_factory=dict)  # phase -> requests/s it must be judged at
    max_lag_p99: float = DEFAULT_MAX_LAG_P99
    min_achieved: float = DEFAULT_MIN_ACHIEVED

    def thresholds_s(self) -> list[float]:
        """Every latency limit in seconds: to become a histogram bucket boundary."""
        kinds = ("latency", "stage_latency", "first_request", "time_to_ready")
        return sorted({o.limit for o in self.objectives if o.kind in kinds} | {o.threshold for o in self.objectives if o.threshold})

    @property
    def baseline_objectives(self) -> list[Objective]:
        return [o for o in self.objectives if o.kind.startswith("baseline_")]


def _percentile(key: str) -> float:
    match = PERCENTILE_KEY.match(str(key))
    value = float(match.group(1)) if match else None
    if value is None or not 0 < value < 100:
        raise ValueError(f"{key!r} is not a percentile; write p50, p90, p95, p99, p99.9 (between 0 and 100)")
    return value


def _pct_id(value: float) -> str:
    return f"p{value:g}"


def _limit(reader: Reader, doc: dict, path: str, key: str, convert, bound: str, expected: str) -> tuple[float, str] | None:
    """A limit written short (`p99: 150ms`) or long (`p99: {max: 150ms, source: server}`)."""
    value = doc[key]
    source = "loadgen"
    here = f"{path}.{key}" if path else key
    if isinstance(value, dict):
        reader.mapping(value, here, {bound: expected, "source": f"where it is read: {' or '.join(SOURCES)}"})
        source = value.get("source", "loadgen")
        if source not in SOURCES:
            reader.problem(f"{here}.source", f"{source!r} is not a source; accepted: {', '.join(SOURCES)}")
            source = "loadgen"
        limit = reader.get(value, here, bound, convert, expected)
    else:
        limit = reader.get(doc, path, key, convert, expected)
    return None if limit is None else (limit, source)


def _phase_objectives(reader: Reader, phase: str, doc: Any, stage_names: tuple[str, ...]) -> list[Objective]:
    path = f"phases.{phase}"
    doc = reader.mapping(doc, path, PHASE_KEYS)
    out: list[Objective] = []
    latency = reader.mapping(doc.get("latency") or {}, f"{path}.latency", _AnyPercentile())
    for key in latency:
        pct = _checked_percentile(reader, f"{path}.latency.{key}", key)
        got = _limit(reader, latency, f"{path}.latency", key, positive(parse_duration), "max", "a positive duration such as 150ms")
        if pct is not None and got:
            out.append(Objective(f"{phase}.latency.{_pct_id(pct)}", "latency", phase, got[1], got[0], pct))
    if "throughput" in doc:
        got = _limit(reader, doc, path, "throughput", positive(parse_rate), "min", "a positive rate such as 120/s")
        if got:
            out.append(Objective(f"{phase}.throughput", "throughput", phase, got[1], got[0]))
    if "error_rate" in doc:
        got = _limit(reader, doc, path, "error_rate", _fraction, "max", "a percentage such as 0.1%")
        if got:
            out.append(Objective(f"{phase}.error_rate", "error_rate", phase, got[1], got[0], excludes_shed="shed" in doc))
    if "shed" in doc:
        got = _limit(reader, doc, path, "shed", _fraction, "max", "a percentage such as 85%")
        if got:
            out.append(Objective(f"{phase}.shed", "shed_rate", phase, got[1], got[0]))
    if "recovers" in doc:
        out += _recovery(reader, doc["recovers"], f"{path}.recovers", phase)
    stages = reader.mapping(doc.get("stages") or {}, f"{path}.stages", {s: "server stage" for s in stage_names})
    for stage, per in stages.items():
        if stage not in stage_names:
            continue
        per = reader.mapping(per, f"{path}.stages.{stage}", _AnyPercentile())
        for key in per:
            pct = _checked_percentile(reader, f"{path}.stages.{stage}.{key}", key)
            limit = reader.get(per, f"{path}.stages.{stage}", key, positive(parse_duration), "a positive duration such as 50ms")
            if pct is not None and limit is not None:
                out.append(Objective(f"{phase}.stage.{stage}.{_pct_id(pct)}", "stage_latency", phase, "server", limit, pct, stage))
    baseline = reader.mapping(doc.get("baseline") or {}, f"{path}.baseline", _AnyPercentile(extra={"throughput": "allowed drop"}))
    for key in baseline:
        limit = reader.get(baseline, f"{path}.baseline", key, _fraction, "a percentage such as 10%")
        if key == "throughput":
            if limit is not None:
                out.append(Objective(f"{phase}.baseline.throughput", "baseline_throughput", phase, "loadgen", limit))
            continue
        pct = _checked_percentile(reader, f"{path}.baseline.{key}", key)
        if pct is not None and limit is not None:
            out.append(Objective(f"{phase}.baseline.{_pct_id(pct)}", "baseline_latency", phase, "loadgen", limit, pct))
    return out


def _recovery(reader: Reader, doc: Any, path: str, phase: str) -> list[Objective]:
    """`recovers: {p99: 1s, within: 15s}`: the P99 of each 5 s window of the phase is back at or
    under 1 s, for good, at most 15 s after the phase starts."""
    doc = reader.mapping(doc, path, _AnyPercentile(extra={"within": "how soon, e.g. 15s"}))
    within = reader.get(doc, path, "within", positive(parse_duration), "a duration such as 15s")
    keys = [k for k in doc if k != "within"]
    if len(keys) != 1:
        reader.problem(path, "give one percentile and its limit, e.g. {p99: 1s, within: 15s}")
        return []
    pct = _checked_percentile(reader, f"{path}.{keys[0]}", keys[0])
    threshold = reader.get(doc, path, keys[0], positive(parse_duration), "a positive duration such as 1s")
    if pct is None or threshold is None or within is None:
        return []
    return [Objective(f"{phase}.recovers.{_pct_id(pct)}", "recovery", phase, "loadgen", within, pct, threshold=threshold)]


class _AnyPercentile(dict):
    """Allowed keys for a percentile mapping: any pXX (checked separately), plus `extra`."""

    def __init__(self, extra: dict[str, str] | None = None) -> None:
        super().__init__({"pXX": "percentile such as p99", **(extra or {})})

    def __contains__(self, key: object) -> bool:
        return super().__contains__(key) or bool(PERCENTILE_KEY.match(str(key)))


def _checked_percentile(reader: Reader, path: str, key: str) -> float | None:
    if not PERCENTILE_KEY.match(str(key)):
        return None  # already reported as an unknown key
    try:
        return _percentile(key)
    except ValueError as exc:
        reader.problem(path, str(exc))
        return None


def _fraction(value: Any) -> float:
    fraction = parse_percent(value)
    if not 0 <= fraction <= 1:
        raise ValueError(f"{value!r} is outside 0% to 100%")
    return fraction


def key_path(o: Objective) -> str:
    """Where an objective is written in the SLA file, e.g. phases.steady.latency.p99."""
    if o.phase is None:
        return o.id
    rest = o.id[len(o.phase) + 1:]
    return f"phases.{o.phase}.{'stages.' + rest[len('stage.'):] if rest.startswith('stage.') else rest}"


def _check_server_sources(reader: Reader, objectives: list[Objective], api: TargetApi | type[TargetApi]) -> None:
    """Objectives read from server metrics need a target whose metrics mapping supports them."""
    mapping = api.server_metrics()
    for o in objectives:
        if o.source != "server":
            continue
        if mapping is None:
            reader.problem(key_path(o), f"source: server needs server metrics, and the {api.name} target API has none "
                           "(no metrics mapping); judge it from the load generator (source: loadgen)"
                           + ("" if o.kind == "stage_latency" else ", the default"))
        elif (why := mapping.supports(o.kind, o.stage)) is not None:
            reader.problem(key_path(o), f"source: server: {why}")


def load_sla(path: Path | str, phases: Mapping[str, float | None] | Iterable[str] | None = None, scenario_name: str = "",
             api: TargetApi | type[TargetApi] | None = None) -> SlaSpec:
    """Read and validate an SLA file. With `phases` (names, or name -> asked arrival rate), every
    phase it names must exist, and `at_rate` must name an arrival_rate phase asking that much.
    With the target's `api`, objectives read from server metrics must be ones its mapping supports."""
    rates = dict(phases) if isinstance(phases, Mapping) else ({n: None for n in phases} if phases is not None else None)
    path = Path(path)
    doc = load_yaml(path, "SLA")
    reader = Reader(path)
    doc = reader.mapping(doc, "", TOP_KEYS)
    name = reader.get(doc, "", "name", text, "an SLA name", path.stem)
    objectives: list[Objective] = []
    phases_doc = doc.get("phases") or {}
    if not isinstance(phases_doc, dict):
        reader.problem("phases", "expected a mapping of phase name to its objectives")
        phases_doc = {}
    known = list(rates) if rates is not None else None
    mapping = api.server_metrics() if api is not None else REFERENCE
    stage_names = (mapping or REFERENCE).stages  # without server metrics, stage objectives are refused below
    at_rate: dict[str, float] = {}
    for phase, per in phases_doc.items():
        if not is_safe_name(phase):
            reader.problem(f"phases.{phase}", f"{phase!r} is not a safe phase name ({NAME_RULE})")
            continue
        if known is not None and phase not in known:
            reader.problem(f"phases.{phase}", f"the scenario {scenario_name} has no phase {phase!r}; its phases: {', '.join(known)}")
            continue
        objectives += _phase_objectives(reader, str(phase), per, stage_names)
        if isinstance(per, dict) and "at_rate" in per:
            rate = reader.get(per, f"phases.{phase}", "at_rate", positive(parse_rate), "a positive rate such as 120/s")
            asked = rates.get(phase) if rates is not None else None
            if rate is not None and rates is not None and asked is None:
                reader.problem(f"phases.{phase}.at_rate", f"the scenario's phase {phase!r} is a closed-model (users) phase; at_rate needs an arrival_rate phase")
            elif rate is not None and asked is not None and asked < rate:
                reader.problem(f"phases.{phase}.at_rate", f"the scenario's phase {phase!r} asks {asked:g}/s, under the {rate:g}/s the SLA must hold at")
            if rate is not None:
                at_rate[str(phase)] = rate
    gen = reader.mapping(doc.get("generator") or {}, "generator", GENERATOR_KEYS)
    max_lag = reader.get(gen, "generator", "max_lag_p99", positive(parse_duration), "a positive duration such as 50ms", DEFAULT_MAX_LAG_P99)
    min_achieved = reader.get(gen, "generator", "min_achieved", _fraction, "a percentage such as 95%", DEFAULT_MIN_ACHIEVED)
    cold = reader.mapping(doc.get("cold_start") or {}, "cold_start", COLD_KEYS)
    for key in ("time_to_ready", "first_request"):
        if key in cold:
            got = _limit(reader, cold, "cold_start", key, positive(parse_duration), "max", "a positive duration such as 3s")
            if got:
                source = got[1]
                if key == "time_to_ready" and not (isinstance(cold[key], dict) and "source" in cold[key]):
                    # default: the server's own ready timestamp where it has one, else the gate's readiness probe
                    source = "server" if mapping is not None and mapping.supports(key) is None else "loadgen"
                objectives.append(Objective(f"cold_start.{key}", key, None, source, got[0]))
    if api is not None:
        _check_server_sources(reader, objectives, api)
    if not objectives and not reader.problems:
        reader.problem("", "no objectives: add phases.<phase>.latency/throughput/error_rate/stages or cold_start")
    reader.raise_if_any()
    return SlaSpec(path, hashlib.sha256(path.read_bytes()).hexdigest(), name, tuple(objectives), at_rate, max_lag, min_achieved)
