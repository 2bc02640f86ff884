"""The HTML pages (sla/html/): a run's report.html, the compare page: every chart drawn, nothing
fetched from outside."""

import re

from sla.manifest import RunManifest
from sla.reports import write_reports
from tests.sla.test_reports import three_objectives


def _timeline(seconds: int = 60):
    from sla.analysis.timeline import Timeline

    times = [1000.0 + i for i in range(seconds)]
    series = {"p50": [0.05] * seconds, "p95": [0.09] * seconds, "p99": [0.12 + 0.001 * i for i in range(seconds)],
              "rate:success": [10.0] * seconds, "rate:failure": [0.0] * seconds, "users": [2.0] * seconds,
              "cpu_percent": [20.0] * seconds, "workers": [1.0] * seconds}
    return Timeline(999.0, 1000.0 + seconds, 1.0, times, series,
                    phases=[{"name": "steady", "kind": "users", "start": 1000.0, "end": 1000.0 + seconds, "planned_duration": seconds, "asked_rate": None}],
                    limits=[{"phase": "steady", "percentile": 99.0, "seconds": 0.15, "source": "loadgen"}],
                    stages={"steady": {"det": {"p50": 0.02, "p99": 0.04}, "rec": {"p50": 0.01, "p99": 0.02}}},
                    cold_start={"process_start": 990.0, "ready": 992.0, "models_load_seconds": 0.8, "warmup_seconds": 0.4,
                                "first_request_end": 1000.2, "first_request_seconds": 0.2},
                    cold_start_from="server", curves={"steady": {"actual": [[50.0, 0.05], [99.0, 0.13], [99.9, 0.2], [100.0, 0.25]]}},
                    locust=[[50.0, 0.05], [99.0, 0.14]], server_name="reference")


def test_the_html_page_holds_every_chart_the_objectives_and_the_limits_without_any_outside_resource(tmp_path):
    manifest = RunManifest("run1", {"name": "smoke"}, "http://127.0.0.1:1")
    paths = write_reports(tmp_path, manifest, three_objectives(), "sla.yaml", _timeline())
    html = paths["html"].read_text()
    for chart in ("chart-latency", "chart-throughput", "chart-cold-start", "chart-stages", "chart-distribution", "chart-generator"):
        assert f'id="{chart}"' in html
    assert 'data-objective="steady.latency.p99"' in html and 'data-verdict="FAIL"' in html
    assert "P99 limit 150ms" in html and "models loaded 800ms" in html and "warm-up 400ms" in html
    assert "<script" not in html and "<link" not in html  # nothing to load: no script, no stylesheet
    assert not re.findall(r"url\((?!#)", html)  # the SVGs' url(#clip) are fragments of the page itself
    assert not re.findall(r'(?:src|href)="(?:https?:)?//', html)
    assert (tmp_path / "timeline.json").is_file() and 'href="timeline.json"' in html


def test_a_page_without_a_timeline_still_has_the_verdict_and_the_objectives(tmp_path):
    manifest = RunManifest("run1", {"name": "smoke"}, "http://127.0.0.1:1")
    html = write_reports(tmp_path, manifest, three_objectives(), "sla.yaml")["html"].read_text()
    assert 'data-verdict="FAIL"' in html and "<figure" not in html


def test_the_compare_page_has_a_row_of_small_multiples_per_configuration_and_marks_the_best(tmp_path):
    from sla.compare import Row
    from sla.html.pages import write_compare_page

    rows = []
    for i, threads in enumerate((1, 2)):
        run_dir = tmp_path / "runs" / f"threads{threads}"
        run_dir.mkdir(parents=True)
        _timeline().write(run_dir)
        rows.append(Row({"threads": threads}, "PASS", 0.05, 0.12, 10.0 + i, 0.0, 2.0, 0.1, str(run_dir), best=i == 1))
    html = write_compare_page(tmp_path, rows, "steady", "smoke", tmp_path / "sla.yaml").read_text()
    assert 'data-best="threads=2"' in html and html.count("<svg") == 4  # latency and throughput per configuration
    assert 'href="runs/threads1/report.html"' in html and "★ best" in html
