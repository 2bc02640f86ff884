"""SLA files (`sla/thresholds/*.yaml`): objectives per phase, cold start, and baseline growth.

    name: ocr-reference
    phases:
      steady:                            # a phase name of the scenario
        latency:                         # percentiles p50 p90 p95 p99 p99.9 ... (maximum)
          p50: 400ms
          p99: {max: 1.5s, source: server}   # source: loadgen (what users saw, default) or server
          mean: 300ms                    # the mean (all a server with only duration counters gives)
        throughput: 5/s                  # minimum successful requests/s over the phase
        error_rate: 1%                   # maximum share of failed requests
        stages: {det: {p99: 300ms}}      # server stage histograms
        baseline: {p99: 10%, throughput: 10%}   # vs --baseline: P99 may grow <= 10 %, QPS drop <= 10 %
        at_rate: 120/s                   # judged only if the generator delivered this arrival rate
        scale_out: {window: 20s, p95: 1s, error_rate: 1%, time_to_ready: 10s, first_request: 1s}  # a scale_to phase
    generator: {max_lag_p99: 50ms, min_achieved: 95%}   # when the load counts as delivered
    cold_start:
      time_to_ready: 30s                 # server process start to ready (the server's ready timestamp where
                                         # its metrics have one, else the gate's readiness probe: source loadgen)
      first_request: 3s                  # first request after start ({max: .., source: server})
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import yaml

from sla.objectives import REGISTRY, Kind, Objective, ParseContext
from sla.objectives.base import SOURCES, fraction
from sla.targets import MetricsMapping
from sla.targets.reference import REFERENCE
from sla.units import parse_duration, parse_rate
from sla.validation import NAME_RULE, Reader, is_safe_name, load_yaml, positive, text

__all__ = ["SOURCES", "Objective", "SlaSpec", "key_path", "load_sla"]

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
AT_RATE = {"at_rate": "the arrival rate the objectives must hold at, e.g. 120/s (an arrival_rate phase)"}


def section_keys(section: str, kinds: Sequence[Kind] = REGISTRY) -> dict[str, str]:
    """The keys the kinds read in a section (`phases` or `cold_start`), with what they take
    (several kinds may read one key: the first listed describes it)."""
    keys: dict[str, str] = {}
    for kind in kinds:
        if kind.section == section:
            keys.setdefault(kind.key, kind.description)
    return keys


@dataclass(frozen=True)
class SlaSpec:
    path: Path
    sha256: str
    name: str
    objectives: tuple[Objective, ...]
    at_rate: dict[str, float] = field(default_factory=dict)  # phase -> requests/s it must be judged at
    max_lag_p99: float = DEFAULT_MAX_LAG_P99
    min_achieved: float = DEFAULT_MIN_ACHIEVED
    doc: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)  # the document it was read from
    derived: bool = False  # made from another SLA (a capacity step's): no file of its own until the gate writes one

    def written(self, path: Path) -> "SlaSpec":
        """A derived SLA written to `path` (what `sla check` of the run reads again): from then on, that file."""
        path.write_text(yaml.safe_dump(self.doc, sort_keys=False))
        return replace(self, path=path, derived=False)

    def thresholds_s(self) -> list[float]:
        """Every latency limit in seconds: to become a histogram bucket boundary."""
        return sorted({t for o in self.objectives for t in o.kind_of.limits_s(o)})

    @property
    def answer_sample(self) -> float:
        """The share of answers the load generator scores: the most any objective asks (default all)."""
        return max((s for o in self.objectives if (s := o.kind_of.answer_sample(o)) is not None), default=1.0)

    @property
    def baseline_objectives(self) -> list[Objective]:
        return [o for o in self.objectives if o.kind_of.compares_runs]

    @property
    def history_runs(self) -> int:
        """The most earlier runs a baseline objective compares with (`runs: N`; 0: none does)."""
        return max((o.runs or 0 for o in self.objectives), default=0)


def key_path(o: Objective) -> str:
    """Where an objective is written in the SLA file, e.g. phases.steady.latency.p99."""
    return o.where or o.id


def _check_server_sources(reader: Reader, objectives: list[Objective], api_name: str, mapping: MetricsMapping | None) -> None:
    """Objectives read from server metrics need a target whose metrics mapping supports them."""
    for o in objectives:
        if o.source != "server":
            continue
        if mapping is None:
            reader.problem(key_path(o), f"source: server needs server metrics, and the {api_name} target has none "
                           "(no target.metrics mapping); judge it from the load generator (source: loadgen)"
                           + ("" if o.stage is not None else ", the default"))
        elif (why := o.kind_of.server_problem(o, mapping)) is not None:
            reader.problem(key_path(o), f"source: server: {why}")


def _at_rate(reader: Reader, per: dict, phase: str, rates: dict[str, float | None] | None) -> float | None:
    """A phase's `at_rate`: a rate its arrival_rate phase asks at least (None after a problem)."""
    rate = reader.get(per, f"phases.{phase}", "at_rate", positive(parse_rate), "a positive rate such as 120/s")
    asked = rates.get(phase) if rates is not None else None
    if rate is not None and rates is not None and asked is None:
        reader.problem(f"phases.{phase}.at_rate", f"the scenario's phase {phase!r} is a closed-model (users) phase; at_rate needs an arrival_rate phase")
    elif rate is not None and asked is not None and asked < rate:
        reader.problem(f"phases.{phase}.at_rate", f"the scenario's phase {phase!r} asks {asked:g}/s, under the {rate:g}/s the SLA must hold at")
    return rate


