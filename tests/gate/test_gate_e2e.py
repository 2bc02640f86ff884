"""`sla run` / `sla check` end to end: real reference server, real Prometheus, real Locust."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path
from xml.etree import ElementTree as ET

import pytest

from tests.processes import children as children_of, interrupt_when_up, left_running

pytestmark = [pytest.mark.e2e, pytest.mark.cpu_bound]

ROOT = Path(__file__).resolve().parents[2]
SLA = [str(Path(sys.executable).parent / "sla")]

IMPOSSIBLE = """
name: impossible
phases:
  steady:
    latency: {p50: 1ms}
    throughput: 100000/s
"""
P99_SLA = """
name: p99
phases:
  steady:
    latency: {p99: 5s}
"""

EVERY_KIND = """
name: every-kind
phases:
  steady:
    latency: {p50: {max: 2s, source: server}, p95: 2s}
    throughput: 5/s
    error_rate: 5%
    stages: {det: {p50: 1s}, rec: {p50: 1s}}
    baseline: {p50: 100%, throughput: 10%}  # the mix is bimodal (labels, small pages): P50 x 1.5 splits it
cold_start:
  time_to_ready: {max: 60s, source: server}
  first_request: {max: 10s, source: server}
"""


def sla(*args: str, timeout: float = 240) -> subprocess.CompletedProcess:
    return subprocess.run([*SLA, *args], cwd=ROOT, capture_output=True, text=True, timeout=timeout)


def only_run_dir(out: Path) -> Path:
    [run_dir] = [p for p in out.iterdir() if (p / "run.json").exists()]
    return run_dir


@pytest.fixture(scope="module")
def passed_run(tmp_path_factory) -> tuple[subprocess.CompletedProcess, Path]:
    out = tmp_path_factory.mktemp("runs")
    result = sla("run", "scenarios/smoke.yaml", "--sla", "sla/thresholds/lax.yaml", "--out", str(out))
    return result, out


def test_smoke_passes_a_lax_sla(passed_run):
    result, out = passed_run
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "verdict: PASS (exit code 0)" in result.stdout
    assert "phase steady" in result.stdout  # progress was shown
    run_dir = only_run_dir(out)
    doc = json.loads((run_dir / "result.json").read_text())
    assert doc["verdict"] == "PASS" and {o["verdict"] for o in doc["objectives"]} == {"PASS"}
    for o in doc["objectives"]:
        assert o["promql"] and (o["window"] or o["phase"] is None) and o["samples"] > 0
    kinds = {(o["kind"], o["source"]) for o in doc["objectives"]}  # one gate run judges every server-side kind
    assert {("latency", "server"), ("stage_latency", "server"), ("time_to_ready", "server"), ("first_request", "server")} <= kinds
    # the trained reference server reads right at load (6 requests/s): every answer scored
    assert {("accuracy_exact_lines", "loadgen"), ("accuracy_cer", "loadgen")} <= kinds
    assert doc["phases"]["steady"]["accuracy"]["answers"] >= 100 and doc["phases"]["steady"]["accuracy"]["exact_lines"] >= 0.9
    manifest = json.loads((run_dir / "run.json").read_text())
    assert manifest["loadgen"]["final_scrape_at"] and manifest["sla"]["sha256"] and manifest["prometheus_url"]
    # the files users read: versioned, JSON types (not Python reprs), absolute paths, nested HDR summaries
    hdr = json.loads((run_dir / "hdr.json").read_text())
    assert manifest["schema_version"] == doc["schema_version"] == hdr["schema_version"] == 1
    assert manifest["server"]["options"]["threads"] == 1 and manifest["server"]["options"]["preset"] == "tiny"
    assert isinstance(manifest["server"]["options"]["extra_buckets"], list)
    assert Path(manifest["scenario"]["path"]).is_absolute() and Path(doc["sla"]["path"]).is_absolute()
    assert hdr["phases"]["steady"]["intended"]["count"] > 0
    suite = ET.parse(run_dir / "junit.xml").getroot()
    assert len(suite.findall("testcase")) == len(doc["objectives"]) and suite.get("failures") == "0"
    assert (run_dir / "report.md").read_text().startswith("## SLA gate: PASS")


def test_the_same_run_judged_again_against_an_impossible_sla_fails(passed_run, tmp_path):
    _, out = passed_run
    impossible = tmp_path / "impossible.yaml"
    impossible.write_text(IMPOSSIBLE)
    run_dir = only_run_dir(out)
    result = sla("check", str(run_dir), "--sla", str(impossible), "--out", str(tmp_path / "check"))
    assert result.returncode == 1, result.stdout + result.stderr
    assert "steady.latency.p50: FAIL" in result.stdout and "steady.throughput: FAIL" in result.stdout
    judged = json.loads((tmp_path / "check" / "result.json").read_text())
    assert judged["verdict"] == "FAIL" and judged["prometheus_url"] != json.loads((run_dir / "run.json").read_text())["prometheus_url"]
    assert json.loads((run_dir / "result.json").read_text())["verdict"] == "PASS"  # the run's own result is kept
    checks = lambda: {p for p in run_dir.glob("check-*") if (p / "result.json").exists()}  # noqa: E731
    before = checks()
    again = sla("check", str(run_dir))  # default: a check-<time> folder inside the run
    assert again.returncode == 0, again.stdout + again.stderr
    assert len(checks() - before) == 1


def test_a_run_judged_again_with_a_baseline_and_every_kind(passed_run, tmp_path):
    """`sla check --baseline`: one real run judged again on an SLA with every server-side kind and
    baseline objectives, against its own result as the baseline (so the changes are 0)."""
    _, out = passed_run
    run_dir = only_run_dir(out)
    every = tmp_path / "every.yaml"
    every.write_text(EVERY_KIND)
    result = sla("check", str(run_dir), "--sla", str(every), "--baseline", str(run_dir / "result.json"), "--out", str(tmp_path / "c"))
    assert result.returncode == 0, result.stdout + result.stderr
    doc = json.loads((tmp_path / "c" / "result.json").read_text())
    got = {o["id"]: (o["source"], o["verdict"]) for o in doc["objectives"]}
    assert got == {
        "steady.latency.p50": ("server", "PASS"), "steady.latency.p95": ("loadgen", "PASS"),
        "steady.throughput": ("loadgen", "PASS"), "steady.error_rate": ("loadgen", "PASS"),
        "steady.stage.det.p50": ("server", "PASS"), "steady.stage.rec.p50": ("server", "PASS"),
        "steady.baseline.p50": ("loadgen", "PASS"), "steady.baseline.throughput": ("loadgen", "PASS"),
        "cold_start.time_to_ready": ("server", "PASS"), "cold_start.first_request": ("server", "PASS"),
    }
    by_id = {o["id"]: o for o in doc["objectives"]}
    assert "ocr_stage_duration_seconds_bucket" in by_id["steady.stage.det.p50"]["promql"]
    assert "ocr_ready_timestamp_seconds" in by_id["cold_start.time_to_ready"]["promql"]
    assert 0 < by_id["cold_start.time_to_ready"]["value"] < 60


def test_a_phase_too_short_for_its_p99_claim_is_inconclusive(passed_run, tmp_path):
    _, out = passed_run  # the smoke run's steady phase, judged again on a P99 it has too few requests for
    p99 = tmp_path / "p99.yaml"
    p99.write_text(P99_SLA)
    result = sla("check", str(only_run_dir(out)), "--sla", str(p99), "--out", str(tmp_path / "check"))
    assert result.returncode == 2, result.stdout[-3000:] + result.stderr[-3000:]
    assert "needs at least 459" in result.stdout and "more requests" in result.stdout


def test_a_malformed_sla_file_exits_3_naming_file_and_key(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("phases:\n  steady:\n    latency: {p99: quick}\n")
    result = sla("run", "scenarios/smoke.yaml", "--sla", str(bad), "--out", str(tmp_path / "runs"))
    assert result.returncode == 3
    assert str(bad) in result.stderr and "phases.steady.latency.p99" in result.stderr


def test_an_unreachable_prometheus_exits_3(tmp_path):
    result = sla("run", "scenarios/smoke.yaml", "--sla", "sla/thresholds/lax.yaml", "--prometheus", "http://127.0.0.1:9",
                 "--out", str(tmp_path / "runs"))
    assert result.returncode == 3 and "Prometheus at http://127.0.0.1:9 is unreachable" in result.stderr


def test_ctrl_c_stops_everything_that_was_started(tmp_path):
    def up(pid, kids):  # Prometheus, Locust and the server are all up, and 3 s have passed
        names = " ".join(kids.values())
        if "prometheus" in names and "locust" in names and "reference_server" in names:
            time.sleep(3)
            return True
        return False

    code, err, children = interrupt_when_up(
        [*SLA, "run", "scenarios/smoke.yaml", "--sla", "sla/thresholds/lax.yaml", "--out", str(tmp_path / "runs")], ROOT, up, 90)
    assert code == 130 and "interrupted" in err
    alive = left_running(children)
    assert alive == [], f"left running: {alive}"


def test_a_harness_killed_outright_leaves_nothing_running(tmp_path):
    proc = subprocess.Popen([*SLA, "run", "scenarios/smoke.yaml", "--sla", "sla/thresholds/lax.yaml", "--out", str(tmp_path / "runs")],
                            cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    children: set[int] = set()
    try:
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            kids = children_of(proc.pid, recursive=False)
            children |= set(kids)
            if any("prometheus" in cmdline for cmdline in kids.values()):
                break
            time.sleep(0.3)
        proc.kill()  # SIGKILL: no chance to clean up
        proc.wait(10)
        deadline = time.monotonic() + 20
        while left_running(children) and time.monotonic() < deadline:
            time.sleep(0.2)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert children and left_running(children) == [], f"left running: {left_running(children)}"


REPORT_DOM = """() => {
  const cell = (id, cls) => document.querySelector(`tr[data-objective="${id}"] td.${cls}`);
  const objectives = {};
  for (const row of document.querySelectorAll('tr[data-objective]')) {
    const id = row.dataset.objective;
    objectives[id] = {measured: cell(id, 'measured').dataset.value, measured_text: cell(id, 'measured').textContent.trim(),
                      limit: cell(id, 'limit').dataset.value, verdict: row.querySelector('.verdict-cell').textContent.trim()};
  }
  const charts = {};
  for (const f of document.querySelectorAll('figure')) {
    charts[f.id] = {title: f.querySelector('h2').textContent.trim(), caption: f.querySelector('figcaption').textContent.trim(),
                    svg: !!f.querySelector('svg'), text: Array.from(f.querySelectorAll('svg text')).map(t => t.textContent).join(' | ')};
  }
  return {verdict: document.querySelector('#verdict').dataset.verdict, objectives, charts,
          links: Array.from(document.querySelectorAll('#artifacts a')).map(a => a.getAttribute('href'))};
}"""
CHARTS = {  # chart id -> a label it must show: a reference-server run has every chart
    "chart-latency": "latency (ms)", "chart-throughput": "requests/s", "chart-cold-start": "first request",
    "chart-stages": "det", "chart-distribution": "percentile", "chart-generator": "CPU %",
}


def test_the_html_report_opens_offline_in_chromium_with_every_chart_and_the_figures_of_result_json(passed_run, tmp_path):
    from sla.units import show
    from tests.browser import open_page

    _, out = passed_run
    run_dir = only_run_dir(out)
    doc = json.loads((run_dir / "result.json").read_text())
    shot = tmp_path / "report.png"  # kept with the test's files: look at it when the test fails
    page = open_page(run_dir / "report.html", shot, REPORT_DOM)
    assert page.errors == [] and page.requests == [page.url]  # nothing but the file itself: no CDN, no network
    assert shot.stat().st_size > 20_000
    assert page.dom["verdict"] == doc["verdict"]
    for o in doc["objectives"]:  # what the page shows is what result.json says
        shown = page.dom["objectives"][o["id"]]
        assert float(shown["measured"]) == pytest.approx(o["value"]) and shown["measured_text"] == show(o["value"], o["unit"])
        assert float(shown["limit"]) == pytest.approx(o["limit"]) and shown["verdict"] == o["verdict"]
    for chart, label in CHARTS.items():
        got = page.dom["charts"][chart]
        assert got["svg"] and got["title"] and "?" in got["caption"] and label in got["text"], (chart, got["text"][:300])
    assert "P90 limit 10s" in page.dom["charts"]["chart-latency"]["text"]  # the SLA's limit is drawn on the curve
    assert {"result.json", "run.json", "junit.xml", "report.md", "timeline.json", "locust.html"} <= set(page.dom["links"])
