"""What a run records of where it ran (sla/environment.py): the host's CPU, its limit, and what the
target reported of itself, as run.json keeps them and the reports show them."""

from __future__ import annotations

from pathlib import Path

import pytest

from sla.environment import environment_lines, read_cpuinfo, read_target_environment, target_environment
from sla.limits import cpu_list, cpu_list_text, own_cpu_quota
from sla.targets.metrics import MAPPINGS

ZEN3 = """processor\t: 0
vendor_id\t: AuthenticAMD
model name\t: AMD EPYC 7763 64-Core Processor
flags\t\t: fpu sse sse2 avx avx2 fma bmi2
processor\t: 1
model name\t: AMD EPYC 7763 64-Core Processor
flags\t\t: fpu sse sse2 avx avx2 fma bmi2
"""
SAPPHIRE = "model name\t: Intel(R) Xeon(R) Platinum 8480+\nflags\t\t: avx2 fma avx512f avx512_vnni avx512_bf16 amx_tile amx_int8 amx_bf16\n"


def test_the_cpu_model_and_the_isa_that_inference_libraries_dispatch_on_are_read():
    assert read_cpuinfo(ZEN3) == ("AMD EPYC 7763 64-Core Processor", ["avx2", "fma"])
    assert read_cpuinfo(SAPPHIRE)[1] == ["avx2", "fma", "avx512f", "avx512_vnni", "avx512_bf16", "amx_tile", "amx_int8", "amx_bf16"]
    assert read_cpuinfo("Features\t: fp asimd\n") == (None, [])  # an ARM machine: no model line, no x86 flags


@pytest.mark.parametrize("cores", [[0], [1], [0, 1], [0, 1, 2, 5], [3, 5, 6, 7, 9]])
def test_cores_are_written_as_a_linux_cpu_list_and_read_back(cores):
    assert list(cpu_list(cpu_list_text(cores))) == cores
    assert cpu_list_text([0, 1, 2, 5]) == "0-2,5"


def _group(base: Path, rel: str, **files: str) -> None:
    (base / rel).mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (base / rel / name.replace("_", ".", 1)).write_text(text)


def test_a_v1_quota_on_the_process_group_or_above_it_is_its_cpu_limit(tmp_path):
    _group(tmp_path / "cpu", "", cpu_cfs_quota_us="-1", cpu_cfs_period_us="100000")
    _group(tmp_path / "cpu", "kube", cpu_cfs_quota_us="150000", cpu_cfs_period_us="100000")
    _group(tmp_path / "cpu", "kube/pod", cpu_cfs_quota_us="50000", cpu_cfs_period_us="100000")
    assert own_cpu_quota(tmp_path, "4:memory:/x\n1:cpu,cpuacct:/kube/pod\n0::/\n") == 0.5
    assert own_cpu_quota(tmp_path, "1:cpu,cpuacct:/kube\n") == 1.5
    assert own_cpu_quota(tmp_path, "1:cpu,cpuacct:/\n") is None  # unlimited


def test_a_v2_cpu_max_is_its_cpu_limit_and_max_is_none(tmp_path):
    _group(tmp_path, "svc", cpu_max="33000 100000\n")
    _group(tmp_path, "free", cpu_max="max 100000\n")
    assert own_cpu_quota(tmp_path, "0::/svc\n") == pytest.approx(0.33)
    assert own_cpu_quota(tmp_path, "0::/free\n") is None
    assert own_cpu_quota(tmp_path, "0::/gone\n") is None  # a hierarchy that cannot be read says nothing


class Reader:
    """The PromReader's query, answering from a table (pure logic only; the e2e tests use Prometheus)."""

    def __init__(self, answers: dict[str, list[dict]]) -> None:
        self.answers, self.asked = answers, []

    def query(self, expr: str) -> list[dict]:
        self.asked.append(expr)
        return next((rows for name, rows in self.answers.items() if expr.startswith(name + "{")), [])


def test_the_target_is_described_by_what_its_metrics_report_and_replicas_alike_count_once():
    row = {"cpu_model": "AMD EPYC", "cores": "2", "affinity": "1", "cpu_limit": "0.5", "isa": "avx2,fma", "paddle_version": "3.3.1"}
    reader = Reader({"ocr_server_environment_info": [{"metric": {"__name__": "x", "job": "server", "instance": i, **row}, "value": [0, "1"]}
                                                     for i in ("a:1", "b:2")],
                     "python_info": [{"metric": {"version": "3.11.7"}, "value": [0, "1"]}]})
    env = read_target_environment(reader, MAPPINGS["reference"], 1000.0)
    assert env["reported"] and env["info"]["ocr_server_environment_info"] == row and env["python"] == "3.11.7"
    assert all(q.endswith("@ 1000.000") and 'job="server"' in q for q in reader.asked)  # pinned to the run's end
    [(who, what)] = [line for line in environment_lines({"target": env}) if "environment" in line[0]]
    assert what.startswith("AMD EPYC, 2 cores (affinity 1), limit 0.5 cores, avx2 fma") and "paddle_version=3.3.1" in what


def test_a_target_that_reports_nothing_says_so_and_nothing_is_guessed():
    env = read_target_environment(Reader({}), MAPPINGS["kserve"], 1000.0)
    assert env == {"reported": False, "note": "not reported: its metrics carry no info metric, no python_info and no process metrics"}
    assert read_target_environment(Reader({}), None, 1.0)["note"] == "not reported: the target has no server metrics mapping"
    assert environment_lines({"target": env}) == [("target", env["note"])]
    assert target_environment({"build_info": []}, "3.12.1") == {"reported": True, "info": {}, "python": "3.12.1", "process": "not reported"}


def test_a_stack_with_only_process_metrics_reports_them():
    reader = Reader({"process_resident_memory_bytes": [{"metric": {}, "value": [0, str(512 * 2**20)]}],
                     "process_max_fds": [{"metric": {}, "value": [0, "1024"]}]})
    env = read_target_environment(reader, MAPPINGS["kserve"], 1000.0)
    assert env["reported"] and env["process"] == {"process_resident_memory_bytes": 512 * 2**20, "process_max_fds": 1024.0}
    assert environment_lines({"target": env}) == [("target (process metrics)", "resident memory 512 MiB, max fds 1024")]


def test_the_load_generators_host_is_one_line_with_its_cpu_first():
    host = {"cpu_model": "AMD EPYC", "cores": 2, "affinity": "0", "cpu_limit": None, "isa": ["avx2", "avx512f"],
            "memory_bytes": 24 * 2**30, "kernel": "6.1.0", "python": "3.11.7", "locust": "2.47.0", "harness": "0.1.0"}
    assert environment_lines({"loadgen": host})[0] == (
        "load generator", "AMD EPYC, 2 cores (affinity 0), avx2 avx512f, 24 GiB, Linux 6.1.0, Python 3.11.7, Locust 2.47.0, harness 0.1.0")
