"""Real Locust (subprocess) against the real reference server."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from sla.processes import free_port
from sla.scenario import load_scenario

pytestmark = [pytest.mark.e2e, pytest.mark.cpu_bound]

ROOT = Path(__file__).resolve().parents[2]
LOCUST = str(Path(sys.executable).parent / "locust")
# The smoke scenario's mix and phase kinds, shorter: Locust's own run is the subject here.
SCENARIO = """
name: locust-e2e
payloads: {mix: {label-plain-png: 2, label-noisy-jpeg: 1, small-plain-png: 1}}
request: {timeout: 10s}
phases:
  - {name: warmup, kind: users, duration: 3s, users: 2}
  - {name: steady, kind: arrival_rate, duration: 6s, rate: 6/s}
"""


@pytest.fixture
def scenario(tmp_path) -> Path:
    path = tmp_path / "scenario.yaml"
    path.write_text(SCENARIO)
    return path


@pytest.fixture(scope="module")
def server(start_server) -> str:
    return start_server(instances=1)


def locust_argv(*extra: str, metrics_port: int) -> list[str]:
    return [LOCUST, "-f", "locustfiles/ocr.py", "--metrics-port", str(metrics_port), *extra]


def total_count(exposition: str) -> float:
    """Requests counted from their actual send (arrival-rate requests are also counted by intended time)."""
    return sum(float(v) for v in re.findall(r'^loadgen_request_duration_seconds_count\{.*timing="actual".*\} (\S+)$', exposition, re.MULTILINE))


def locust_counts(json_file: Path) -> dict[str, int]:
    """Locust's own final request counts by name (--json-file is written after the runner quits;
    the --csv stats file is rewritten about once a second and can miss the last requests).
    Locust adds ".json" to the --json-file name."""
    counts: dict[str, int] = {}
    for entry in json.loads(json_file.read_text()):
        counts[entry["name"]] = counts.get(entry["name"], 0) + entry["num_requests"]
    return counts


def server_requests(base: str) -> float:
    text = requests.get(f"{base}/metrics", timeout=5).text
    return sum(float(v) for v in re.findall(r'^ocr_requests_total\{code="\d+"\} (\S+)$', text, re.MULTILINE))


def test_headless_smoke_runs_clean_writes_the_manifest_and_serves_metrics(server, scenario, tmp_path):
    port = free_port()
    run_dir = tmp_path / "run"
    proc = subprocess.Popen(
        locust_argv("--headless", "--scenario", str(scenario), "--host", server, "--run-dir", str(run_dir),
                    "--json-file", str(tmp_path / "stats"), metrics_port=port),
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    seen_during_run = 0.0
    try:
        deadline = time.monotonic() + 60
        while proc.poll() is None and time.monotonic() < deadline:
            try:
                seen_during_run = max(seen_during_run, total_count(requests.get(f"http://127.0.0.1:{port}/metrics", timeout=2).text))
            except requests.RequestException:
                pass
            time.sleep(1)
        out, _ = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, out[-3000:]
    assert seen_during_run > 0, "the metrics endpoint never served a request count during the run"
    manifest = json.loads((run_dir / "run.json").read_text())
    assert [p["name"] for p in manifest["phases"]] == ["warmup", "steady"]
    for p in manifest["phases"]:
        assert p["end"] > p["start"] and abs((p["end"] - p["start"]) - p["planned_duration"]) < 2.5
    assert manifest["scenario"]["sha256"] and manifest["target"] == server
    assert manifest["loadgen"]["first_request_seconds"] > 0
    entries = json.loads((tmp_path / "stats.json").read_text())
    assert sum(e["num_failures"] for e in entries) == 0
    total = sum(locust_counts(tmp_path / "stats.json").values())
    assert total > 0 and total_count((run_dir / "loadgen_metrics.prom").read_text()) == total


def test_with_two_processes_the_master_totals_equal_locusts_own(server, scenario, tmp_path):
    run_dir = tmp_path / "run"
    result = subprocess.run(
        locust_argv("--headless", "--processes", "2", "--scenario", str(scenario), "--host", server,
                    "--run-dir", str(run_dir), "--json-file", str(tmp_path / "stats"), metrics_port=free_port()),
        cwd=ROOT, capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    counts = locust_counts(tmp_path / "stats.json")
    exposition = (run_dir / "loadgen_metrics.prom").read_text()
    assert total_count(exposition) == sum(counts.values()) > 0
    for name in load_scenario(scenario).mix:  # per request name too
        per_name = sum(float(v) for v in re.findall(rf'^loadgen_request_duration_seconds_count\{{name="{name}".*timing="actual"\}} (\S+)$', exposition, re.MULTILINE))
        assert per_name == counts[name]
    assert '"workers": 2' in (run_dir / "run.json").read_text()
    assert 'phase=""' not in exposition  # every observation carries its phase


def test_web_ui_starts_and_serves_its_page(tmp_path):
    web_port = free_port()
    proc = subprocess.Popen(
        locust_argv("--web-host", "127.0.0.1", "--web-port", str(web_port), "--scenario", "scenarios/smoke.yaml",
                    "--run-dir", str(tmp_path / "run"), metrics_port=free_port()),
        cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        page = None
        for _ in range(100):
            try:
                page = requests.get(f"http://127.0.0.1:{web_port}/", timeout=2)
                break
            except requests.RequestException:
                time.sleep(0.2)
        assert page is not None and page.status_code == 200
        assert "locust" in page.text.lower() and "scenarios/smoke.yaml" in page.text  # our argument is in the UI
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(20)


def test_an_invalid_scenario_is_rejected_before_any_traffic(server, tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: bad\npayloads: {mix: {small-plain-png: 1}}\nphases:\n  - {name: a, kind: users, duration: -1s, users: 1}\n")
    before = server_requests(server)
    result = subprocess.run(
        locust_argv("--headless", "--scenario", str(bad), "--host", server, metrics_port=free_port()),
        cwd=ROOT, capture_output=True, text=True, timeout=60,
    )
    assert result.returncode == 3
    assert f"{bad}" in result.stderr and "phases[0].duration" in result.stderr
    assert server_requests(server) == before


def test_a_target_off_loopback_is_refused():
    result = subprocess.run(
        locust_argv("--headless", "--scenario", "scenarios/smoke.yaml", "--host", "http://10.11.12.13:8866", metrics_port=free_port()),
        cwd=ROOT, capture_output=True, text=True, timeout=60,
    )
    assert result.returncode == 3 and "only to loopback" in result.stderr


def test_plan_prints_users_over_time_without_traffic():
    result = subprocess.run(
        locust_argv("--headless", "--scenario", "scenarios/spike.yaml", "--plan", metrics_port=free_port()),
        cwd=ROOT, capture_output=True, text=True, timeout=60,
    )
    assert result.returncode == 0
    assert "spike" in result.stdout and "arrivals 12/s" in result.stdout
