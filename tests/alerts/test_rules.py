"""`sla alerts` on every shipped SLA file: the rules pass `promtool check rules`, their generated
cases pass `promtool test rules` (each alert fires on its series, its near misses do not), and a
rule changed by hand makes those cases fail. The dashboard reads back in grafana-foundation-sdk."""

from __future__ import annotations

import json
import os
import shutil
import re
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import yaml

from sla.alerts.dashboard import dashboard_json, validate
from sla.alerts.promtool import check_and_test, write_rules
from sla.alerts.cases import counter
from sla.alerts.model import AlertOptions, prom_duration
from sla.alerts.rules import build_rules, le_matcher
from sla.alerts.replay import first_firing
from sla.cli import main
from sla.slafile import load_sla
from sla.targets import API_REGISTRY
from sla.targets.metrics import MAPPINGS
from sla.targets.reference import REFERENCE

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = sorted((ROOT / "sla" / "thresholds").glob("*.yaml"))
SCENARIOS = ROOT / "scenarios"


def test_promtool_is_installed():
    """The rules' tests need promtool: missing, it is a failure (a broken setup), never a skip."""
    assert shutil.which("promtool"), "promtool comes with `make setup` (Debian package prometheus)"


def target_of(sla_path: Path) -> tuple[str, object]:
    """The API and metrics mapping of the scenario of the same name (the reference server's by default)."""
    scenario = SCENARIOS / sla_path.name
    doc = yaml.safe_load(scenario.read_text()) if scenario.exists() else {}
    target = (doc or {}).get("target") or {}
    api = target.get("api", "reference")
    metrics = target.get("metrics")
    return api, MAPPINGS[metrics] if isinstance(metrics, str) else API_REGISTRY[api].metrics


def shipped_rules(path: Path):
    api, mapping = target_of(path)
    mapping = mapping or REFERENCE  # a stack without metrics of its own (PaddleX serving) is gated in production by the reference mapping's shape
    return build_rules(load_sla(path, None, "", api, mapping), mapping, AlertOptions())


@pytest.fixture(scope="module")
def promtool_runs(tmp_path_factory) -> dict[str, list[tuple[str, bool, str]]]:
    """promtool on every shipped file's rules and cases, one file per core at a time (each
    `promtool test rules` is single-threaded and takes seconds): {file stem: check_and_test's results}."""
    # made here, not in the threads: the first mktemp of a process makes its base folder, which two threads at once race for
    folders = {path: tmp_path_factory.mktemp(path.stem) for path in SHIPPED}

    def run(path: Path) -> list[tuple[str, bool, str]]:
        rules = shipped_rules(path)
        return check_and_test(write_rules(rules, folders[path], rules.sla.name))

    with ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
        return dict(zip((p.stem for p in SHIPPED), pool.map(run, SHIPPED)))


@pytest.mark.parametrize("path", SHIPPED, ids=[p.stem for p in SHIPPED])
def test_rules_of_every_shipped_sla_file_pass_promtool_check_and_their_own_tests(path, promtool_runs):
    rules = shipped_rules(path)
    results = promtool_runs[path.stem]
    for command, ok, text in results:
        assert ok, f"{command}\n{text}"
    assert "SUCCESS" in results[1][2]
    cases = sum(len(r.cases) for r in rules.alerts)
    assert cases >= 2 * len(rules.alerts), "every alert has a firing case and a near miss"
    assert all(any(c.labels for c in r.cases) and any(c.labels is None for c in r.cases) for r in rules.alerts)
    assert validate(dashboard_json(rules)) == []


