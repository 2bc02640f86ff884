"""`sla capacity` with an SLA that no rate can meet: a P99 under the synthetic server's fixed 20 ms
service time. The search starts at 40/s, fails, goes down halving, and ends at the floor
(`--min-rate 10/s`) with exit 1 and a message naming every rate it tried. Real gate runs (Locust,
Prometheus), the server started by the gate for each step."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.synthetic import capacity_scenario

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
SLA = str(Path(sys.executable).parent / "sla")
SCENARIO = capacity_scenario("floor")
SLA_FILE = "name: floor\nphases:\n  steady:\n    latency: {p99: 10ms}\n"


@pytest.mark.timeout(600)
def test_a_sla_nothing_meets_ends_at_the_floor_with_exit_1_naming_the_rates_tried(tmp_path):
    (tmp_path / "s.yaml").write_text(SCENARIO)
    (tmp_path / "sla.yaml").write_text(SLA_FILE)
    result = subprocess.run([SLA, "capacity", str(tmp_path / "s.yaml"), "--sla", str(tmp_path / "sla.yaml"), "--start-rate", "40/s",
                             "--min-rate", "10/s", "--warmup", "0s", "--out", str(tmp_path / "cap")],
                            cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert result.returncode == 1, result.stdout[-4000:] + result.stderr[-2000:]
    ended = "no rate met the SLA: tried 40/s, 20/s, 10/s; the next, 5/s, is below the floor --min-rate 10/s"
    assert f"The search ended: {ended}." in result.stdout and "No tested rate met the SLA." in result.stdout
    [cap_dir] = list((tmp_path / "cap").iterdir())
    doc = json.loads((cap_dir / "capacity.json").read_text())
    assert doc["capacity"] is None and doc["floor"] and doc["ended"] == ended
    assert [(s["direction"], s["verdict"]) for s in doc["steps"]] == [("start", "FAIL"), ("down", "FAIL"), ("down", "FAIL")]
    assert ended in (cap_dir / "capacity.html").read_text() and not (cap_dir / "hpa.yaml").exists()
