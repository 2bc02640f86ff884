"""A scenario file, parsed: target, payload mix, request settings and phases (see README.md)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from reference_server.config import ServerConfig
from sla.payloads import parse_class
from sla.scenario.phases import PHASE_KINDS, Phase
from sla.units import parse_duration
from sla.validation import Reader, integer, load_yaml, non_negative, one_of, positive, text

START_WHEN = ("readyz", "healthz")
TOP_KEYS = {
    "name": "scenario name",
    "description": "what the scenario does",
    "target": "where the load goes",
    "payloads": "the payload mix",
    "request": "request settings",
    "phases": "the list of phases",
}
TARGET_KEYS = {
    "host": "base URL of a running server, e.g. http://127.0.0.1:8866",
    "start_when": f"when the first request may go: {' or '.join(START_WHEN)}",
    "fresh": "start a fresh server for this run (cold start), true/false",
    "server": "settings of the reference server when the harness starts it",
}
PAYLOAD_KEYS = {"mix": "payload class -> weight", "variants": "distinct images per class"}
REQUEST_KEYS = {"timeout": "a request slower than this fails, e.g. 10s", "think_time": "pause between a user's requests"}
SERVER_KEYS = {name: "reference server option" for name in ServerConfig.__dataclass_fields__ if name not in ("host", "port")}


@dataclass(frozen=True)
class Target:
    host: str | None = None
    start_when: str = "readyz"
    fresh: bool = False
    server: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Scenario:
    path: Path
    sha256: str
    name: str
    description: str
    target: Target
    mix: dict[str, float]
    variants: int
    timeout: float
    think_time: float
    phases: tuple[Phase, ...]

    @property
    def duration(self) -> float:
        return sum(p.duration for p in self.phases)

    def phase(self, name: str) -> Phase | None:
        return next((p for p in self.phases if p.name == name), None)


def _boolean(value: Any) -> bool:
    if not isinstance(value, bool):
        raise ValueError(f"got {value!r}, not true/false")
    return value


def server_value(key: str):
    """The converter of one reference-server option, typed like ServerConfig's default."""
    default = getattr(ServerConfig(), key)

    def convert(value: Any) -> Any:
        if isinstance(default, bool):
            return _boolean(value)
        if isinstance(default, int):
            return integer(value)
        if isinstance(default, tuple):
            if not isinstance(value, list) or not all(isinstance(v, (int, float)) for v in value):
                raise ValueError(f"got {value!r}, not a list of seconds")
            return tuple(float(v) for v in value)
        return str(value)

    return convert


def _target(reader: Reader, doc: Any) -> Target:
    doc = reader.mapping(doc, "target", TARGET_KEYS)
    host = reader.get(doc, "target", "host", text, "a base URL such as http://127.0.0.1:8866", None)
    start_when = reader.get(doc, "target", "start_when", one_of(START_WHEN), " or ".join(START_WHEN), "readyz")
    fresh = reader.get(doc, "target", "fresh", _boolean, "true or false", False)
    server_doc = reader.mapping(doc.get("server") or {}, "target.server", SERVER_KEYS)
    server = {}
    for key in server_doc:
        if key in SERVER_KEYS:
            value = reader.get(server_doc, "target.server", key, server_value(key), f"a value like the server's --{key.replace('_', '-')}")
            if value is not None:
                server[key] = value
    return Target(host, start_when or "readyz", bool(fresh), server)


def _mix(reader: Reader, doc: Any) -> tuple[dict[str, float], int]:
    doc = reader.mapping(doc if doc is not None else {"mix": None}, "payloads", PAYLOAD_KEYS)
    mix_doc = doc.get("mix")
    mix: dict[str, float] = {}
    if not isinstance(mix_doc, dict) or not mix_doc:
        reader.problem("payloads.mix", "missing; expected a mapping of payload class to weight, e.g. {medium-plain-png: 3, small-noisy-jpeg: 1}")
    else:
        for name, weight in mix_doc.items():
            try:
                parse_class(str(name))
            except ValueError as exc:
                reader.problem(f"payloads.mix.{name}", str(exc))
                continue
            value = reader.get(mix_doc, "payloads.mix", name, positive(float), "a positive weight")
            if value is not None:
                mix[str(name)] = value
    variants = reader.get(doc, "payloads", "variants", positive(integer), "a whole number of images per class, 1 or more", 4)
    return mix, variants or 4


def _phases(reader: Reader, doc: Any) -> list[Phase]:
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
        reader.mapping(item, path, keys)
        name = reader.get(item, path, "name", text, "a phase name such as steady")
        duration = reader.get(item, path, "duration", positive(parse_duration), "a positive duration such as 30s or 2m")
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
    doc = load_yaml(path, "scenario")
    reader = Reader(path)
    doc = reader.mapping(doc, "", TOP_KEYS)
    name = reader.get(doc, "", "name", text, "a scenario name")
    description = reader.get(doc, "", "description", str, "a description", "")
    target = _target(reader, doc.get("target") or {})
    mix, variants = _mix(reader, doc.get("payloads"))
    request = reader.mapping(doc.get("request") or {}, "request", REQUEST_KEYS)
    timeout = reader.get(request, "request", "timeout", positive(parse_duration), "a positive duration such as 10s", 30.0)
    think = reader.get(request, "request", "think_time", non_negative(parse_duration), "a duration such as 0s or 500ms", 0.0)
    phases = _phases(reader, doc.get("phases"))
    reader.raise_if_any()
    return Scenario(
        path=path,
        sha256=hashlib.sha256(path.read_bytes()).hexdigest(),
        name=name,
        description=description,
        target=target,
        mix=mix,
        variants=variants,
        timeout=timeout,
        think_time=think,
        phases=tuple(phases),
    )
