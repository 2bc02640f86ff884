"""`sla capacity` against the reference server, confirmed by fixed-rate `sla run` checks:
80 % of the capacity found passes, 130 % fails. Slow (several minutes): run alone with
`pytest -m e2e tests/gate/test_capacity_e2e.py`; CI runs it too."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
SLA = str(Path(sys.executable).parent / "sla")
SCENARIO = """name: cap
target: {server: {preset: tiny}}
payloads: {mix: {small-plain-png: 1}, variants: 2}
request: {timeout: 10s}
phases:
  - {name: steady, kind: users, duration: 5s, users: 1}
"""
SLA_FILE = "name: cap\nphases:\n  steady:\n    latency: {p95: 150ms}\n    error_rate: 5%\n"


def sla(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([SLA, *args], cwd=ROOT, capture_output=True, text=True, timeout=900)


def fixed_rate(tmp_path: Path, rate: float) -> subprocess.CompletedProcess:
    path = tmp_path / f"fixed-{rate:.3g}.yaml"
    duration = max(20, int(1.25 * 90 / rate) + 1)
    path.write_text(SCENARIO.replace(
        "  - {name: steady, kind: users, duration: 5s, users: 1}",
        f"  - {{name: warmup, kind: users, duration: 10s, users: 2}}\n"
        f"  - {{name: steady, kind: arrival_rate, duration: {duration}s, rate: {rate:.4g}/s, connections: 64, max_in_flight: 1024}}"))
    return sla("run", str(path), "--sla", str(tmp_path / "sla.yaml"), "--out", str(tmp_path / "runs"))


@pytest.mark.timeout(900)
def test_capacity_is_confirmed_by_fixed_rate_runs(tmp_path):
    (tmp_path / "scenario.yaml").write_text(SCENARIO)
    (tmp_path / "sla.yaml").write_text(SLA_FILE)
    result = sla("capacity", str(tmp_path / "scenario.yaml"), "--sla", str(tmp_path / "sla.yaml"), "--start-rate", "24/s",
                 "--resolution", "25%", "--target-peak", "500/s", "--out", str(tmp_path / "cap"))
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    [cap_dir] = list((tmp_path / "cap").iterdir())
    doc = json.loads((cap_dir / "capacity.json").read_text())
    capacity = doc["capacity"]
    assert capacity and doc["first_failing"] and doc["first_failing"] > capacity
    assert doc["per_replica_target"] == pytest.approx(capacity * 0.7)  # default headroom 30 %
    assert doc["replicas"] == math.ceil(500 / doc["per_replica_target"])
    assert (cap_dir / "capacity.png").stat().st_size > 10_000 and "HorizontalPodAutoscaler" in (cap_dir / "hpa.yaml").read_text()
    assert "Highest rate that meets the SLA" in (cap_dir / "capacity.md").read_text()
    below = fixed_rate(tmp_path, 0.8 * capacity)
    assert below.returncode == 0, below.stdout[-3000:]
    above = fixed_rate(tmp_path, 1.3 * capacity)
    assert above.returncode == 1, above.stdout[-3000:]
