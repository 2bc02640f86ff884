"""The synthetic server as the service under test of the harness's own e2e tests.

benchmarks/synthetic_server.py answers on timers only: with `--service-ms S --workers W` every POST
queues for one of W workers and takes exactly S ms, a capacity of W / S known in advance whatever
the CPU does. Tests whose subject is the harness (phases, verdicts, faults, workers, replicas,
scale events, reports) aim at it, so that a slower CPU can make them longer, never red. The gate
starts it with target.command, as it starts a user's own service.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SERVER = ROOT / "benchmarks" / "synthetic_server.py"


def synthetic_target(service_ms: float = 20, workers: int = 1, indent: str = "  ", extra: str = "") -> str:
    """The `target:` block of a scenario (YAML, without the key) that starts the synthetic server."""
    lines = ["api: http", "options: {path: /v1/ocr, ready_path: /readyz}",
             f'command: [{sys.executable}, {SERVER}, "{{port}}", --service-ms, "{service_ms:g}", --workers, "{workers}"]',
             *filter(None, extra.splitlines())]
    return "\n".join(indent + line for line in lines)


def capacity_scenario(name: str, service_ms: float = 20, workers: int = 1) -> str:
    """A scenario for `sla capacity` aimed at the synthetic server (its one phase is replaced by the steps)."""
    return f"""name: {name}
target:
{synthetic_target(service_ms, workers)}
payloads: {{mix: {{small-plain-png: 1}}, variants: 1}}
request: {{timeout: 2s}}
phases:
  - {{name: steady, kind: users, duration: 5s, users: 1}}
"""