def test_every_dashboard_query_of_every_shipped_sla_file_is_promql_that_promtool_accepts(tmp_path):
    """The dashboard draws with the rules' selectors (RuleSet.selectors): each panel's query, with
    Grafana's $__rate_interval as 5m, passes `promtool check rules` as a recording rule."""
    exprs = {}
    for path in SHIPPED:
        board = dashboard_json(shipped_rules(path))
        for panel in board["panels"]:
            for target in panel.get("targets", []):
                exprs[f"{path.stem}: {panel['title']}"] = target["expr"].replace("$__rate_interval", "5m")
    assert any("Queue wait" in k for k in exprs) and any("Requests/s by status" in k for k in exprs)
    rules = {"groups": [{"name": "dashboard", "rules": [{"record": f"dashboard:query{i}", "expr": e} for i, e in enumerate(exprs.values())]}]}
    (tmp_path / "dashboard.rules.yml").write_text(yaml.safe_dump(rules))
    done = subprocess.run(["promtool", "check", "rules", str(tmp_path / "dashboard.rules.yml")], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr + "\n" + "\n".join(f"{k}: {e}" for k, e in exprs.items())
    assert f"SUCCESS: {len(exprs)} rules found" in done.stdout


def test_a_rule_changed_by_hand_fails_its_generated_cases(tmp_path):
    """The cases can fail: a P99 limit raised tenfold and the fast burn's 14.4x made 44.4x are caught."""
    rules = build_rules(load_sla(ROOT / "sla/thresholds/sustained.yaml"), REFERENCE, AlertOptions())
    written = write_rules(rules, tmp_path, "sustained")
    text = written.rules.read_text()
    changed = text.replace('{sla="sustained"} > 5', '{sla="sustained"} > 50').replace("(14.4 * 0.01)", "(44.4 * 0.01)")
    assert changed != text
    written.rules.write_text(changed)
    (check, ok_check, _), (test, ok_test, out) = check_and_test(written)
    assert ok_check and not ok_test
    assert "SustainedSteadyLatencyP99OverLimit: over the limit for longer than `for`: fires" in out
    assert "SustainedSteadyLatencyP99FastBurn: an hour at 20x after five good hours (the 14.4x clause alone): fires" in out
    assert "SustainedSteadyErrorsFastBurn" in out


def test_the_paper_case_p99_over_150ms_for_5_minutes(tmp_path):
    """`p99: 150ms` becomes a recording of P99 over 5 minutes and an alert over 0.15 for 5m, with labels
    and annotations naming the SLA file and the objective."""
    sla = tmp_path / "paper.yaml"
    sla.write_text("name: paper\nphases:\n  steady:\n    latency: {p99: 150ms}\n    error_rate: 0.5%\n")
    rules = build_rules(load_sla(sla), REFERENCE, AlertOptions())
    by_name = {r.alert: r for r in rules.alerts}
    alert = by_name["PaperSteadyLatencyP99OverLimit"]
    doc = alert.to_yaml()
    assert doc["expr"] == 'job:ocr_request_duration_seconds:p99_rate5m{sla="paper"} > 0.15' and doc["for"] == "5m"
    assert doc["labels"] == {"severity": "warning", "sla": "paper", "objective": "steady.latency.p99"}
    assert "paper.yaml" in doc["annotations"]["description"] and "phases.steady.latency.p99" in doc["annotations"]["description"]
    record = {r.record: r.expr for r in rules.records}["job:ocr_request_duration_seconds:p99_rate5m"]
    assert record == 'histogram_quantile(0.99, sum by (job, le) (rate(ocr_request_duration_seconds_bucket{job="server"}[5m])))'
    page = by_name["PaperSteadyErrorsFastBurn"].expr
    assert "ratio_rate1h" in page and "ratio_rate5m" in page and "(14.4 * 0.005)" in page
    assert "ratio_rate6h" in page and "ratio_rate30m" in page and "(6 * 0.005)" in page
    ticket = by_name["PaperSteadyErrorsSlowBurn"].expr
    assert "(3 * 0.005)" in ticket and "ratio_rate1d" in ticket and "ratio_rate3d" in ticket and "(1 * 0.005)" in ticket


def test_burn_rates_a_budget_cannot_reach_are_left_out(tmp_path):
    """P50 has a 50 % budget: 14.4x, 6x and 3x would need more than every request slow; only 1x remains.
    P90 (10 %): no 14.4x clause in the page."""
    sla = tmp_path / "median.yaml"
    sla.write_text("name: median\nphases:\n  steady:\n    latency: {p50: 100ms, p90: 300ms}\n")
    by_name = {r.alert: r.expr for r in build_rules(load_sla(sla), REFERENCE, AlertOptions()).alerts}
    assert "MedianSteadyLatencyP50FastBurn" not in by_name
    assert "(1 * 0.5)" in by_name["MedianSteadyLatencyP50SlowBurn"] and "(3 * 0.5)" not in by_name["MedianSteadyLatencyP50SlowBurn"]
    assert "14.4" not in by_name["MedianSteadyLatencyP90FastBurn"] and "(6 * 0.1)" in by_name["MedianSteadyLatencyP90FastBurn"]


def test_objectives_a_mapping_cannot_read_are_skipped_with_the_reason(tmp_path):
    rules = build_rules(load_sla(ROOT / "sla/thresholds/kserve.yaml", None, "", "v2", MAPPINGS["kserve"]), MAPPINGS["kserve"], AlertOptions())
    skipped = dict(rules.skipped)
    assert skipped["phases.steady.error_rate"] == "the kserve metrics count no failed requests (no request counter)"
    assert "no ready timestamp" in skipped["cold_start.time_to_ready"]
    assert any(r.alert == "KserveOcrSteadyLatencyP99OverLimit" for r in rules.alerts)


def test_a_mean_only_mapping_gets_a_mean_alert_in_its_own_unit(tmp_path):
    """Triton's durations are microseconds: the mean is scaled to seconds before the limit."""
    sla = tmp_path / "t.yaml"
    sla.write_text("name: t\nphases:\n  steady:\n    latency: {mean: 80ms}\n    error_rate: 1%\n")
    triton = MAPPINGS["triton"]
    rules = build_rules(load_sla(sla, None, "", "paddlex_hps", triton), triton, AlertOptions(job="triton"))
    mean = {r.alert: r for r in rules.alerts}["TSteadyLatencyMeanOverLimit"]
    record = {r.record: r.expr for r in rules.records}["job:nv_inference_request_duration_us:mean_rate5m"]
    assert record.endswith("* 1e-06") and 'job="triton"' in record and mean.expr.endswith("> 0.08")
    assert "nv_inference_request_failure" in {r.record: r.expr for r in rules.records}["job:sla_steady_error_rate_bad:ratio_rate5m"]


def test_le_matchers_accept_both_client_spellings():
    assert le_matcher(0.15) == 'le="0.15"'
    assert le_matcher(1.0) == 'le=~"1|1\\\\.0"'  # Go writes 1, Python 1.0
    assert prom_duration(300) == "5m" and prom_duration(259200) == "3d" and prom_duration(90) == "90s" and prom_duration(0.25) == "250ms"
    assert counter([(2, 3)]) == "0+2x3" and counter([(0, 2), (5, 2)]) == "0+0x2 5+5x1"


def test_first_firing_needs_the_condition_at_every_evaluation_for_its_for():
    grid = [float(t) for t in range(0, 60, 5)]
    held = {t: True for t in (10.0, 15.0, 25.0, 30.0, 35.0, 40.0)}
    assert first_firing(held, grid, 10.0) == 35.0  # 15 -> 20 is broken at 20
    assert first_firing(held, grid, 0.0) == 10.0
    assert first_firing(held, grid, 20.0) is None


def test_cli_refuses_bad_input_naming_what_is_accepted(tmp_path, capsys):
    assert main(["alerts"]) == 3
    assert "name an SLA file" in capsys.readouterr().err
    assert main(["alerts", "sla/thresholds/kserve.yaml", "--target-api", "v2", "-o", str(tmp_path)]) == 3
    assert "--metrics (kserve, mlserver" in capsys.readouterr().err
    assert main(["alerts", "sla/thresholds/release.yaml", "--metrics", "nope", "-o", str(tmp_path)]) == 3
    assert "shipped: kserve" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["alerts", "sla/thresholds/release.yaml", "--interval", "1.5s"])
    assert "whole seconds" in capsys.readouterr().err
    assert main(["alerts", "sla/thresholds/release.yaml", "--phase", "nope", "-o", str(tmp_path)]) == 3
    assert "has no such phase; its phases: steady" in capsys.readouterr().err
    assert main(["alerts", "--replay", str(tmp_path)]) == 3
    assert "not a run directory" in capsys.readouterr().err


