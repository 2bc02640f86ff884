"""The run manifest, `runs/<run id>/run.json` (format in the README): everything needed to judge a run
again from Prometheus. Written by the load generator; `sla run` adds what it started.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

MANIFEST_NAME = "run.json"
HDR_NAME = "hdr.json"  # HdrHistogram summaries by "phase\x1ftiming", merged across workers


@dataclass
class PhaseWindow:
    name: str
    kind: str
    start: float  # Unix seconds, as executed
    end: float
    planned_duration: float
    asked_rate: float | None = None  # requests/s asked of the load generator (arrival_rate phases)


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

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, doc: dict[str, Any]) -> "RunManifest":
        doc = dict(doc)
        doc["phases"] = [PhaseWindow(**p) for p in doc.get("phases", [])]
        return cls(**doc)

    def write(self, run_dir: Path) -> Path:
        run_dir.mkdir(parents=True, exist_ok=True)
        path = run_dir / MANIFEST_NAME
        tmp = path.with_suffix(".json.tmp")
        tmp.write_text(json.dumps(self.to_json(), indent=2) + "\n")
        os.replace(tmp, path)
        return path

    @classmethod
    def read(cls, run_dir: Path) -> "RunManifest":
        return cls.from_json(json.loads((Path(run_dir) / MANIFEST_NAME).read_text()))


def new_run_id(scenario_name: str) -> str:
    return f"{datetime.now(timezone.utc).strftime('%Y%m%dT%H%M%SZ')}-{scenario_name}"
