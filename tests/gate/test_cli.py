"""The CLI without starting anything: plans, input errors and defaults."""

import sys
import time
from pathlib import Path

import pytest

from sla.cli import main
from sla.inputs import default_sla
from sla.progress import Progress
from sla.scenario import load_scenario

ROOT = Path(__file__).resolve().parents[2]


def test_plan_prints_phases_and_users_over_time(capsys):
    assert main(["plan", str(ROOT / "scenarios" / "ramp_up.yaml")]) == 0
    out = capsys.readouterr().out
    assert "ramp" in out and "plateau" in out and "arrivals 0.25/s -> 1/s" in out
    assert "plateau.latency.p95" in out and "needs    90  planned 120" in out  # the SLA's sample needs


@pytest.mark.parametrize(
    "argv",
    [["plan", "no/such/scenario.yaml"], ["run", "no/such/scenario.yaml"], ["check", "no/such/run"], ["explain", "no/such/run"]],
)
def test_missing_files_exit_3_and_name_the_path(argv, capsys):
    assert main(argv) == 3
    assert "no/such" in capsys.readouterr().err


def test_a_fresh_scenario_refuses_host(capsys):
    assert main(["run", str(ROOT / "scenarios" / "cold_start.yaml"), "--host", "http://127.0.0.1:8866"]) == 3
    assert "target.fresh is true" in capsys.readouterr().err


def test_a_remote_host_is_refused(capsys):
    assert main(["run", str(ROOT / "scenarios" / "smoke.yaml"), "--host", "http://192.168.1.20:8866"]) == 3
    assert "only to loopback" in capsys.readouterr().err


def test_each_shipped_scenario_has_an_sla_that_names_its_phases():
    for path in sorted((ROOT / "scenarios").glob("*.yaml")):
        scenario = load_scenario(path)
        sla = default_sla(scenario)
        assert sla.name in (f"{scenario.name}.yaml", "ocr.yaml")
        assert main(["plan", str(path)]) == 0


EXPOSITION = """
loadgen_request_duration_seconds_bucket{le="0.1",name="a",outcome="success",phase="steady",run_id="r"} %d
loadgen_request_duration_seconds_bucket{le="0.2",name="a",outcome="success",phase="steady",run_id="r"} %d
loadgen_request_duration_seconds_bucket{le="+Inf",name="a",outcome="success",phase="steady",run_id="r"} %d
loadgen_request_duration_seconds_count{name="a",outcome="success",phase="steady",run_id="r"} %d
loadgen_request_duration_seconds_count{name="a",outcome="failure",phase="steady",run_id="r"} 2
loadgen_phase{phase="steady",run_id="r"} 1
loadgen_users 4
"""


def test_progress_shows_rate_and_p99_over_the_last_interval(capsys):
    import io

    out = io.StringIO()
    progress = Progress(load_scenario(ROOT / "scenarios" / "smoke.yaml"), out)
    progress.update(EXPOSITION % (10, 10, 10, 10), now=100.0)
    progress.update(EXPOSITION % (10, 30, 30, 30), now=102.0)  # 20 more, all in (0.1, 0.2]
    last = out.getvalue().splitlines()[-1]
    assert "phase steady" in last and "users   4" in last and "10.0 req/s" in last and "ok 30" in last and "failed 2" in last
    assert "P99   199ms" in last


def test_compare_refuses_a_target_whose_options_it_cannot_vary(tmp_path, capsys):
    assert main(["compare", str(ROOT / "scenarios" / "paddlex.yaml"), "--vary", "threads=1,2", "--out", str(tmp_path)]) == 3
    assert "sla compare varies the reference server's options" in capsys.readouterr().err


def test_a_target_api_without_a_way_to_start_it_needs_a_command_or_a_host(tmp_path, capsys):
    path = tmp_path / "s.yaml"
    path.write_text("name: s\ntarget: {api: paddlehub}\npayloads: {mix: {small-plain-png: 1}}\n"
                    "phases: [{name: steady, kind: users, duration: 5s, users: 1}]\n")
    sla = tmp_path / "sla.yaml"
    sla.write_text("phases: {steady: {error_rate: 1%}}\n")
    assert main(["run", str(path), "--sla", str(sla), "--out", str(tmp_path)]) == 3
    assert "give target.command" in capsys.readouterr().err


def test_a_remote_target_host_in_the_scenario_is_refused_without_consent(tmp_path, capsys):
    path = tmp_path / "s.yaml"
    path.write_text("name: s\ntarget: {host: 'http://203.0.113.7:8080'}\npayloads: {mix: {small-plain-png: 1}}\n"
                    "phases: [{name: steady, kind: users, duration: 5s, users: 1}]\n")
    assert main(["run", str(path), "--sla", str(ROOT / "sla" / "thresholds" / "lax.yaml"), "--out", str(tmp_path)]) == 3
    assert "--allow-remote" in capsys.readouterr().err and not any(tmp_path.glob("*/run.json"))


def test_a_missing_locustfile_is_named(tmp_path, capsys):
    assert main(["run", "-f", str(tmp_path / "nope.py"), str(ROOT / "scenarios" / "smoke.yaml"), "--out", str(tmp_path)]) == 3
    assert "nope.py: no such locustfile" in capsys.readouterr().err


