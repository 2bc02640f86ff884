"""Right answers under load, end to end: the trained reference server read by real Locust, judged
from real Prometheus. A planted bug that crosses the answers of two requests recognised at once
(`--fault crossed-batches`, test-only) passes every latency objective and fails on accuracy, under
load only. (Without the fault the trained server reads right at load: the smoke run of
tests/gate/test_gate_e2e.py judges accuracy too, and passes.)"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from tests.gate.test_own_service_e2e import ROOT, SLA as SLA_COMMAND

pytestmark = [pytest.mark.e2e, pytest.mark.cpu_bound]

# Two workers, so two requests can be in recognition at once; small pages (several lines each).
# Each phase is long enough for its claims when the server runs at a third of a core's speed
# beside another test: quiet's 90 % of exact lines needed 275 lines and got 265 in 6 s; load's P95
# and error rate need 90 requests each and got 89 in 10 s (measured).
SCENARIO = """
name: accuracy-e2e
target:
  server: {preset: tiny, threads: 1, instances: 2}
payloads:
  mix: {small-plain-png: 1, small-noisy-jpeg: 1}
request: {timeout: 10s}
phases:
  - {name: quiet, kind: users, duration: 12s, users: 1}
  - {name: load, kind: users, duration: 20s, users: 4}
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


@pytest.fixture(scope="module")
def crossed(tmp_path_factory) -> tuple[int, str, dict, Path]:
    """One run with the fault (a fresh server; it inherits OCR_FAULT from the gate's environment)."""
    base = tmp_path_factory.mktemp("accuracy")
    (base / "s.yaml").write_text(SCENARIO)
    (base / "sla.yaml").write_text(SLA)
    result = subprocess.run([*SLA_COMMAND, "run", str(base / "s.yaml"), "--sla", str(base / "sla.yaml"), "--out", str(base / "runs")],
                            cwd=ROOT, env={**os.environ, "OCR_FAULT": "crossed-batches"}, capture_output=True, text=True, timeout=300)
    [run_dir] = [p for p in (base / "runs").iterdir() if (p / "run.json").exists()]
    return result.returncode, result.stdout + result.stderr, json.loads((run_dir / "result.json").read_text()), run_dir


def by_id(doc: dict) -> dict[str, dict]:
    return {o["id"]: o for o in doc["objectives"]}


def test_answers_crossed_under_load_fail_on_accuracy_alone(crossed):
    code, log, doc, run_dir = crossed
    assert code == 1, log[-3000:]
    judged = by_id(doc)
    failed = {oid for oid, o in judged.items() if o["verdict"] == "FAIL"}
    assert failed and failed <= {"load.accuracy.exact_lines", "load.accuracy.cer", "load.accuracy_drop"}, judged
    assert "load.accuracy.exact_lines" in failed and "load.accuracy_drop" in failed
    assert judged["quiet.accuracy.exact_lines"]["verdict"] == "PASS"  # one request at a time reads right
    for oid in ("load.latency.p50", "load.latency.p95", "load.error_rate"):
        assert judged[oid]["verdict"] == "PASS", judged[oid]  # fast, and every answer a 200
    quiet, load = doc["phases"]["quiet"]["accuracy"], doc["phases"]["load"]["accuracy"]
    assert quiet["exact_lines"] >= 0.9 and load["exact_lines"] < quiet["exact_lines"] - 0.1, (quiet, load)
    report = (run_dir / "report.md").read_text()
    assert "| Exact lines | CER |" in report and "accuracy_drop" in report
