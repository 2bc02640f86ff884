"""`sla run --master --expect-workers N`: the gate runs the Locust master and waits for workers
started elsewhere (here: separate processes on loopback, as `locust --worker` on other machines
would be). Arrival schedules split exactly across them, the master's endpoint counts every
observation once, and a worker killed mid-run makes the phases from then on INCONCLUSIVE."""

from __future__ import annotations

import csv
import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from sla.processes import free_port
from tests.gate.test_own_service_e2e import ROOT, SLA, objectives
from tests.synthetic import synthetic_target

# `waits`: its four Locust processes mostly wait on the synthetic server; beside the promtool cases and
# mypy in the rest of the suite, a 2.4 s stall of the machine put the generators' lag P99 over 2 s
# (INCONCLUSIVE, rightly) on the slower CPU.
pytestmark = [pytest.mark.e2e, pytest.mark.waits]

# The subject is how the load is split and counted: the synthetic server (20 ms, two workers: 100/s
# whatever the CPU) serves 20/s with room. The warm-up's 2 users sent 239 requests in 4 s, and 68 when
# the capacity searches beside them held the cores (a closed loop sends what the CPU lets it): its
# error-rate claim is 20 %, which 21 requests decide.
SCENARIO = f"""
name: workers-e2e
target:
{synthetic_target(20, 2)}
payloads:
  mix: {{small-plain-png: 1}}
request: {{timeout: 10s}}
phases:
  - {{name: warmup, kind: users, duration: 4s, users: 2}}
  - {{name: steady, kind: arrival_rate, duration: 14s, rate: 20/s}}
  - {{name: tail, kind: arrival_rate, duration: 6s, rate: 20/s}}
"""
# Three Locust processes and Prometheus share 2 cores here: the generator's lag limit is loosened,
# since this judges how the load is split and counted, not how much one core delivers.
LAX = """
name: workers-e2e
generator: {max_lag_p99: 2s, min_achieved: 90%}
phases:
  warmup: {error_rate: 20%}
  steady: {latency: {p50: 5s}, throughput: 18/s, error_rate: 5%}
  tail: {latency: {p50: 5s}}
"""


def start_workers(n: int, port: int, log_dir: Path) -> list[subprocess.Popen]:
    workers = []
    for i in range(n):
        with open(log_dir / f"worker{i}.log", "w") as log:  # the worker writes to its own copy of the descriptor
            workers.append(subprocess.Popen([sys.executable, "-m", "locust", "-f", "locustfiles/ocr.py", "--worker", "--master-host",
                                             "127.0.0.1", "--master-port", str(port)], cwd=ROOT, stdout=log, stderr=subprocess.STDOUT))
    return workers