def _parsed(kinds: Sequence[Kind], ctx: ParseContext) -> list[Objective]:
    """What the kinds of a section (a phase's, or cold_start) read in it, each bound to the kind it names."""
    by_name = {name: kind for kind in kinds for name in kind.names}
    section = "phases" if ctx.phase is not None else "cold_start"
    return [replace(o, bound=by_name[o.kind]) for kind in kinds if kind.section == section for o in kind.parse(ctx)]


def load_sla(path: Path | str, phases: Mapping[str, float | None] | Iterable[str] | None = None, scenario_name: str = "",
             api_name: str | None = None, mapping: MetricsMapping | None = None, accuracy_problem: str | None = None,
             kinds: Sequence[Kind] = REGISTRY) -> SlaSpec:
    """Read and validate an SLA file. With `phases` (names, or name -> asked arrival rate), every
    phase it names must exist, and `at_rate` must name an arrival_rate phase asking that much.
    With the target's API name and server metrics `mapping`, objectives read from server metrics
    must be ones the mapping supports. `accuracy_problem` (Scenario.accuracy_problem) refuses
    accuracy objectives on a scenario whose answers cannot be scored. `kinds` are the objective kinds
    it reads (the shipped registry; a test or a plugin hands its own list), each objective bound to its kind."""
    path = Path(path)
    return sla_from_doc(load_yaml(path, "SLA"), path, hashlib.sha256(path.read_bytes()).hexdigest(), phases, scenario_name,
                        api_name, mapping, accuracy_problem, kinds)


def derived_sla(doc: dict[str, Any], origin: Path, phases: Mapping[str, float | None] | Iterable[str] | None = None,
                scenario_name: str = "", api_name: str | None = None, mapping: MetricsMapping | None = None,
                accuracy_problem: str | None = None) -> SlaSpec:
    """An SLA made from another's document (`origin` the file it came from), validated as a file would be."""
    text = yaml.safe_dump(doc, sort_keys=False)
    sla = sla_from_doc(doc, origin, hashlib.sha256(text.encode()).hexdigest(), phases, scenario_name, api_name, mapping, accuracy_problem)
    return replace(sla, derived=True)


def sla_from_doc(doc: Any, path: Path, sha256: str, phases: Mapping[str, float | None] | Iterable[str] | None = None,
                 scenario_name: str = "", api_name: str | None = None, mapping: MetricsMapping | None = None,
                 accuracy_problem: str | None = None, kinds: Sequence[Kind] = REGISTRY) -> SlaSpec:
    """An SLA document validated (see load_sla); problems are reported against `path`."""
    rates = dict(phases) if isinstance(phases, Mapping) else ({n: None for n in phases} if phases is not None else None)
    reader = Reader(path)
    doc = reader.mapping(doc, "", TOP_KEYS)
    name = reader.get(doc, "", "name", text, "an SLA name", path.stem)
    objectives: list[Objective] = []
    phases_doc = doc.get("phases") or {}
    if not isinstance(phases_doc, dict):
        reader.problem("phases", "expected a mapping of phase name to its objectives")
        phases_doc = {}
    known = list(rates) if rates is not None else None
    if api_name is None:
        mapping = REFERENCE
    # stage names: the mapping's, or the reference server's (objectives on stages a mapping lacks are refused below)
    stage_names = mapping.stages if mapping is not None and mapping.stages else REFERENCE.stages
    at_rate: dict[str, float] = {}
    for phase, per in phases_doc.items():
        if not is_safe_name(phase):
            reader.problem(f"phases.{phase}", f"{phase!r} is not a safe phase name ({NAME_RULE})")
            continue
        if known is not None and phase not in known:
            reader.problem(f"phases.{phase}", f"the scenario {scenario_name} has no phase {phase!r}; its phases: {', '.join(known)}")
            continue
        ctx = ParseContext(reader, str(phase), reader.mapping(per, f"phases.{phase}", {**AT_RATE, **section_keys("phases", kinds)}), mapping,
                           stage_names, tuple(known) if known is not None else None, accuracy_problem)
        objectives += _parsed(kinds, ctx)
        if isinstance(per, dict) and "at_rate" in per and (rate := _at_rate(reader, per, str(phase), rates)) is not None:
            at_rate[str(phase)] = rate
    gen = reader.mapping(doc.get("generator") or {}, "generator", GENERATOR_KEYS)
    max_lag = reader.get(gen, "generator", "max_lag_p99", positive(parse_duration), "a positive duration such as 50ms", DEFAULT_MAX_LAG_P99)
    min_achieved = reader.get(gen, "generator", "min_achieved", fraction, "a percentage such as 95%", DEFAULT_MIN_ACHIEVED)
    cold = ParseContext(reader, None, reader.mapping(doc.get("cold_start") or {}, "cold_start", section_keys("cold_start", kinds)), mapping)
    objectives += _parsed(kinds, cold)
    if api_name is not None:
        _check_server_sources(reader, objectives, api_name, mapping)
    if not objectives and not reader.problems:
        reader.problem("", "no objectives: add phases.<phase>.latency/throughput/error_rate/stages or cold_start")
    reader.raise_if_any()
    return SlaSpec(path, sha256, name, tuple(objectives), at_rate, max_lag, min_achieved, doc)
