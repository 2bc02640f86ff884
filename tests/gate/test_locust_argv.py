"""The Locust command line `sla run` starts (pure): what reaches Locust decides the run."""

from __future__ import annotations

from pathlib import Path

from sla.gate import LOCUSTFILE, RunOptions, locust_argv
from sla.inputs import load_inputs

ROOT = Path(__file__).resolve().parents[2]


def argv(tmp_path, sla: str = "", **options) -> list[str]:
    sla_path = None
    if sla:
        sla_path = tmp_path / "sla.yaml"
        sla_path.write_text(sla)
    scenario, spec = load_inputs(ROOT / "scenarios" / "smoke.yaml", sla_path)
    return locust_argv(RunOptions(scenario=scenario.path, **options), scenario, spec, LOCUSTFILE, "http://127.0.0.1:9", 9100,
                       tmp_path / "r", "r")


def value(args: list[str], flag: str) -> str:
    return args[args.index(flag) + 1]


def test_a_single_runner_gets_the_scenario_the_run_and_the_slas_limits_as_buckets(tmp_path):
    args = argv(tmp_path)
    assert args[1:5] == ["-m", "locust", "-f", str(LOCUSTFILE)] and "--headless" in args
    assert value(args, "--scenario").endswith("smoke.yaml") and value(args, "--host") == "http://127.0.0.1:9"
    assert value(args, "--metrics-port") == "9100" and value(args, "--run-id") == "r" and value(args, "--run-dir") == str(tmp_path / "r")
    assert value(args, "--extra-buckets") == "0.15,0.6"  # smoke's P50 150ms and P95 600ms
    assert "--processes" not in args and "--master" not in args and "--answer-sample" not in args and "--allow-remote" not in args


def test_workers_elsewhere_make_a_master_that_waits_for_them(tmp_path):
    args = argv(tmp_path, expect_workers=3, master_bind_host="0.0.0.0", workers_wait_s=30.0)
    assert value(args, "--expect-workers") == "3" and value(args, "--master-bind-host") == "0.0.0.0"
    assert value(args, "--expect-workers-max-wait") == "30" and "--master" in args


def test_local_processes_a_sampled_accuracy_and_consent_to_a_remote_host_are_passed_on(tmp_path):
    args = argv(tmp_path, "name: s\nphases:\n  steady: {accuracy: {exact_lines: 90%, sample: 25%}}\n", processes=2, allow_remote=True)
    assert value(args, "--processes") == "2" and value(args, "--answer-sample") == "0.25" and "--allow-remote" in args
    assert "--extra-buckets" not in args  # no latency limit: no extra boundary
