"""`sla diff` (sla/explain/diff.py): what differs between two runs and how their time splits, from
what each run wrote; and its refusals, on run directories written here (no server needed)."""

from __future__ import annotations

from pathlib import Path


from sla.cli import main
from sla.explain.diff import diff, differences, render
from sla.manifest import PhaseWindow, RunManifest, write_json


def manifest(cpus=None, threads="1", cpu_model="AMD EPYC", isa="avx2,fma", port="8000") -> dict:
    server_env = {"cpu_model": cpu_model, "cores": "2", "affinity": "1", "cpu_limit": f"{cpus:g}" if cpus else "none", "isa": isa}
    return {"run_id": "r", "environment": {
        "loadgen": {"cpu_model": cpu_model, "cores": 2, "isa": isa.split(","), "harness": "0.1.0 (commit abc)", "python": "3.11.7"},
        "target": {"reported": True, "info": {"ocr_server_config_info": {"threads": threads, "onednn": "on", "port": port},
                                              "ocr_server_environment_info": server_env}}},
        "server": {"cpu": {"cpus": cpus, "cpuset": [1]}}}


def explained(service: float, queue: float, stages: dict[str, float], saturated=False, utilization=0.3, throttled=None) -> dict:
    server = service + queue
    ev = {"phase": "steady", "client": {"p50": server + 0.002, "p99": 3 * server, "mean": server + 0.002},
          "server": {"mean": server, "p50": server, "p99": 3 * server}, "queue": {"mean": queue},
          "stages": [{"name": k, "mean": v} for k, v in stages.items()], "throttled": throttled}
    return {"evidence": [ev], "phases": [{"phase": "steady", "load": {"service_time": service, "utilization": utilization,
                                                                      "saturated": saturated, "served": 5.0, "capacity": 1 / service}}]}


def run(m: dict, e: dict, p99: float) -> dict:
    return {"manifest": m, "explain": e, "result": {"objectives": [{"id": "steady.latency.p99", "unit": "s", "value": p99, "verdict": "PASS"}]}}


def test_settings_that_change_speed_come_first_and_ports_or_commits_are_not_differences():
    got = differences(manifest(port="1"), manifest(cpus=0.5, threads="2", port="2"))
    assert [k for k, _, _ in got] == ["target.cpus", "server cpu_limit", "server threads"]
    assert got[0] == ("target.cpus", "-", "0.5") and got[1] == ("server cpu_limit", "none", "0.5")
    assert differences(manifest(), manifest()) == []


def test_the_gap_is_split_into_service_time_per_stage_and_queueing_and_names_what_differs():
    a = run(manifest(isa="avx2,fma,avx512f"), explained(0.04, 0.001, {"det": 0.025, "rec": 0.012}), 0.12)
    b = run(manifest(cpu_model="AMD EPYC 7763", isa="avx2,fma"), explained(0.12, 1.5, {"det": 0.085, "rec": 0.03}, saturated=True,
                                                                          utilization=1.2), 1.9)
    doc = diff(a, b, ["steady"])
    sentence = doc["phases"]["steady"]["why"]
    assert sentence.startswith("steady: P99 40x, P50 38x, ")
    assert "service time 3x (det 3.4x, rec 2.5x)" in sentence and "utilization 0.30 -> 1.20, so B's queue grew without bound" in sentence
    assert "what differs: server cpu_model AMD EPYC -> AMD EPYC 7763; server isa avx2,fma,avx512f -> avx2,fma" in sentence
    text = render(doc, "dev", "prod")
    assert "steady.latency.p99" in text and "15.83x" in text and "  det (mean)" in text


def test_throttling_is_named_when_one_run_was_held_back_by_its_quota():
    a = run(manifest(cpus=1.0), explained(0.03, 0.0, {"det": 0.02}, throttled=0.0), 0.1)
    b = run(manifest(cpus=0.5), explained(0.06, 0.0, {"det": 0.04}, throttled=0.62), 0.2)
    sentence = diff(a, b, ["steady"])["phases"]["steady"]["why"]
    assert "service time 2x (det 2x)" in sentence and "B throttled in 62% of its CFS periods (A 0%)" in sentence
    assert "what differs: target.cpus 1 -> 0.5; server cpu_limit 1 -> 0.5" in sentence


def write_run(path: Path, phases: list[str]) -> Path:
    RunManifest("r-" + path.name, {"name": "s"}, "http://127.0.0.1:1",
                phases=[PhaseWindow(p, "users", 0.0, 1.0, 1.0) for p in phases]).write(path)
    write_json(path / "result.json", {"objectives": []})
    write_json(path / "explain.json", {"phases": [{"phase": p, "load": {}} for p in phases], "evidence": [], "findings": []})
    return path


def test_runs_with_different_phases_are_refused_naming_both(tmp_path, capsys):
    a, b = write_run(tmp_path / "a", ["warmup", "steady"]), write_run(tmp_path / "b", ["steady", "spike"])
    assert main(["diff", str(a), str(b)]) == 3
    err = capsys.readouterr().err
    assert "different phases (A: warmup, steady; B: steady, spike)" in err and "--phase" in err
    assert main(["diff", str(a), str(b), "--phase", "spike"]) == 3
    assert f"--phase 'spike' is not a judged phase of {a}" in capsys.readouterr().err


def test_a_path_that_is_not_a_run_is_named(tmp_path, capsys):
    assert main(["diff", str(tmp_path / "nope"), str(write_run(tmp_path / "b", ["steady"]))]) == 3
    assert "nope: not a run directory" in capsys.readouterr().err
