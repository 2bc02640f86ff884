"""Gate the services teams run: real PaddleX serving started by `sla run` with target.command,
the user's own images, the generic http API, and the user's own locustfile (`sla run -f`).
Real PaddleX (its own virtualenv, from `make paddlex`), real Prometheus, real Locust."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

import pytest

from sla.payloads import make_payload

pytestmark = [pytest.mark.e2e, pytest.mark.cpu_bound]

ROOT = Path(__file__).resolve().parents[2]
SLA = [str(Path(sys.executable).parent / "sla")]
PADDLEX = ROOT / ".venvs" / "paddlex" / "bin" / "paddlex"
PADDLEX_TINY = ROOT / ".cache" / "paddlex" / "tiny" / "OCR.yaml"

PADDLEX_SCENARIO = """
name: paddlex-e2e
target:
  api: paddlex
  fresh: true
  command: [{paddlex}, --serve, --pipeline, {pipeline}, --device, cpu, --host, "{{host}}", --port, "{{port}}"]
  cwd: {root}
  env: {{PADDLE_PDX_DISABLE_MODEL_SOURCE_CHECK: "True", PADDLE_PDX_CACHE_HOME: .cache/paddlex/home, PADDLE_PDX_CPU_NUM_THREADS: "1"}}
  ready_timeout: 2m
payloads: {payloads}
request: {{timeout: 10s}}
phases:
  - {{name: steady, kind: users, duration: 12s, users: 2}}
"""
PADDLEX_SLA = """
name: paddlex-e2e
phases:
  steady:
    latency: {p50: 2s}
    error_rate: 10%
cold_start:
  time_to_ready: 60s
  first_request: 5s
"""


def sla(*args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run([*SLA, *args], cwd=ROOT, capture_output=True, text=True, timeout=timeout)


def run_dir_of(out: Path) -> Path:
    [run_dir] = [p for p in out.iterdir() if (p / "run.json").exists()]
    return run_dir


def objectives(run_dir: Path) -> dict[str, dict]:
    return {o["id"]: o for o in json.loads((run_dir / "result.json").read_text())["objectives"]}


def locust_rows(run_dir: Path, name: str) -> list[dict]:
    with open(run_dir / name) as fh:
        return list(csv.DictReader(fh))


def paddlex_run(tmp_path: Path, payloads: str) -> tuple[subprocess.CompletedProcess, Path]:
    if not (PADDLEX.exists() and PADDLEX_TINY.exists()):
        pytest.fail("PaddleX is not prepared: run `make paddlex` (make test does it)")
    scenario, sla_file = tmp_path / "paddlex.yaml", tmp_path / "sla.yaml"
    scenario.write_text(PADDLEX_SCENARIO.format(paddlex=PADDLEX, pipeline=PADDLEX_TINY, root=ROOT, payloads=payloads))
    sla_file.write_text(PADDLEX_SLA)
    out = tmp_path / "runs"
    return sla("run", str(scenario), "--sla", str(sla_file), "--out", str(out)), out


def test_paddlex_serving_started_by_the_gate_gets_a_verdict_with_its_cold_start(tmp_path):
    result, out = paddlex_run(tmp_path, "{mix: {label-plain-png: 1, label-noisy-jpeg: 1, small-plain-png: 1}, variants: 2}")
    # PASS, or INCONCLUSIVE on the error rate alone: a users phase sends what the CPU lets it (below)
    assert result.returncode in (0, 2), result.stdout[-3000:] + result.stderr[-3000:]
    run_dir = run_dir_of(out)
    judged = objectives(run_dir)
    ready, first = judged["cold_start.time_to_ready"], judged["cold_start.first_request"]
    assert ready["verdict"] == first["verdict"] == "PASS" and 0.3 < ready["value"] < 60 and 0 < first["value"] < 5
    assert ready["source"] == "loadgen" and "readiness probe" in ready["promql"]
    assert judged["steady.latency.p50"]["verdict"] == "PASS"
    manifest = json.loads((run_dir / "run.json").read_text())
    assert manifest["target_api"] == "paddlex" and manifest["server"]["ready_path"] == "/health"
    assert manifest["server"]["ready"] - manifest["server"]["start"] == pytest.approx(ready["value"])
    assert "Application startup complete" in (run_dir / "server.log").read_text()  # PaddleX's own log is kept
    assert judged["steady.error_rate"]["verdict"] in ("PASS", "INCONCLUSIVE") and judged["steady.error_rate"]["value"] == 0


def test_paddlex_rejecting_the_users_files_in_its_envelope_fails_on_error_rate(tmp_path):
    images = tmp_path / "images"
    images.mkdir()
    (images / "torn.png").write_bytes(make_payload("small-plain-png").data[:400])  # a PNG header, then nothing
    result, out = paddlex_run(tmp_path, "{files: 'images/*.png'}")
    assert result.returncode == 1, result.stdout[-3000:] + result.stderr[-3000:]
    assert "steady.error_rate: FAIL" in result.stdout and "verdict: FAIL" in result.stdout
    failures = locust_rows(run_dir_of(out), "locust_failures.csv")
    assert failures and all(row["Name"] == "torn" for row in failures)
    assert any("errorCode 422" in row["Error"] for row in failures)


CUSTOM_LOCUSTFILE = '''
import base64

from locust import events

from sla.loadgen.api import ScenarioShape, SlaUser, install

install(events)


class TextUser(SlaUser):
    """A request of my own: base64 JSON, and an answer without text counts as a failure."""

    def send(self, client, payload):
        body = {"image": base64.b64encode(payload.data).decode()}
        with client.post("/v1/ocr", json=body, name=payload.name, catch_response=True) as resp:
            lines = resp.json().get("lines") if resp.status_code == 200 else None
            if not lines:
                resp.failure(f"no text found (HTTP {resp.status_code})")


class Shape(ScenarioShape):
    pass
'''
OWN_IMAGES_SCENARIO = """
name: own-images
target: {server: {preset: tiny}}
payloads: {manifest: images.jsonl}
request: {timeout: 10s}
phases:
  - {name: closed, kind: users, duration: 4s, users: 2}
  - {name: open, kind: arrival_rate, duration: 8s, rate: 5/s}
