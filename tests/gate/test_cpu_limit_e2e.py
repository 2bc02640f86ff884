"""`target.cpus` and `target.cpuset` on a real reference server: a half-core quota halves what a
busy server serves and its throttling is reported per phase; a Ctrl-C mid-run leaves no cgroup
and no process behind. Real server (Paddle), Prometheus and Locust; the cgroup is the machine's."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from sla.limits import GROUP_PREFIX, find_controller
from tests.gate.test_own_service_e2e import ROOT, SLA
from tests.processes import interrupt_when_up, left_running

pytestmark = [pytest.mark.e2e, pytest.mark.alone]

# One user back to back on small pages: the server is busy all the time, so what it serves is
# bounded by the CPU it gets (a closed loop: throughput = 1 / service time).
SCENARIO = """
name: busy
target:
  server: {{preset: tiny, threads: 1}}
  cpus: {cpus}
  cpuset: [1]
payloads: {{mix: {{small-plain-png: 1}}, variants: 2}}
request: {{timeout: 30s}}
phases:
  - {{name: warmup, kind: users, duration: 3s, users: 1}}
  - {{name: busy, kind: users, duration: {duration}s, users: 1}}
"""
SLA_FILE = "name: busy\nphases:\n  busy:\n    latency: {p50: 30s}\n"


def write(tmp_path: Path, cpus: float, duration: int = 10) -> tuple[Path, Path]:
    tmp_path.mkdir(parents=True, exist_ok=True)
    (tmp_path / "s.yaml").write_text(SCENARIO.format(cpus=cpus, duration=duration))
    (tmp_path / "sla.yaml").write_text(SLA_FILE)
    return tmp_path / "s.yaml", tmp_path / "sla.yaml"


def busy_run(tmp_path: Path, cpus: float) -> tuple[dict, dict]:
    scenario, sla_file = write(tmp_path, cpus)
    done = subprocess.run([*SLA, "run", str(scenario), "--sla", str(sla_file), "--out", str(tmp_path / "runs")], cwd=ROOT,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert f"cpus {cpus:g}" in done.stdout  # the start line names the limit
    [run_dir] = [p for p in (tmp_path / "runs").iterdir() if (p / "run.json").exists()]
    return json.loads((run_dir / "result.json").read_text()), json.loads((run_dir / "run.json").read_text())


def run_dir_of(tmp_path: Path) -> Path:
    [run_dir] = [p for p in (tmp_path / "runs").iterdir() if (p / "run.json").exists()]
    return run_dir


def test_half_a_core_halves_what_a_busy_server_serves_and_its_throttling_is_reported(tmp_path):
    one, one_run = busy_run(tmp_path / "one", 1)
    half, half_run = busy_run(tmp_path / "half", 0.5)
    ratio = one["phases"]["busy"]["throughput"] / half["phases"]["busy"]["throughput"]
    assert 1.6 <= ratio <= 2.6, ratio  # service time near 2x
    cpu = half_run["server"]["cpu"]
    assert cpu["cpus"] == 0.5 and cpu["cpuset"] == [1] and cpu["loadgen_cores"] == [0] and cpu["cgroup_version"] in (1, 2)
    busy = cpu["phases"]["busy"]
    assert busy["nr_periods"] > 50 and busy["nr_throttled"] / busy["nr_periods"] > 0.5 and busy["throttled_s"] > 1
    unthrottled = one_run["server"]["cpu"]["phases"]["busy"]
    assert unthrottled["nr_throttled"] / unthrottled["nr_periods"] < busy["nr_throttled"] / busy["nr_periods"]
    assert not Path(cpu["cgroup"]).exists()  # removed when the server stopped
    # the environment as each side saw itself: the generator off the server's core, the server in its quota
    env = half_run["environment"]
    assert env["loadgen"]["affinity"] == "0" and env["loadgen"]["cpu_limit"] is None and env["loadgen"]["cores"] >= 2
    server_env = env["target"]["info"]["ocr_server_environment_info"]
    assert server_env["affinity"] == "1" and float(server_env["cpu_limit"]) == 0.5 and server_env["paddle_version"].startswith("3.")
    assert env["target"]["info"]["ocr_server_config_info"]["threads"] == "1"
    assert one_run["environment"]["target"]["info"]["ocr_server_environment_info"]["cpu_limit"] == "1"
    run_dir = run_dir_of(tmp_path / "half")
    assert "| server | 0.5 cores, cores 1 | busy |" in (run_dir / "report.md").read_text()
    assert 'data-service="server"' in (run_dir / "report.html").read_text()
    assert "limit 0.5 cores" in (run_dir / "report.md").read_text() and "limit 0.5 cores" in (run_dir / "report.html").read_text()
    # sla diff names the CPU limit as the difference, with a service time near 2x and the throttling
    done = subprocess.run([*SLA, "diff", str(run_dir_of(tmp_path / "one")), str(run_dir)], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    why = next(line for line in done.stdout.splitlines() if line.strip().startswith("why: busy:"))
    service = float(why.split("service time ")[1].split("x")[0])
    assert 1.6 <= service <= 2.6, why
    assert "B throttled in" in why and "what differs: target.cpus 1 -> 0.5; server cpu_limit 1 -> 0.5" in why


def test_ctrl_c_mid_run_leaves_no_cgroup_and_no_process(tmp_path):
    scenario, sla_file = write(tmp_path, 0.5, duration=60)
    controller = find_controller()
    gate: list[int] = []

    def up(pid, kids):  # the server is up, in its group, and the load is running
        logs = list((tmp_path / "runs").glob("*/locust.log"))
        groups = list(controller.path.glob(f"{GROUP_PREFIX}{pid}-*"))
        if groups and "reference_server" in " ".join(kids.values()) and logs and "phase busy started" in logs[0].read_text():
            assert len(groups) == 1 and (groups[0] / "cgroup.procs").read_text().split()  # the server's processes are in it
            gate.append(pid)
            return True
        return False

    code, err, children = interrupt_when_up([*SLA, "run", str(scenario), "--sla", str(sla_file), "--out", str(tmp_path / "runs")],
                                            ROOT, up, what="the run never reached its busy phase with the server in its cgroup")
    assert code == 130 and "interrupted" in err
    assert list(controller.path.glob(f"{GROUP_PREFIX}{gate[0]}-*")) == []
    assert left_running(children) == []
