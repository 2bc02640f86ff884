"""Faults mid-run end in a verdict, with the evidence: the service under test dying is a FAIL with
reports; the gate's own Prometheus or Locust dying stops the run at once with exit 3, naming it.
Nothing is left running in any case. Real server, Prometheus and Locust."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from xml.etree import ElementTree as ET

import pytest

from tests.processes import children as children_of, left_running

pytestmark = [pytest.mark.e2e, pytest.mark.cpu_bound]

SHORT_SCENARIO = """
name: short
payloads: {mix: {small-plain-png: 1}, variants: 1}
target: {server: {preset: tiny}}
phases:
  - {name: steady, kind: users, duration: 4s, users: 2}
"""

ROOT = Path(__file__).resolve().parents[2]
SLA = [str(Path(sys.executable).parent / "sla")]
PARTS = {"prometheus": "prometheus", "locust": "locust", "server": "reference_server"}


def children_by_part(pid: int) -> dict[str, int]:
    """part -> pid of the gate's own children (not their helpers)."""
    found = {}
    for child, cmdline in children_of(pid, recursive=False).items():
        for part, needle in PARTS.items():
            if needle in cmdline and part not in found:
                found[part] = child
    return found


def load_started(runs: Path) -> bool:
    """The first phase has started (the server was ready): Locust's log says so."""
    return any("phase warmup started" in log.read_text() for log in runs.glob("*/locust.log"))


def run_and_kill(tmp_path: Path, part: str) -> tuple[subprocess.Popen, str, str, float, set[int]]:
    """Start `sla run` on the smoke scenario, kill one of its parts 8 s into the load (SIGKILL, by
    the pid of the child the gate started; the load starts once the server is ready, which takes
    longer on a slower CPU), and return how the gate ended."""
    proc = subprocess.Popen([*SLA, "run", "scenarios/smoke.yaml", "--sla", "sla/thresholds/lax.yaml", "--out", str(tmp_path / "runs")],
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    started: set[int] = set()
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            parts = children_by_part(proc.pid)
            started |= set(children_of(proc.pid))
            if len(parts) == 3:
                break
            time.sleep(0.3)
        else:
            pytest.fail("the run never had all its parts up")
        while time.monotonic() < deadline and not load_started(tmp_path / "runs"):  # the server may be slow to get ready
            started |= set(children_of(proc.pid))
            time.sleep(0.3)
        time.sleep(8)  # 8 s into the load: 3 s into the steady phase
        os.kill(parts[part], signal.SIGKILL)
        killed_at = time.monotonic()
        out, err = proc.communicate(timeout=120)
        return proc, out, err, time.monotonic() - killed_at, started
    finally:
        if proc.poll() is None:
            proc.kill()


def test_a_server_that_dies_mid_run_is_a_fail_with_reports_naming_how_and_when(tmp_path):
    proc, out, err, took, started = run_and_kill(tmp_path, "server")
    assert proc.returncode == 1, out[-3000:] + err[-3000:]
    assert "exited" in out and "killed by signal 9" in out and "verdict: FAIL (exit code 1)" in out
    [run_dir] = [p for p in (tmp_path / "runs").iterdir() if (p / "run.json").exists()]
    doc = json.loads((run_dir / "result.json").read_text())
    survived = next(o for o in doc["objectives"] if o["id"] == "target.survived")
    assert survived["verdict"] == "FAIL" and "killed by signal 9 (SIGKILL)" in survived["detail"]
    assert 5 < survived["value"] < 60 and survived["phase"] in ("warmup", "steady")
    assert "its log ends" in survived["detail"]
    assert "target.survived" in (run_dir / "report.md").read_text()
    assert ET.parse(run_dir / "junit.xml").getroot().get("failures") != "0"
    assert json.loads((run_dir / "run.json").read_text())["server"]["exited"]["code"] == -9
    assert took < 30  # the load stopped with the server, not at the planned end
    assert left_running(started) == []


@pytest.mark.parametrize(("part", "named"), [("prometheus", "the gate's Prometheus"), ("locust", "Locust (the load generator)")])
def test_the_gates_own_parts_dying_stop_the_run_at_once_with_exit_3(tmp_path, part, named):
    proc, out, err, took, started = run_and_kill(tmp_path, part)
    assert proc.returncode == 3, out[-3000:] + err[-3000:]
    assert named in err and "killed by signal 9" in err
    assert took < 20
    assert left_running(started) == []


def test_a_server_that_lost_its_port_to_another_process_is_started_again_on_new_ports(tmp_path, monkeypatch):
    import socket

    import sla.gate as gate

    with socket.socket() as taken:  # another process's listener on the port the gate picks for the server
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        offered = iter([None, port])  # the gate asks for the metrics port, then the server's
        real = gate.free_port
        monkeypatch.setattr(gate, "free_port", lambda: next(offered, None) or real())
        (tmp_path / "short.yaml").write_text(SHORT_SCENARIO)
        (tmp_path / "p50.yaml").write_text("name: p50\nphases:\n  steady:\n    latency: {p50: 5s}\n")
        outcome = gate.run_gate(gate.RunOptions(tmp_path / "short.yaml", tmp_path / "p50.yaml", out=tmp_path / "runs", run_id="clash"))
    assert outcome.analysis.verdict == "PASS"
    aside = tmp_path / "runs" / "clash-port-clash-1"
    assert "address already in use" in (aside / "server.log").read_text()
    doc = json.loads((tmp_path / "runs" / "clash" / "result.json").read_text())
    assert any("port clash" in note and str(aside) in note for note in doc["notes"])
    assert json.loads((tmp_path / "runs" / "clash" / "run.json").read_text())["server"]["port"] != port
