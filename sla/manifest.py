"""The run manifest, `runs/<run id>/run.json` (format in docs/output-files.md): everything needed to judge a run
again from Prometheus.

One writer at a time: Locust writes it when it quits (phases as executed, load-generator facts);
`sla run` then, after Locust has exited, reads it and adds what only the gate knows (`server`,
`sla`, `prometheus_url`, `loadgen.final_scrape_at`) in one atomic replace. Values are JSON types
(numbers, booleans, lists, null), never Python reprs; paths are absolute.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

MANIFEST_NAME = "run.json"
HDR_NAME = "hdr.json"  # HdrHistogram summaries {phase: {timing: {...}}}, merged across workers
SCHEMA_VERSION = 1  # of every file the harness writes: run.json, hdr.json, result.json, capacity.json, compare.json


@dataclass
class PhaseWindow:
    name: str
    kind: str
    start: float  # Unix seconds, as executed
    end: float
    planned_duration: float
    asked_rate: float | None = None  # requests/s asked of the load generator (arrival_rate phases; a ramp's mean)
    rate_from: float | None = None  # a ramp's asked rate at its start and end (arrival_rate phases)
    rate_to: float | None = None
    poisson: bool | None = None  # arrival-rate phases: Poisson arrivals (else evenly spaced)


@dataclass
class RunManifest:
    run_id: str
    scenario: dict[str, str]  # path, name, sha256
    target: str
    target_api: str = "reference"  # the target API (sla.targets), for judging server objectives again
    phases: list[PhaseWindow] = field(default_factory=list)
    started_at: float = 0.0
    ended_at: float = 0.0
    loadgen: dict[str, Any] = field(default_factory=dict)  # locust_version, workers, metrics_port, first_request
    sla: dict[str, str] | None = None  # path, sha256 (set by `sla run`)
    prometheus_url: str | None = None
    server: dict[str, Any] = field(default_factory=dict)  # start, ready, first_request times (set by `sla run`)
    server_metrics: dict[str, Any] | None = None  # the server metrics mapping it was scraped with (None: none)
    environment: dict[str, Any] = field(default_factory=dict)  # loadgen: its host; target: what it reported (sla/environment.py)

    @classmethod
    def from_json(cls, doc: dict[str, Any]) -> "RunManifest":
        doc = dict(doc)
        version = doc.pop("schema_version", 0)  # 0: written before versions
        if not isinstance(version, int) or version > SCHEMA_VERSION:
            raise ValueError(f"schema_version {version!r} is newer than this harness reads ({SCHEMA_VERSION})")
        doc["phases"] = [PhaseWindow(**p) for p in doc.get("phases", [])]
        return cls(**doc)

    def write(self, run_dir: Path) -> Path:
        return write_json(run_dir / MANIFEST_NAME, asdict(self))

    @classmethod
    def read(cls, run_dir: Path) -> "RunManifest":
        return cls.from_json(json.loads((Path(run_dir) / MANIFEST_NAME).read_text()))


def json_value(value: Any) -> Any:
    """A value as its JSON type: tuples as lists, paths as absolute strings, the rest as is."""
    if isinstance(value, (tuple, list)):
        return [json_value(v) for v in value]
    if isinstance(value, Path):
        return str(value.resolve())
    if isinstance(value, dict):
        return {str(k): json_value(v) for k, v in value.items()}
    return value


def write_json(path: Path, doc: dict[str, Any]) -> Path:
    """One of the harness's output files: with its schema_version, replaced atomically."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps({"schema_version": SCHEMA_VERSION, **doc}, indent=2) + "\n")
    os.replace(tmp, path)
    return path


def read_hdr(path: Path) -> dict[str, Any]:
    """hdr.json as {phase: {timing: summary}}; a file from before schema versions had flat keys
    "phase\x1ftiming"."""
    doc = json.loads(path.read_text())
    if "schema_version" in doc:
        return doc.get("phases") or {}
    nested: dict[str, Any] = {}
    for joined, entry in doc.items():
        phase, _, timing = joined.partition("\x1f")
        nested.setdefault(phase, {})[timing] = entry
    return nested


def new_run_id(scenario_name: str) -> str:
    return f"{datetime.now(timezone.utc).strftime('%Y%m%dT%H%M%SZ')}-{scenario_name}"
