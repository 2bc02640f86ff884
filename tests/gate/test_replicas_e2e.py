"""Replicas behind a real HAProxy, scaled from 1 to 2 mid-run and back: the reference server, HAProxy,
Locust and Prometheus for real. The scale event is judged (users in the window after it, the new
replica's time to ready and first request, recovery), the report shows which replica served what,
and HAProxy and every replica are stopped by their pids afterwards."""

from __future__ import annotations

import json
import socket

import psutil
import pytest

from tests.gate.test_own_service_e2e import objectives
from tests.gate.test_v2_e2e import gate_run

pytestmark = [pytest.mark.e2e, pytest.mark.cpu_bound]

# The scaled phase outlasts the new replica's cold start on a slow CPU, with time left to serve:
# r2 took 15.3 s to be ready at a third of a core beside another test, and 16 s was too short.
SCENARIO = """
name: replicas-e2e
target:
  server: {{preset: tiny, threads: 1}}
  replicas: 1
  routing: {routing}
payloads:
  mix: {{label-plain-png: 2, small-plain-png: 1}}
request: {{timeout: 10s}}
phases:
  - {{name: one, kind: arrival_rate, duration: 6s, rate: 8/s}}
  - {{name: scaled, kind: arrival_rate, duration: 24s, rate: 8/s, scale_to: 2}}
  - {{name: down, kind: arrival_rate, duration: 6s, rate: 8/s, scale_to: 1}}
"""
SLA = """
name: replicas-e2e
phases:
  scaled:
    scale_out: {window: 12s, p90: 1s, error_rate: 10%, time_to_ready: 30s, first_request: 2s}
    recovers: {p90: 1s, within: 10s}
"""


def port_open(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex(("127.0.0.1", port)) == 0


def test_one_to_two_replicas_through_haproxy_judged_and_served_by_both(tmp_path):
    result, run_dir = gate_run(tmp_path, SCENARIO.format(routing="ready"), SLA)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "HAProxy on http://127.0.0.1:" in result.stdout and "phase scaled: scaling from 1 to 2 replica(s)" in result.stdout
    verdicts = objectives(run_dir)
    for oid in ("scaled.scale_out.p90", "scaled.scale_out.error_rate", "scaled.scale_out.time_to_ready",
                "scaled.scale_out.first_request", "scaled.recovers.p90"):
        assert verdicts[oid]["verdict"] == "PASS", verdicts[oid]
    assert "r2" in verdicts["scaled.scale_out.time_to_ready"]["detail"]
    assert 0 < verdicts["scaled.scale_out.first_request"]["value"] < 2
    server = json.loads((run_dir / "run.json").read_text())["server"]["replicas"]
    up, down = server["scale_events"]
    assert (up["from"], up["to"], [a["replica"] for a in up["added"]]) == (1, 2, ["r2"]) and up["added"][0]["ready"] > up["added"][0]["start"]
    assert (down["from"], down["to"]) == (2, 1) and down["removed"][0]["replica"] == "r2" and down["removed"][0]["drained"]
    served = json.loads((run_dir / "result.json").read_text())["replicas"]
    assert served["one"].keys() == {"r1"}
    assert served["scaled"]["r1"]["2xx"] > 10 and served["scaled"]["r2"]["2xx"] > 10  # both served once r2 was ready
    assert "| scaled | r2 |" in (run_dir / "report.md").read_text()
    assert 'data-phase="scaled" data-replica="r2"' in (run_dir / "report.html").read_text()
    # everything the gate started is stopped: HAProxy, and every replica's port closed
    assert not [p for p in psutil.process_iter(["cmdline"]) if str(run_dir / "haproxy.cfg") in " ".join(p.info["cmdline"] or [])]
    assert not any(port_open(r["port"]) for r in server["replicas"])
