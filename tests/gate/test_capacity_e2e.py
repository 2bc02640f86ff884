"""`sla capacity` finds a capacity known in advance: the synthetic server with one worker and a
fixed 20 ms service time serves at most 50 requests/s whatever the CPU does (timers only; below
50/s nothing queues, above it the queue grows without bound). The gate starts it for each step
with target.command, with no warm-up (timers have nothing to warm). Started at 200/s, four times
what it serves, with a 10 % resolution: the first step fails, so the search goes down, halving
(100/s fails, 50/s passes or fails on its jitter), then refines between the last passing and the
first failing rate, to a capacity in [45, 50]/s. (The searches from 5/s and from 50/s are
test_capacity_from_below_e2e.py and test_capacity_from_the_edge_e2e.py.) The same server is then
pushed to 1.4x the capacity found, and its FAIL explains itself as saturation with a capacity near
the search's. Slow (minutes): run alone with `pytest -m e2e tests/gate/test_capacity_e2e.py`; CI
runs it too. The check of the reference server's capacity with fixed-rate runs is
benchmarks/bench_capacity.py."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import pytest

from tests.synthetic import assert_found_within_10_percent, capacity_scenario, capacity_search

pytestmark = [pytest.mark.e2e, pytest.mark.waits]

ROOT = Path(__file__).resolve().parents[2]
SLA = str(Path(sys.executable).parent / "sla")
RESOLUTION = 0.10
SCENARIO = capacity_scenario("cap")
SLA_FILE = "name: cap\nphases:\n  steady:\n    latency: {p95: 100ms}\n    error_rate: 5%\n"


@pytest.fixture(scope="module")
def found(tmp_path_factory) -> tuple[Path, dict]:
    """One capacity search, shared by the tests below: its folder and capacity.json."""
    search = capacity_search(tmp_path_factory.mktemp("capacity"), "cap", SLA_FILE, "--start-rate", "200/s", "--resolution",
                             f"{RESOLUTION:.0%}", "--target-peak", "500/s")
    assert_found_within_10_percent(search)
    return search.dir, search.doc


@pytest.mark.timeout(900)
def test_capacity_search_finds_a_capacity_known_in_advance_within_its_resolution(found, tmp_path):
    cap_dir, doc = found
    capacity = doc["capacity"]  # within 10 % of 50/s (the fixture asserts it)
    assert doc["per_replica_target"] == pytest.approx(capacity * 0.7)  # default headroom 30 %
    assert doc["replicas"] == math.ceil(500 / doc["per_replica_target"])
    assert "HorizontalPodAutoscaler" in (cap_dir / "hpa.yaml").read_text()
    assert "Highest rate that meets the SLA" in (cap_dir / "capacity.md").read_text()
    steps = doc["steps"]
    assert [(s["direction"], s["asked"], s["verdict"]) for s in steps[:2]] == [("start", 200.0, "FAIL"), ("down", 100.0, "FAIL")]
    assert {s["direction"] for s in steps} <= {"start", "down", "refine", "again"} and doc["refined"]
    assert "The search ended: the passing and failing rates are within --resolution 10%." in (cap_dir / "capacity.md").read_text()
    check_capacity_page(cap_dir, doc, tmp_path / "capacity.png")
    # each step's inputs (derived from the user's, handed to the gate as objects) are written into its run directory
    step = Path(doc["steps"][0]["run_dir"])
    manifest = json.loads((step / "run.json").read_text())
    assert manifest["sla"]["path"] == str(step / "sla.yaml") and manifest["scenario"]["path"] == str(step / "scenario.yaml")
    assert sorted(p.name for p in cap_dir.iterdir() if p.suffix == ".yaml") == ["hpa.yaml"], "no YAML written per step beside them"
    checked = subprocess.run([SLA, "check", str(step), "--out", str(tmp_path / "check")], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert checked.returncode == {"PASS": 0, "UNSTABLE": 0, "FAIL": 1, "INCONCLUSIVE": 2}[doc["steps"][0]["verdict"]], checked.stdout + checked.stderr


# the search's scenario, with a quiet phase (the service times' shape) and a steady one past the capacity
OVERLOAD = SCENARIO.replace("name: cap", "name: overload").replace("timeout: 2s", "timeout: 30s").replace(
    "  - {name: steady, kind: users, duration: 5s, users: 1}",
    "  - {name: quiet, kind: arrival_rate, duration: 8s, rate: 10/s}\n  - {name: steady, kind: arrival_rate, duration: 12s, rate: RATE}")


@pytest.mark.timeout(300)
def test_a_run_past_the_capacity_is_explained_as_saturation_with_the_capacity_sla_capacity_found(found, tmp_path):
    """Then the same server pushed to 1.4x what `sla capacity` found: the FAIL says why, with a
    capacity estimate within 25 % of the search's, and a what-if rate under it."""
    capacity = found[1]["capacity"]
    (tmp_path / "s.yaml").write_text(OVERLOAD.replace("RATE", f"{1.4 * capacity:.4g}/s"))
    (tmp_path / "sla.yaml").write_text(SLA_FILE.replace("cap", "overload"))
    result = subprocess.run([SLA, "run", str(tmp_path / "s.yaml"), "--sla", str(tmp_path / "sla.yaml"), "--out", str(tmp_path / "runs")],
                            cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert result.returncode == 1, result.stdout[-3000:] + result.stderr[-2000:]
    assert f"why (steady): asked {float(f'{1.4 * capacity:.4g}'):.3g}/s; this server serves at most ~" in result.stdout
    assert "sla capacity" in result.stdout.split("why (steady)")[1]  # the command that tests it
    [run_dir] = [p for p in (tmp_path / "runs").iterdir() if (p / "run.json").exists()]
    [steady] = json.loads((run_dir / "explain.json").read_text())["phases"]
    assert steady["phase"] == "steady" and steady["load"]["saturated"]
    estimate = steady["load"]["capacity"]
    assert abs(estimate - capacity) <= 0.25 * capacity, (estimate, capacity)
    assert steady["what_if"]["rate"] < capacity and steady["what_if"]["workers"] == 1  # Little's law: 50/s x 20 ms
    assert "- steady: asked" in (run_dir / "report.md").read_text() and 'data-kind="saturation"' in (run_dir / "report.html").read_text()
    again = subprocess.run([SLA, "explain", str(run_dir)], cwd=ROOT, capture_output=True, text=True, timeout=120)  # from the kept data
    assert again.returncode == 0 and "finding (saturation)" in again.stdout and f"capacity ~{estimate:.3g}/s" in again.stdout, again.stdout + again.stderr
    assert "missing: the http target has no server metrics" in again.stdout  # explained from what the load generator saw
    wrong = subprocess.run([SLA, "explain", str(run_dir), "--phase", "nope"], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert wrong.returncode == 3 and "--phase 'nope': the run has no such phase; its phases: quiet, steady" in wrong.stderr


CAPACITY_DOM = """() => ({
  capacity: document.querySelector('#capacity').dataset.value,
  replicas: document.querySelector('#replicas').textContent.trim(),
  chart: (() => { const f = document.querySelector('figure#chart-capacity');
                  return f && {title: f.querySelector('h2').textContent, caption: f.querySelector('figcaption').textContent,
                               text: Array.from(f.querySelectorAll('svg text')).map(t => t.textContent).join(' | ')}; })(),
  steps: Array.from(document.querySelectorAll('tr[data-asked]')).map(r => ({asked: r.dataset.asked,
          p99: r.querySelector('td.p99').dataset.value, href: r.querySelector('a').getAttribute('href')})),
})"""


def check_capacity_page(cap_dir: Path, doc: dict, shot: Path) -> None:
    """capacity.html in real headless Chromium: offline, its chart labelled, its figures capacity.json's,
    each step linked to its own run report."""
    from tests.browser import open_page

    page = open_page(cap_dir / "capacity.html", shot, CAPACITY_DOM)
    assert page.errors == [] and page.requests == [page.url]
    dom = page.dom
    assert float(dom["capacity"]) == pytest.approx(doc["capacity"]) and dom["replicas"].startswith(str(doc["replicas"]))
    chart = dom["chart"]
    assert chart and chart["title"] and "?" in chart["caption"]
    assert "asked rate (requests/s)" in chart["text"] and f"capacity {doc['capacity']:.3g}/s" in chart["text"] and "SLA: P95" in chart["text"]
    assert [float(s["asked"]) for s in dom["steps"]] == pytest.approx([s["asked"] for s in doc["steps"]])
    for shown, step in zip(dom["steps"], doc["steps"]):
        assert float(shown["p99"]) == pytest.approx(step["p99"])
        assert (cap_dir / shown["href"]).resolve() == (Path(step["run_dir"]) / "report.html").resolve()
        assert (cap_dir / shown["href"]).is_file()