def run_with_workers(tmp_path: Path, kill_after_s: float | None = None) -> tuple[subprocess.CompletedProcess, Path, list]:
    (tmp_path / "s.yaml").write_text(SCENARIO)
    (tmp_path / "sla.yaml").write_text(LAX)
    port = free_port()
    gate = subprocess.Popen([*SLA, "run", str(tmp_path / "s.yaml"), "--sla", str(tmp_path / "sla.yaml"), "--out", str(tmp_path / "runs"),
                             "--master", "--expect-workers", "2", "--master-bind-port", str(port), "--workers-wait", "60s"],
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    workers = start_workers(2, port, tmp_path)
    try:
        if kill_after_s is not None:
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline and gate.poll() is None:
                runs = list((tmp_path / "runs").glob("*/locust.log"))
                if runs and "phase steady started" in runs[0].read_text():
                    time.sleep(kill_after_s)
                    workers[1].send_signal(signal.SIGKILL)
                    break
                time.sleep(0.2)
        stdout, _ = gate.communicate(timeout=240)
    finally:
        for w in workers:  # stopped by their pids, whatever happened
            if w.poll() is None:
                w.kill()
            w.wait(timeout=30)
        if gate.poll() is None:
            gate.kill()
    result = subprocess.CompletedProcess(gate.args, gate.returncode, stdout, "")
    runs = [p for p in (tmp_path / "runs").glob("*") if (p / "run.json").exists()]
    return result, runs[0], workers


def test_external_workers_split_the_arrivals_exactly_and_every_observation_counts_once(tmp_path):
    result, run_dir, _ = run_with_workers(tmp_path)
    # PASS; or INCONCLUSIVE for the generators' lag alone, which the product is right to say: twice on the
    # slower CPU both workers' dispatchers stood still for about 2 s early in `steady` (lag P99 2070 and
    # 2434 ms over the 2 s limit). The subject here is the split and the counting, asserted below either way.
    assert result.returncode in (0, 2), result.stdout
    if result.returncode == 2:
        held = [o for o in objectives(run_dir).values() if o["verdict"] == "INCONCLUSIVE"]
        assert held and all("fell behind its arrival clock" in o["detail"] for o in held), result.stdout
    assert "waiting for load-generator workers: 0 of 2 connected" in result.stdout or "of 2 connected" in result.stdout
    assert "--worker --master-host <this host> --master-port" in result.stdout
    manifest = json.loads((run_dir / "run.json").read_text())
    assert manifest["loadgen"]["workers"] == 2 and manifest["loadgen"]["lost_workers"] == []
    doc = json.loads((run_dir / "result.json").read_text())
    for phase in ("steady", "tail"):
        p = doc["phases"][phase]
        assert p["sent"] == p["planned"] and p["dropped"] == 0, p  # the schedule split over two workers, nothing lost or doubled
    with open(run_dir / "locust_stats.csv") as f:
        total = next(int(r["Request Count"]) for r in csv.DictReader(f) if r["Name"] == "Aggregated")
    assert manifest["loadgen"]["requests"] == total  # the master's endpoint = Locust's own count
    assert sum(p["requests"] for p in doc["phases"].values()) == total


def test_a_worker_killed_mid_run_makes_the_phases_from_then_on_inconclusive(tmp_path):
    result, run_dir, workers = run_with_workers(tmp_path, kill_after_s=4.0)
    assert workers[1].returncode == -signal.SIGKILL
    assert result.returncode == 2, result.stdout  # INCONCLUSIVE, never PASS
    manifest = json.loads((run_dir / "run.json").read_text())
    lost = manifest["loadgen"]["lost_workers"]
    assert len(lost) == 1 and lost[0]["phase"] == "steady", lost
    verdicts = objectives(run_dir)
    assert verdicts["warmup.error_rate"]["verdict"] == "PASS"
    for oid in ("steady.latency.p50", "steady.throughput", "tail.latency.p50"):
        assert verdicts[oid]["verdict"] == "INCONCLUSIVE", verdicts[oid]
        assert "load-generator worker" in verdicts[oid]["detail"] and "was lost" in verdicts[oid]["detail"], verdicts[oid]


def test_workers_that_never_come_end_the_run_after_the_wait_with_exit_3(tmp_path):
    (tmp_path / "s.yaml").write_text(SCENARIO)
    (tmp_path / "sla.yaml").write_text(LAX)
    done = subprocess.run([*SLA, "run", str(tmp_path / "s.yaml"), "--sla", str(tmp_path / "sla.yaml"), "--out", str(tmp_path / "runs"),
                           "--master", "--expect-workers", "1", "--master-bind-port", str(free_port()), "--workers-wait", "12s"],
                          cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 3, done.stdout + done.stderr
    assert "waiting for load-generator workers: 0 of 1 connected" in done.stdout
    assert "Gave up waiting for workers" in done.stdout + done.stderr


def test_master_and_expect_workers_go_together(tmp_path):
    done = subprocess.run([*SLA, "run", "scenarios/smoke.yaml", "--master"], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode == 3 and "--master and --expect-workers N" in done.stderr
