"""Arrival-rate phases end to end: `sla run` (real Prometheus and Locust) against the synthetic
server of benchmarks/ (known delays, an optional scheduled stall)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from sla.processes import ManagedProcess, free_port, wait_http_ok

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
SLA = str(Path(sys.executable).parent / "sla")
COMMON = "payloads: {mix: {small-plain-png: 1}, variants: 1}\nrequest: {timeout: 30s}\n"


def gate(tmp_path: Path, phases: str, sla: str, *server_args: str) -> tuple[subprocess.CompletedProcess, dict]:
    scenario, sla_file = tmp_path / "scenario.yaml", tmp_path / "sla.yaml"
    scenario.write_text(f"name: open\n{COMMON}phases:\n{phases}")
    sla_file.write_text(sla)
    port = free_port()
    server = ManagedProcess("synthetic server", [sys.executable, str(ROOT / "benchmarks" / "synthetic_server.py"), str(port), *server_args],
                            tmp_path / "server.log")
    with server:
        wait_http_ok(server, f"http://127.0.0.1:{port}/readyz", 10, "ready")
        result = subprocess.run([SLA, "run", str(scenario), "--sla", str(sla_file), "--host", f"http://127.0.0.1:{port}",
                                 "--out", str(tmp_path / "runs"), "--run-id", "r"], cwd=ROOT, capture_output=True, text=True, timeout=240)
    run_dir = tmp_path / "runs" / "r"
    docs = {path.name: json.loads(path.read_text(), parse_constant=not_json(path)) for path in run_dir.glob("*.json")}
    return result, docs.get("result.json", {})


def not_json(path: Path):
    """Every JSON file of a run is strict JSON: a reader in JavaScript or Go rejects NaN and Infinity."""
    def reject(token: str) -> None:
        raise AssertionError(f"{path.name} holds {token}, which strict JSON readers reject")
    return reject


# A PASS needs a load generator on time: beside the busy unit-test workers (promtool on both cores) its
# lag P99 reached 53.8 ms, over the 50 ms its SLA allows, and the verdict was INCONCLUSIVE. So it runs
# with the suite's other gate runs against the synthetic server, which mostly wait.
@pytest.mark.waits
def test_a_rate_the_server_handles_is_achieved_within_2_percent(tmp_path):
    result, doc = gate(tmp_path, "  - {name: steady, kind: arrival_rate, duration: 8s, rate: 40/s}\n",
                       "name: s\nphases:\n  steady: {at_rate: 40/s, throughput: 38/s}\n", "--median-ms", "5")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    steady = doc["phases"]["steady"]
    assert steady["planned"] == 320
    assert abs(steady["sent"] - 320) <= 0.02 * 320 and abs(steady["requests"] - 320) <= 0.02 * 320
    assert abs(steady["throughput"] - 40) <= 0.02 * 40


def test_a_stall_shows_in_the_corrected_p99_and_hides_from_the_uncorrected_one(tmp_path):
    result, doc = gate(
        tmp_path, "  - {name: steady, kind: arrival_rate, duration: 12s, rate: 20/s, connections: 2}\n",
        "name: s\nphases:\n  steady: {latency: {p99: 500ms}}\n",
        "--median-ms", "10", "--stall-after", "3", "--stall-for", "2",
    )
    steady = doc["phases"]["steady"]
    assert steady["p99"] > 1.0, steady  # 40 of 240 arrivals fall in the 2 s stall
    assert steady["p99_uncorrected"] < 0.3, steady  # only the 2 requests on the connections saw it
    # windows of 5 s: the first has no P99 of its own (null); the second's P99 lies in its interval
    first, second = steady["windows"][:2]
    assert first["p99"] is None and second["p99_low"] <= second["p99"] <= second["p99_high"], steady["windows"]
    assert result.returncode in (1, 2) and "steady.latency.p99" in result.stdout  # the stall breaks the P99 limit


def test_a_rate_the_load_generator_cannot_deliver_is_inconclusive_naming_the_cause(tmp_path):
    result, doc = gate(
        tmp_path, "  - {name: steady, kind: arrival_rate, duration: 4s, rate: 2000/s, max_in_flight: 4, connections: 4}\n",
        "name: s\nphases:\n  steady: {latency: {p50: 10s}}\n", "--median-ms", "20",
    )
    assert result.returncode == 2, result.stdout[-3000:] + result.stderr[-2000:]
    assert "the load generator sent" in result.stdout and "dropped at the in-flight limit" in result.stdout
    assert doc["phases"]["steady"]["dropped"] > 0
