"""The synthetic server as the service under test of the harness's own e2e tests.

benchmarks/synthetic_server.py answers on timers only: with `--service-ms S --workers W` every POST
queues for one of W workers and takes exactly S ms, a capacity of W / S known in advance whatever
the CPU does. Tests whose subject is the harness (phases, verdicts, faults, workers, replicas,
scale events, reports) aim at it, so that a slower CPU can make them longer, never red. The gate
starts it with target.command, as it starts a user's own service.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import NamedTuple

from tests.processes import env_without_slowdown

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


class Search(NamedTuple):
    """One `sla capacity` run: its process, its folder, and its capacity.json."""

    done: subprocess.CompletedProcess
    dir: Path
    doc: dict


def capacity_search(tmp: Path, name: str, sla_file: str, *args: str, timeout_s: float = 900) -> Search:
    """`sla capacity` (real gate runs: Locust, Prometheus, the synthetic server started per step)
    with the scenario capacity_scenario(name), the SLA `sla_file` (YAML) and `args`, no warm-up."""
    (tmp / "scenario.yaml").write_text(capacity_scenario(name))
    (tmp / "sla.yaml").write_text(sla_file)
    # Never under the suite's slowdown: the server's capacity is its timers', whatever the CPU; under a
    # third of a core's quota, 40/s (80 % of its capacity) went UNSTABLE twice, P99 92.6 ms for 20 ms.
    done = subprocess.run([str(Path(sys.executable).parent / "sla"), "capacity", str(tmp / "scenario.yaml"), "--sla", str(tmp / "sla.yaml"),
                           "--warmup", "0s", "--out", str(tmp / "cap"), *args], cwd=ROOT, env=env_without_slowdown(),
                          capture_output=True, text=True, timeout=timeout_s)
    folders = list((tmp / "cap").iterdir()) if (tmp / "cap").is_dir() else []
    assert len(folders) == 1, done.stdout[-4000:] + done.stderr[-2000:]
    return Search(done, folders[0], json.loads((folders[0] / "capacity.json").read_text()))


def assert_found_within_10_percent(search: Search, capacity: float = 50.0) -> None:
    """The search exited 0 and refined to a 10 % bracket at the known `capacity` (1 worker / 20 ms:
    50/s): the capacity found in [45, 50]/s (50/s itself may fail: at exactly what the server
    serves, the generator's jitter queues requests that never drain)."""
    doc, output = search.doc, search.done.stdout[-4000:] + search.done.stderr[-2000:]
    assert search.done.returncode == 0, output
    found, failing = doc["capacity"], doc["first_failing"]
    assert 45.0 <= found <= capacity and found < failing <= found * 1.10 + 1e-9 and doc["refined"], ([(s["asked"], s["verdict"]) for s in doc["steps"]], output)
    assert doc["ended"] == "the passing and failing rates are within --resolution 10%"


def moves(doc: dict) -> list[tuple[str, float, str]]:
    """The search's steps as (direction, asked rate, verdict), a step run again counting once with
    the verdict of its second run."""
    out: list[tuple[str, float, str]] = []
    for s in doc["steps"]:
        if s["direction"] == "again":
            out[-1] = (out[-1][0], s["asked"], s["verdict"])
        else:
            out.append((s["direction"], s["asked"], s["verdict"]))
    return out