@pytest.mark.parametrize("path", sorted((ROOT / "scenarios").glob("*.yaml")), ids=lambda p: p.stem)
def test_every_shipped_scenario_and_its_sla_agree_and_plan_enough_requests_for_each_claim(path):
    from sla.claims import claim_problems, claims
    from sla.inputs import load_inputs

    scenario, sla = load_inputs(path, None)  # phase names and at_rate are checked here
    assert default_sla(scenario).name == f"{scenario.name}.yaml", "each shipped scenario has its own SLA"
    assert claim_problems(scenario, sla) == []
    assert all(c.planned is not None for c in claims(scenario, sla) if c.need > 20)


def test_a_run_of_a_series_that_could_not_run_is_run_again_once_and_says_why(monkeypatch, capsys):
    import sla.gate as gate
    from sla.errors import SlaError

    calls = []

    def flaky(opts, out):
        calls.append(opts.run_id)
        if len(calls) == 1:
            raise SlaError("--metrics-port 41329: cannot listen on 127.0.0.1:41329 (Address already in use)\nmore")
        return "outcome"

    monkeypatch.setattr(gate, "run_gate", flaky)
    outcome, note = gate.run_gate_once_more_on_failure(gate.RunOptions(scenario=Path("s.yaml"), run_id="step01-20"))
    assert outcome == "outcome" and calls == ["step01-20", "step01-20-again"]
    assert note == "run again after: --metrics-port 41329: cannot listen on 127.0.0.1:41329 (Address already in use)"
    monkeypatch.setattr(gate, "run_gate", lambda opts, out: (_ for _ in ()).throw(SlaError("still broken")))
    with pytest.raises(SlaError, match="still broken"):
        gate.run_gate_once_more_on_failure(gate.RunOptions(scenario=Path("s.yaml"), run_id="x"))


def test_a_rate_beyond_what_the_load_generator_processes_deliver_is_flagged_before_traffic(tmp_path, capsys):
    path = tmp_path / "fast.yaml"
    path.write_text("name: fast\npayloads: {mix: {small-plain-png: 1}}\n"
                    "phases: [{name: steady, kind: arrival_rate, duration: 10s, rate: 12000/s}]\n")
    sla = tmp_path / "sla.yaml"
    sla.write_text("phases: {steady: {latency: {p50: 1s}}}\n")
    assert main(["plan", str(path), "--sla", str(sla)]) == 0
    out = capsys.readouterr().out
    assert "asks up to 12000/s, over the 4,000/s one load-generator process delivers" in out and "--processes 3" in out
    assert main(["plan", str(path), "--sla", str(sla), "--processes", "3"]) == 0
    assert "over the 4,000/s" not in capsys.readouterr().out


def test_ports_handed_to_children_are_never_the_same_twice():
    from sla.processes import free_port

    ports = [free_port() for _ in range(2000)]  # the kernel offers released ports again; the gate must not
    assert len(set(ports)) == len(ports)


def test_a_process_that_lost_its_port_is_told_apart_by_its_own_log(tmp_path):
    from sla.processes import ManagedProcess

    log = tmp_path / "child.log"
    clash = ManagedProcess("child", [sys.executable, "-c", "print('OSError: [Errno 98] Address already in use'); raise SystemExit(1)"], log)
    clash.start().proc.wait(10)
    assert clash.lost_its_port()
    other = ManagedProcess("child", [sys.executable, "-c", "print('no model here'); raise SystemExit(1)"], log)
    other.start().proc.wait(10)  # the same log, appended: the earlier start's clash is not this one's
    assert not other.lost_its_port() and other.log_tail() == "no model here"


def test_a_child_that_left_for_a_session_of_its_own_is_stopped_with_its_parent(tmp_path):
    """As BentoML's and Ray's workers do: the group's signal does not reach it, its pid does."""
    from sla.processes import ManagedProcess

    pid_file = tmp_path / "grandchild.pid"
    script = ("import signal, subprocess, sys, time\n"
              "child = subprocess.Popen(['sleep', '300'], start_new_session=True)\n"
              f"open({str(pid_file)!r}, 'w').write(str(child.pid))\n"
              "signal.signal(signal.SIGTERM, signal.SIG_IGN)\n"  # the parent outlives the grace: SIGKILL, children orphaned
              "time.sleep(300)\n")
    parent = ManagedProcess("parent", [sys.executable, "-c", script], tmp_path / "parent.log").start()
    deadline = time.monotonic() + 10
    while not pid_file.exists() or not pid_file.read_text():
        assert time.monotonic() < deadline
        time.sleep(0.05)
    grandchild = int(pid_file.read_text())
    parent.stop(grace_s=0.5)
    deadline = time.monotonic() + 10
    while Path(f"/proc/{grandchild}").exists() and Path(f"/proc/{grandchild}/stat").read_text().rpartition(")")[2].split()[0] != "Z":
        assert time.monotonic() < deadline, "the grandchild in its own session outlived the stop"
        time.sleep(0.05)


@pytest.mark.e2e
def test_prometheus_that_lost_its_port_is_started_on_another(tmp_path, monkeypatch):
    import socket

    import sla.prometheus.server as prometheus

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        offered = iter([port])
        real = prometheus.free_port
        monkeypatch.setattr(prometheus, "free_port", lambda: next(offered, None) or real())
        process, url = prometheus.start_prometheus(tmp_path / "prom")
        try:
            assert process.alive() and not url.endswith(f":{port}")
            assert "address already in use" in (tmp_path / "prom" / "prometheus.log").read_text()
        finally:
            process.stop()