"""
OWN_IMAGES_SLA = """
name: own
phases:
  open:
    error_rate: 20%
"""


def write_images(tmp_path: Path) -> None:
    from PIL import Image

    (tmp_path / "img").mkdir()
    (tmp_path / "img" / "receipt.png").write_bytes(make_payload("small-plain-png").data)
    Image.new("RGB", (320, 240), "white").save(tmp_path / "img" / "blank.png")  # no text on it
    (tmp_path / "images.jsonl").write_text(
        json.dumps({"path": "img/receipt.png", "name": "receipt", "weight": 1}) + "\n"
        + json.dumps({"path": "img/blank.png", "weight": 1}) + "\n")


def test_a_users_locustfile_gets_the_whole_gate_in_both_load_models(tmp_path):
    write_images(tmp_path)
    (tmp_path / "mine.py").write_text(CUSTOM_LOCUSTFILE)
    (tmp_path / "own.yaml").write_text(OWN_IMAGES_SCENARIO)
    (tmp_path / "sla.yaml").write_text(OWN_IMAGES_SLA)
    out = tmp_path / "runs"
    result = sla("run", "-f", str(tmp_path / "mine.py"), str(tmp_path / "own.yaml"), "--sla", str(tmp_path / "sla.yaml"), "--out", str(out))
    assert result.returncode == 1, result.stdout[-3000:] + result.stderr[-3000:]  # half the answers have no text
    run_dir = run_dir_of(out)
    stats = {row["Name"]: row for row in locust_rows(run_dir, "locust_stats.csv")}
    assert int(stats["receipt"]["Failure Count"]) == 0 and int(stats["blank"]["Failure Count"]) == int(stats["blank"]["Request Count"]) > 0
    failures = locust_rows(run_dir, "locust_failures.csv")
    assert {row["Name"] for row in failures} == {"blank"} and "no text found (HTTP 200)" in failures[0]["Error"]
    doc = json.loads((run_dir / "result.json").read_text())
    open_phase = doc["phases"]["open"]
    assert open_phase["sent"] == 40 and open_phase["requests"] == 40 and 0.2 < open_phase["error_rate"] < 0.8, (
        {name: {k: p[k] for k in ("requests", "sent", "duration") if k in p} for name, p in doc["phases"].items()},
        (run_dir / "locust.log").read_text()[-3000:])
    assert doc["objectives"][0]["verdict"] == "FAIL"


GENERIC_HTTP_SCENARIO = """
name: generic-http
target:
  server: {preset: tiny}
  api: reference
payloads: {files: 'img/*.png'}
request: {timeout: 10s}
phases:
  - {name: steady, kind: users, duration: 4s, users: 2}
"""


def test_the_generic_http_template_judges_body_conditions(tmp_path):
    """The reference server, described as a generic http API: a JSON body with the image in base64,
    and a condition on the answer that the blank page cannot meet."""
    write_images(tmp_path)
    scenario = tmp_path / "http.yaml"
    scenario.write_text(GENERIC_HTTP_SCENARIO.replace(
        "  api: reference\n",
        "  api: http\n  command: [" + sys.executable + ", -m, reference_server, --preset, tiny, --port, '{port}', --model-dir, "
        + str(ROOT / "models") + "]\n  cwd: " + str(ROOT) + "\n"
        "  options:\n    path: /v1/ocr\n    body: {image: '{{image_base64}}'}\n    ready_path: /readyz\n"
        "    success: {status: [200], json: [{path: 'lines[0].text', exists: true}]}\n    text: 'lines[*].text'\n"
    ).replace("  server: {preset: tiny}\n", ""))
    sla_file = tmp_path / "sla.yaml"
    sla_file.write_text("phases: {steady: {error_rate: 1%}}\ncold_start: {time_to_ready: 60s}\n")
    out = tmp_path / "runs"
    result = sla("run", str(scenario), "--sla", str(sla_file), "--out", str(out))
    assert result.returncode == 1, result.stdout[-3000:] + result.stderr[-3000:]
    run_dir = run_dir_of(out)
    failures = locust_rows(run_dir, "locust_failures.csv")
    assert {row["Name"] for row in failures} == {"blank"} and "lines[0].text is missing" in failures[0]["Error"]
    judged = objectives(run_dir)
    assert judged["steady.error_rate"]["verdict"] == "FAIL" and judged["cold_start.time_to_ready"]["verdict"] == "PASS"
