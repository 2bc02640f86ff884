"""CPU limits (sla/limits.py): cpu lists, cpu.stat, finding a writable controller, refusals of bad
input before any traffic, and what the reports show. Real directories stand in for the cgroup
mounts; the e2e test (tests/gate/test_cpu_limit_e2e.py) limits a real server."""

from __future__ import annotations

import os
import subprocess
import sys
from contextlib import contextmanager
from pathlib import Path

import pytest

from sla.cli import main
from sla.limits import (CGROUP_ROOT_ENV, GROUP_PREFIX, Controller, CpuGroup, CpuLimit, CpuLimitError, cpu_list, cpu_rows,
                        find_controller, read_cpu_stat, suite_slowdown)
from sla.scenario import load_scenario
from sla.validation import FileProblems

ROOT = Path(__file__).resolve().parents[2]


def v1_tree(root: Path) -> Path:
    cpu = root / "cpu"
    cpu.mkdir(parents=True)
    (cpu / "cpu.cfs_quota_us").write_text("-1\n")
    return cpu


@contextmanager
def read_only(path: Path):
    """`path` read-only even for root: a read-only bind mount (as root), else its write bits off."""
    if os.geteuid() == 0:
        subprocess.run(["mount", "--bind", str(path), str(path)], check=True)
        try:
            subprocess.run(["mount", "-o", "remount,bind,ro", str(path)], check=True)
            yield
        finally:
            subprocess.run(["umount", str(path)], check=True)
    else:
        path.chmod(0o555)
        try:
            yield
        finally:
            path.chmod(0o755)


@pytest.mark.parametrize(("text", "cores"), [("1", (1,)), ("0-1", (0, 1)), ("0,2-3", (0, 2, 3)), (" 1 , 0 ", (0, 1))])
def test_cpu_lists_read_as_linux_writes_them(text, cores):
    assert cpu_list(text) == cores


@pytest.mark.parametrize(("text", "message"), [("a", "not a core number"), ("3-1", "from low to high"), ("", "no cores")])
def test_bad_cpu_lists_say_what_is_wrong(text, message):
    with pytest.raises(ValueError, match=message):
        cpu_list(text)


def test_cpu_stat_of_v1_and_v2_in_the_same_units(tmp_path):
    (tmp_path / "v1").write_text("nr_periods 30\nnr_throttled 12\nthrottled_time 1500000000\n")
    (tmp_path / "v2").write_text("usage_usec 900000\nuser_usec 1\nsystem_usec 2\nnr_periods 30\nnr_throttled 12\nthrottled_usec 1500000\n")
    assert read_cpu_stat(tmp_path / "v1") == {"nr_periods": 30, "nr_throttled": 12, "throttled_s": 1.5}
    assert read_cpu_stat(tmp_path / "v2") == {"nr_periods": 30, "nr_throttled": 12, "throttled_s": 1.5, "usage_s": 0.9}


def test_a_writable_v1_cpu_controller_is_found_and_writes_a_docker_style_quota(tmp_path):
    cpu = v1_tree(tmp_path)
    controller = find_controller(tmp_path)
    assert controller == Controller(cpu, 1)
    assert controller.quota_files(0.5) == [("cpu.cfs_period_us", "100000"), ("cpu.cfs_quota_us", "50000")]
    assert Controller(tmp_path, 2).quota_files(1.5) == [("cpu.max", "150000 100000")]


def test_a_v2_hierarchy_without_the_cpu_controller_falls_back_to_v1(tmp_path):
    v1_tree(tmp_path)
    (tmp_path / "unified").mkdir()
    (tmp_path / "unified" / "cgroup.controllers").write_text("memory pids\n")  # cpu is bound to v1, as on this machine
    assert find_controller(tmp_path).version == 1


def test_no_controller_at_all_is_refused_with_where_it_looked(tmp_path):
    with pytest.raises(CpuLimitError, match=f"no cgroup cpu controller under {tmp_path}"):
        find_controller(tmp_path)


def test_a_read_only_controller_is_refused_with_the_reason(tmp_path):
    cpu = v1_tree(tmp_path)
    with read_only(cpu), pytest.raises(CpuLimitError, match="is not writable") as refused:
        find_controller(tmp_path)
    assert "Remove target.cpus" in str(refused.value)


def test_groups_left_by_a_gate_killed_outright_are_removed_by_the_next(tmp_path):
    cpu = v1_tree(tmp_path)
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    stale, live = cpu / f"{GROUP_PREFIX}{gone.pid}-server-1", cpu / f"{GROUP_PREFIX}{os.getpid()}-server-2"
    stale.mkdir()
    live.mkdir()
    find_controller(tmp_path)
    assert not stale.exists() and live.exists()  # only the dead gate's group


