"""Right answers under load, end to end: the trained reference server read by real Locust, judged
from real Prometheus. A planted bug that crosses the answers of two requests recognised at once
(`--fault crossed-batches`, test-only) passes every latency objective and fails on accuracy, under
load only; the same scenario without it passes."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from tests.gate.test_own_service_e2e import ROOT, SLA as SLA_COMMAND

pytestmark = pytest.mark.e2e

# Two workers, so two requests can be in recognition at once; small pages (several lines each).
SCENARIO = """
name: accuracy-e2e
target:
  server: {preset: tiny, threads: 1, instances: 2}
payloads:
  mix: {small-plain-png: 1, small-noisy-jpeg: 1}
request: {timeout: 10s}
phases:
  - {name: quiet, kind: users, duration: 6s, users: 1}
  - {name: load, kind: users, duration: 10s, users: 4}
"""
SLA = """
name: accuracy-e2e
phases:
  quiet:
    accuracy: {exact_lines: 90%}
  load:
    accuracy: {exact_lines: 90%, cer: 3%}
    accuracy_drop: {vs: quiet, max: 5%}
    latency: {p50: 5s, p95: 8s}
    error_rate: 5%
"""


def start(tmp_path: Path, fault: str | None) -> tuple[subprocess.Popen, Path]:
    tmp_path.mkdir(parents=True, exist_ok=True)
    (tmp_path / "s.yaml").write_text(SCENARIO)
    (tmp_path / "sla.yaml").write_text(SLA)
    env = {**os.environ, **({"OCR_FAULT": fault} if fault else {})}  # the gate's server inherits it
    proc = subprocess.Popen([*SLA_COMMAND, "run", str(tmp_path / "s.yaml"), "--sla", str(tmp_path / "sla.yaml"),
                             "--out", str(tmp_path / "runs")], cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True)
    return proc, tmp_path / "runs"


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> dict[str, tuple[int, str, dict, Path]]:
    """Both runs at once (each a fresh server): with the fault, and without."""
    base = tmp_path_factory.mktemp("accuracy")
    started = {name: start(base / name, fault) for name, fault in (("right", None), ("crossed", "crossed-batches"))}
    out = {}
    for name, (proc, runs_dir) in started.items():
        log, _ = proc.communicate(timeout=300)
        [run_dir] = [p for p in runs_dir.iterdir() if (p / "run.json").exists()]
        out[name] = (proc.returncode, log, json.loads((run_dir / "result.json").read_text()), run_dir)
    return out


def by_id(doc: dict) -> dict[str, dict]:
    return {o["id"]: o for o in doc["objectives"]}


def test_the_trained_server_reads_right_under_load(runs):
    code, log, doc, _ = runs["right"]
    assert code == 0, log[-3000:]
    judged = by_id(doc)
    for oid in ("quiet.accuracy.exact_lines", "load.accuracy.exact_lines", "load.accuracy.cer", "load.accuracy_drop"):
        assert judged[oid]["verdict"] == "PASS", judged[oid]
    assert judged["load.accuracy.exact_lines"]["value"] >= 0.9 and judged["load.accuracy.exact_lines"]["samples"] >= 90
    assert "loadgen_answers_total" in judged["load.accuracy.exact_lines"]["promql"]
    acc = doc["phases"]["load"]["accuracy"]  # shown per phase beside latency
    assert acc["answers"] > 10 and acc["exact_lines"] >= 0.9 and acc["cer"] <= 0.03


def test_answers_crossed_under_load_fail_on_accuracy_alone(runs):
    code, log, doc, run_dir = runs["crossed"]
    assert code == 1, log[-3000:]
    judged = by_id(doc)
    failed = {oid for oid, o in judged.items() if o["verdict"] == "FAIL"}
    assert failed and failed <= {"load.accuracy.exact_lines", "load.accuracy.cer", "load.accuracy_drop"}, judged
    assert "load.accuracy.exact_lines" in failed and "load.accuracy_drop" in failed
    assert judged["quiet.accuracy.exact_lines"]["verdict"] == "PASS"  # one request at a time reads right
    for oid in ("load.latency.p50", "load.latency.p95", "load.error_rate"):
        assert judged[oid]["verdict"] == "PASS", judged[oid]  # fast, and every answer a 200
    right = runs["right"][2]["phases"]["load"]["accuracy"]["exact_lines"]
    assert doc["phases"]["load"]["accuracy"]["exact_lines"] < right - 0.1
    report = (run_dir / "report.md").read_text()
    assert "| Exact lines | CER |" in report and "accuracy_drop" in report