def test_sla_alerts_writes_rules_cases_and_dashboard(tmp_path):
    done = subprocess.run([str(Path(sys.executable).parent / "sla"), "alerts", "sla/thresholds/release.yaml", "-o", str(tmp_path)],
                          cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "promtool check rules release.rules.yml: SUCCESS" in done.stdout and "promtool test rules" in done.stdout
    rules = yaml.safe_load((tmp_path / "release.rules.yml").read_text())
    assert [g["name"] for g in rules["groups"]] == ["sla-release-recording", "sla-release-alerts"]
    assert (tmp_path / "release.rules.yml").read_text().startswith("# Generated by `sla alerts` from sla/thresholds/release.yaml")
    board = json.loads((tmp_path / "release.dashboard.json").read_text())
    titles = [p["title"] for p in board["panels"]]
    for wanted in ("Requests/s by status", "Error ratio (SLA limit as a line)", "Latency percentiles (SLA limits as lines)",
                   "Stage P99 latency", "Queue wait P99", "Requests in flight", "Mean batch size", "Time to ready", "First request after start"):
        assert wanted in titles
    latency = board["panels"][titles.index("Latency percentiles (SLA limits as lines)")]
    assert [s["value"] for s in latency["fieldConfig"]["defaults"]["thresholds"]["steps"]] == [None, 0.15, 0.6]
    assert re.search(r"p99_rate5m", json.dumps(latency["targets"]))
