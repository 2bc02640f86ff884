"""A scenario file, parsed: its target (sla/scenario/target.py), payload mix, request settings and phases (docs/scenarios.md)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import yaml

from sla.payloads import PayloadMix, from_glob, from_manifest, parse_class
from sla.targets import TargetApi
from sla.scenario.phases import MAX_PHASE_S, PHASE_KINDS, Phase, users_over_time
from sla.scenario.target import MAX_REPLICAS, Target, parse_target
from sla.units import parse_duration
from sla.validation import Reader, at_most, integer, load_yaml, non_negative, positive, safe_name, text

TOP_KEYS = {
    "name": "scenario name",
    "description": "what the scenario does",
    "target": "where the load goes",
    "payloads": "the payload mix",
    "request": "request settings",
    "phases": "the list of phases",
}
SCALE_KEY = {"scale_to": f"at the phase's start, scale the replicas behind HAProxy to this many (1 to {MAX_REPLICAS})"}
PAYLOAD_KEYS = {
    "mix": "synthetic payload class -> weight",
    "variants": "distinct images per synthetic class",
    "files": "your files: a glob relative to the scenario file, e.g. images/*.png",
    "manifest": "your files: a JSON-lines manifest relative to the scenario file",
}
PAYLOAD_SOURCES = ("mix", "files", "manifest")
REQUEST_KEYS = {"timeout": "a request slower than this fails, e.g. 10s", "think_time": "pause between a user's requests"}


@dataclass(frozen=True)
class Scenario:
    path: Path
    sha256: str
    name: str
    description: str
    target: Target
    payloads: PayloadMix
    timeout: float
    think_time: float
    phases: tuple[Phase, ...]
    scale: tuple[tuple[str, int], ...] = ()  # (phase, replicas) of the phases with scale_to
    doc: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)  # the document, its relative paths made absolute
    derived: bool = False  # made from another scenario (a capacity step): it has no file of its own until the gate writes one

    def derive(self, name: str, phases: list[dict[str, Any]]) -> "Scenario":
        """This scenario under another name with other phases, validated as a file would be."""
        doc = dict(self.doc, name=name, phases=phases)
        text = yaml.safe_dump(doc, sort_keys=False)
        return replace(_scenario(doc, self.path, hashlib.sha256(text.encode()).hexdigest()), derived=True)

    def written(self, path: Path) -> "Scenario":
        """A derived scenario written to `path` (for Locust, which reads a file): from then on, that file."""
        path.write_text(yaml.safe_dump(self.doc, sort_keys=False))
        return replace(self, path=path, derived=False)

    @property
    def balanced(self) -> bool:
        """Replicas behind HAProxy: more than one, or a scale event."""
        return self.target.replicas > 1 or bool(self.scale)

    @property
    def max_replicas(self) -> int:
        return max([self.target.replicas, *(n for _, n in self.scale)])

    @property
    def duration(self) -> float:
        return sum(p.duration for p in self.phases)

    @property
    def mix(self) -> dict[str, float]:
        return self.payloads.mix

    @property
    def accuracy_problem(self) -> str | None:
        """Why the answers of this scenario cannot be scored for accuracy (None: they can)."""
        why = self.target.api.text_problem()
        if why:
            return why
        unchecked = [n for n in self.payloads.names() if n not in self.payloads.checked_names()]
        if unchecked:
            return (f"payload(s) {', '.join(unchecked)} have no expected text (synthetic pages know theirs; "
                    "a manifest line gives it with \"expected_text\")")
        return None

    def phase(self, name: str) -> Phase | None:
        return next((p for p in self.phases if p.name == name), None)


def _payloads(reader: Reader, doc: Any, base: Path, api: TargetApi) -> PayloadMix:
    doc = reader.mapping(doc if doc is not None else {}, "payloads", PAYLOAD_KEYS)
    given = [k for k in PAYLOAD_SOURCES if doc.get(k) is not None]
    if not given:
        reader.problem("payloads.mix", "missing; expected a mapping of synthetic payload class to weight, e.g. "
                       "{medium-plain-png: 3, small-noisy-jpeg: 1}, or your own files: payloads.files (a glob) or payloads.manifest")
    elif len(given) > 1:
        reader.problem("payloads", f"{' and '.join(given)} together; give one of mix (synthetic classes), files (a glob) or manifest")
    mix: dict[str, float] = {}
    files: list = []
    if doc.get("mix") is not None:
        mix_doc = doc["mix"]
        if not isinstance(mix_doc, dict) or not mix_doc:
            reader.problem("payloads.mix", "expected a mapping of payload class to weight, e.g. {medium-plain-png: 3, small-noisy-jpeg: 1}")
            mix_doc = {}
        for name, weight in mix_doc.items():
            try:
                parse_class(str(name))
            except ValueError as exc:
                reader.problem(f"payloads.mix.{name}", str(exc))
                continue
            value = reader.get(mix_doc, "payloads.mix", name, positive(float), "a positive weight")
            if value is not None:
                mix[str(name)] = value
    for key, load in (("files", from_glob), ("manifest", from_manifest)):
        where = reader.get(doc, "payloads", key, text, "a path relative to the scenario file", None)
        if where is not None:
            found, problems = load(where, base, api.needs_image)
            files += found
            for problem in problems:
                reader.problem(f"payloads.{key}", problem)
    variants = reader.get(doc, "payloads", "variants", at_most(100, "100", positive(integer)), "a whole number of images per class, 1 to 100", 4)
    return PayloadMix(mix, variants or 4, tuple(files))


def _phases(reader: Reader, doc: Any, scale: list[tuple[str, int]]) -> list[Phase]:
    """The phases; those with scale_to are added to `scale`."""
    if not isinstance(doc, list) or not doc:
        reader.problem("phases", "missing or empty; expected a list of phases, each with name, kind and duration")
        return []
    phases: list[Phase] = []
    names: set[str] = set()
    for i, item in enumerate(doc):
        path = f"phases[{i}]"
        if not isinstance(item, dict):
            reader.problem(path, "expected a mapping with name, kind, duration and the kind's parameters")
            continue
        kind = item.get("kind")
        if kind not in PHASE_KINDS:
            reader.problem(f"{path}.kind", f"{'missing' if kind is None else repr(kind) + ' is not a phase kind'}; accepted kinds: {', '.join(PHASE_KINDS)}")
            continue
        keys, parser = PHASE_KINDS[kind]
        reader.mapping(item, path, {**keys, **SCALE_KEY})
        if "scale_to" in item:
            to = reader.get(item, path, "scale_to", at_most(MAX_REPLICAS, str(MAX_REPLICAS), positive(integer)),
                            f"a whole number of replicas, 1 to {MAX_REPLICAS}")
            if to is not None and item.get("name"):
                scale.append((str(item["name"]), to))
        name = reader.get(item, path, "name", safe_name, "a phase name such as steady")
        duration = reader.get(item, path, "duration", at_most(MAX_PHASE_S, "24h per phase", positive(parse_duration)),
                              "a positive duration such as 30s or 2m, at most 24h")
        if name is not None:
            if name in names:
                reader.problem(f"{path}.name", f"{name!r} is used by an earlier phase; phase names must be unique")
            names.add(name)
        phase = parser(reader, item, path, name or "", duration or 0.0)
        if phase is not None and name is not None and duration is not None:
            phases.append(phase)
    return phases


def load_scenario(path: Path | str) -> Scenario:
    """Read and validate a scenario file; raises FileProblems listing every problem."""
    path = Path(path)
    return _scenario(load_yaml(path, "scenario"), path, hashlib.sha256(path.read_bytes()).hexdigest())


def _anchored(doc: dict[str, Any], base: Path) -> dict[str, Any]:
    """The document with its relative paths (payload files, the command's cwd) made absolute, so that
    it reads the same written anywhere (Scenario.written)."""
    payloads, target = doc.get("payloads"), doc.get("target")
    if isinstance(payloads, dict):
        payloads = dict(payloads, **{k: str(base / payloads[k]) for k in ("files", "manifest") if isinstance(payloads.get(k), str)})
    if isinstance(target, dict) and target.get("command"):
        target = dict(target, cwd=str((base / target.get("cwd", ".")).resolve()))
    return dict(doc, **({"payloads": payloads} if payloads is not None else {}), **({"target": target} if target is not None else {}))


def _scenario(doc: Any, path: Path, sha256: str) -> Scenario:
    reader = Reader(path)
    doc = reader.mapping(doc, "", TOP_KEYS)
    name = reader.get(doc, "", "name", safe_name, "a scenario name such as smoke")
    description = reader.get(doc, "", "description", str, "a description", "")
    base = path.resolve().parent
    target = parse_target(reader, doc.get("target") or {}, base)
    payloads = _payloads(reader, doc.get("payloads"), base, target.api)
    request = reader.mapping(doc.get("request") or {}, "request", REQUEST_KEYS)
    timeout = reader.get(request, "request", "timeout", at_most(3600, "1h", positive(parse_duration)), "a positive duration such as 10s, at most 1h", 30.0)
    think = reader.get(request, "request", "think_time", at_most(3600, "1h", non_negative(parse_duration)), "a duration such as 0s or 500ms, at most 1h", 0.0)
    scale: list[tuple[str, int]] = []
    phases = _phases(reader, doc.get("phases"), scale)
    if scale and target.host is not None:
        reader.problem("target.host", "phases with scale_to need replicas the gate starts, not a running target.host")
    reader.raise_if_any()
    return Scenario(
        path=path,
        sha256=sha256,
        name=name,
        description=description,
        target=target,
        payloads=payloads,
        timeout=timeout,
        think_time=think,
        phases=tuple(phases),
        scale=tuple(scale),
        doc=_anchored(doc, base),
    )


def format_plan(scenario: Scenario) -> str:
    lines = [f"scenario {scenario.name} ({scenario.path}): {len(scenario.phases)} phases, {scenario.duration:.0f} s"]
    t = 0.0
    for phase in scenario.phases:
        lines.append(f"  {t:7.0f}s -> {t + phase.duration:7.0f}s  {phase.name:<16} {phase.kind:<12} {phase.describe()}")
        t += phase.duration
    step = max(1.0, round(scenario.duration / 20))
    if any(p.asked_rate is not None for p in scenario.phases):
        lines.append("  (arrival_rate phases run one dispatcher per load-generator process)")
    lines.append("  users over time:")
    for at, users in users_over_time(scenario.phases, step):
        lines.append(f"  {at:7.0f}s {users:6.1f} " + "#" * int(round(users)))
    return "\n".join(lines)