def test_throttling_over_a_phase_is_the_counters_difference_inside_it(tmp_path):
    group = CpuGroup(Controller(tmp_path, 1), "x", 0.5)
    group.samples = [(t, {"nr_periods": 10.0 * t, "nr_throttled": 5.0 * t, "throttled_s": 0.25 * t}) for t in range(10)]
    assert group.over(2.5, 7) == {"nr_periods": 30.0, "nr_throttled": 15.0, "throttled_s": 0.75}  # samples 3..6
    assert group.over(20, 30) is None  # not sampled then


def test_the_suite_slowdown_sets_a_quota_only_where_the_scenario_sets_none():
    assert suite_slowdown(CpuLimit(), {"SLA_TEST_CPUS": "0.33"}) == CpuLimit(0.33)
    assert suite_slowdown(CpuLimit(1.5, (1,)), {"SLA_TEST_CPUS": "0.33"}) == CpuLimit(1.5, (1,))
    assert suite_slowdown(CpuLimit(None, (1,)), {}) == CpuLimit(None, (1,))
    with pytest.raises(CpuLimitError, match="not a number of cores"):
        suite_slowdown(CpuLimit(), {"SLA_TEST_CPUS": "slow"})


SCENARIO = """name: limited
target:
{target}
payloads: {{mix: {{label-plain-png: 1}}}}
phases: [{{name: steady, kind: users, duration: 2s, users: 1}}]
"""


def scenario_file(tmp_path: Path, target: str) -> Path:
    path = tmp_path / "s.yaml"
    path.write_text(SCENARIO.format(target=target))
    (tmp_path / "sla.yaml").write_text("name: limited\nphases:\n  steady:\n    latency: {p50: 5s}\n")
    return path


@pytest.mark.parametrize(("value", "message"), [
    ("0", "at least 0.01 cores"), ("-1", "at least 0.01 cores"), ("fast", "not a number of cores"), ("true", "not a number of cores"),
    (str((os.cpu_count() or 1) + 1), f"more than the {os.cpu_count()} cores this machine has"),
])
def test_bad_cpus_are_refused_naming_the_key_and_what_is_accepted(tmp_path, value, message):
    with pytest.raises(FileProblems) as refused:
        load_scenario(scenario_file(tmp_path, f"  cpus: {value}"))
    assert "target.cpus: got" in str(refused.value)
    assert message in str(refused.value) and "expected a number of cores such as 0.5 or 1.5" in str(refused.value)


@pytest.mark.parametrize(("value", "message"), [("[7]", "no core 7 here"), ("\"1-0\"", "from low to high"), ("[true]", "not a list of core numbers")])
def test_bad_cpusets_are_refused(tmp_path, value, message):
    with pytest.raises(FileProblems, match=message):
        load_scenario(scenario_file(tmp_path, f"  cpuset: {value}"))


def test_a_quota_for_a_running_target_host_is_refused_in_the_file(tmp_path):
    with pytest.raises(FileProblems, match="target.cpus: limits a service the gate starts; target.host is a running one"):
        load_scenario(scenario_file(tmp_path, "  host: http://127.0.0.1:8866\n  cpus: 0.5"))


def test_cpus_with_host_is_refused_before_any_traffic(tmp_path, capsys):
    path = scenario_file(tmp_path, "  cpus: 0.5")
    assert main(["run", str(path), "--sla", str(tmp_path / "sla.yaml"), "--host", "http://127.0.0.1:9", "--out", str(tmp_path / "runs")]) == 3
    assert "limit a service the gate starts" in capsys.readouterr().err
    assert not (tmp_path / "runs").exists()


def test_cpus_without_a_writable_cgroup_is_refused_before_any_traffic(tmp_path, capsys, monkeypatch):
    fake = tmp_path / "cgroup"
    v1_tree(fake)
    path = scenario_file(tmp_path, "  cpus: 0.5")
    monkeypatch.setenv(CGROUP_ROOT_ENV, str(fake))
    with read_only(fake / "cpu"):
        assert main(["run", str(path), "--sla", str(tmp_path / "sla.yaml"), "--out", str(tmp_path / "runs")]) == 3
    err = capsys.readouterr().err
    assert "target.cpus needs a writable cgroup cpu controller" in err and f"{fake / 'cpu'} (cgroup v1 cpu controller) is not writable" in err
    assert not (tmp_path / "runs").exists()  # nothing started, no run directory


def test_reports_show_each_services_limit_and_throttling_per_phase():
    server = {"cpu": {"cpus": 0.5, "cpuset": [1], "loadgen_cores": [0],
                      "phases": {"steady": {"nr_periods": 200.0, "nr_throttled": 150.0, "throttled_s": 5.4}}}}
    [row] = cpu_rows(server)
    assert row == {"service": "server", "limit": "0.5 cores, cores 1", "phase": "steady", "loadgen_cores": [0], "periods": 200.0,
                   "throttled": 150.0, "throttled_s": 5.4}
    replicas = {"replicas": {"replicas": [{"replica": "r1", "cpu": {"cpus": 1.0, "cpuset": None, "phases": {}}}, {"replica": "r2"}]}}
    assert [(r["service"], r["limit"], r["phase"]) for r in cpu_rows(replicas)] == [("r1", "1 cores", None)]
