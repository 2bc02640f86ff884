"""A real Open Inference Protocol V2 server: KServe's own ModelServer (its own virtualenv, from
`make kserve`) serving this project's OCR pipeline, started by `sla run` with target.command, judged
on client and server objectives through the `kserve` metrics mapping. Real Prometheus, real Locust."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sla.payloads import make_payload
from tests.gate.test_own_service_e2e import ROOT, locust_rows, objectives, sla

pytestmark = [pytest.mark.e2e, pytest.mark.cpu_bound]

KSERVE_PYTHON = ROOT / ".venvs" / "kserve" / "bin" / "python"
SCENARIO = """
name: kserve-e2e
target:
  api: v2
  options: {{model: ocr, text_path: "lines[*].text"}}
  metrics: kserve
  fresh: true
  command: [{python}, integrations/kserve/ocr_model.py, --host, "{{host}}", --http_port, "{{port}}", --model_name, ocr,
            --preset, tiny, --threads, "1"]
  cwd: {root}
  ready_timeout: 2m
payloads: {{manifest: images.jsonl}}
request: {{timeout: 10s}}
phases:
  - {{name: warmup, kind: users, duration: 4s, users: 1}}
  - {{name: steady, kind: users, duration: 12s, users: 2}}
"""
SLA = """
name: kserve-e2e
phases:
  steady:
    latency:
      p50: 5s
      p90: {max: 2.5s, source: server}     # 2.5 s: a bucket boundary of KServe's default histogram
      mean: {max: 2.5s, source: server}
    error_rate: 1%
    accuracy: {exact_lines: 90%, cer: 3%}   # the answers against the manifest's expected_text
cold_start:
  time_to_ready: 2m
  first_request: 10s
"""


def gate_run(tmp_path: Path, scenario: str, sla_text: str, timeout: float = 300):
    """`sla run` of a scenario and an SLA written here (killed after `timeout` s): the result and the run's directory."""
    tmp_path.mkdir(parents=True, exist_ok=True)
    (tmp_path / "s.yaml").write_text(scenario)
    (tmp_path / "sla.yaml").write_text(sla_text)
    result = sla("run", str(tmp_path / "s.yaml"), "--sla", str(tmp_path / "sla.yaml"), "--out", str(tmp_path / "runs"), timeout=timeout)
    runs = [p for p in (tmp_path / "runs").glob("*") if (p / "run.json").exists()]
    return result, runs[0] if len(runs) == 1 else None


def test_kserve_started_by_the_gate_is_judged_on_client_and_server_objectives_and_a_rejected_image_fails(tmp_path):
    if not KSERVE_PYTHON.exists():
        pytest.fail("KServe is not prepared: run `make kserve` (make test does it)")
    images = tmp_path / "images"
    images.mkdir()
    manifest = []
    for name in ("small-plain-png", "label-plain-png", "small-noisy-png"):  # light pages: enough answers on a slow CPU
        payload = make_payload(name)
        (images / f"{name}.png").write_bytes(payload.data)
        manifest.append({"path": f"images/{name}.png", "expected_text": list(payload.expected_text)})
    torn = make_payload("small-plain-png")
    (images / "torn.png").write_bytes(torn.data[:400])  # a PNG header, then nothing
    manifest.append({"path": "images/torn.png", "expected_text": list(torn.expected_text)})
    (tmp_path / "images.jsonl").write_text("".join(json.dumps(line) + "\n" for line in manifest))
    result, run_dir = gate_run(tmp_path, SCENARIO.format(python=KSERVE_PYTHON, root=ROOT), SLA)
    assert result.returncode == 1, result.stdout[-3000:] + result.stderr[-3000:]
    judged = objectives(run_dir)

    # the model rejects the torn image (KServe's InvalidInput: HTTP 400): a failure users saw
    errors = judged["steady.error_rate"]
    assert errors["verdict"] == "FAIL" and 0.1 < errors["value"] < 0.45, errors
    failures = locust_rows(run_dir, "locust_failures.csv")
    assert failures and all(row["Name"] == "torn" for row in failures)
    assert any("HTTP 400" in row["Error"] and "not an image" in row["Error"] for row in failures)

    # the server's side, from KServe's request_predict_seconds histogram (the `kserve` mapping)
    server_p90, server_mean = judged["steady.latency.p90"], judged["steady.latency.mean"]
    assert server_p90["source"] == server_mean["source"] == "server"
    assert server_p90["verdict"] == server_mean["verdict"] == "PASS"
    assert "request_predict_seconds_bucket" in server_p90["promql"] and "request_predict_seconds_sum" in server_mean["promql"]
    assert 0.005 < server_mean["value"] < 2.5 and server_mean["samples"] >= 10
    check = server_p90["extra"]["cross_check"]  # compared with what users saw over the same window
    assert check["client"] > 0 and check["server"] > 0 and check["low_load_phase"] == "warmup"  # 1 user
    assert judged["steady.latency.p50"]["source"] == "loadgen" and judged["steady.latency.p50"]["verdict"] == "PASS"

    # what the answers read, against the manifest's expected_text (text_path: lines[*].text); the torn
    # image's failed requests are not answers, so they do not count against accuracy
    exact, cer = judged["steady.accuracy.exact_lines"], judged["steady.accuracy.cer"]
    assert exact["verdict"] == cer["verdict"] == "PASS", (exact, cer)
    assert exact["value"] >= 0.9 and exact["samples"] >= 90 and "loadgen_answers_total" in exact["promql"]

    # cold start from the V2 readiness endpoint
    ready = judged["cold_start.time_to_ready"]
    assert ready["verdict"] == "PASS" and 0.3 < ready["value"] < 120 and ready["source"] == "loadgen"
    manifest = json.loads((run_dir / "run.json").read_text())
    assert manifest["target_api"] == "v2" and manifest["server"]["ready_path"] == "/v2/health/ready"
    assert manifest["server_metrics"]["name"] == "kserve"
    assert "model_server.py" in (run_dir / "server.log").read_text()  # KServe's own log is kept

