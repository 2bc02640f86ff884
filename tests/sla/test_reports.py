"""The run's text reports (sla/reports.py): junit.xml, report.md, and the accuracy columns."""

from xml.etree import ElementTree as ET

from sla.analysis.analyzer import Analysis, PhaseSummary
from sla.analysis.evaluate import evaluate
from sla.analysis.verdict import Measurement, overall
from sla.analysis.stats import Buckets
from sla.manifest import RunManifest
from sla.reports import write_reports
from sla.slafile import Objective


def three_objectives() -> Analysis:
    """An analysis of three objectives: a throughput that passes, a P99 that fails, an error rate left INCONCLUSIVE."""
    objectives = [
        Objective("steady.throughput", "throughput", "steady", "loadgen", 10.0),
        Objective("steady.latency.p99", "latency", "steady", "loadgen", 0.15, 99.0),
        Objective("steady.error_rate", "error_rate", "steady", "loadgen", 0.01),
    ]
    measurements = [
        Measurement("sum(x)", (0, 60), count=600, duration=60.0),
        Measurement("sum by (le) (x)", (0, 60), buckets=Buckets((0.15, float("inf")), (900.0, 1000.0))),
        Measurement("sum by (outcome) (x)", (0, 60), count=100, failures=0),
    ]
    results = [evaluate(o, ms) for o, ms in zip(objectives, measurements)]
    summary = PhaseSummary(requests=1000, throughput=10.0, shed=0.0, error_rate=0.0, duration=60.0, percentiles={"p50": 0.05, "p99": 0.2})
    return Analysis(overall(results), results, {"steady": summary}, [])


def test_junit_has_one_test_case_per_objective_with_failures_and_skips(tmp_path):
    manifest = RunManifest("run1", {"name": "smoke"}, "http://127.0.0.1:1")
    paths = write_reports(tmp_path, manifest, three_objectives(), "sla.yaml")
    suite = ET.parse(paths["junit"]).getroot()
    assert suite.tag == "testsuite" and suite.get("tests") == "3" and suite.get("failures") == "1" and suite.get("skipped") == "1"
    cases = {c.get("name"): c for c in suite.findall("testcase")}
    assert set(cases) == {"steady.throughput", "steady.latency.p99", "steady.error_rate"}
    assert cases["steady.latency.p99"].find("failure") is not None
    assert cases["steady.error_rate"].find("skipped").get("message").startswith("INCONCLUSIVE")
    assert cases["steady.throughput"].find("failure") is None and cases["steady.throughput"].find("skipped") is None


def test_markdown_report_is_a_table_fit_for_a_job_summary(tmp_path):
    manifest = RunManifest("run1", {"name": "smoke"}, "http://127.0.0.1:1")
    text = write_reports(tmp_path, manifest, three_objectives(), "sla.yaml")["report"].read_text()
    assert text.startswith("## SLA gate: FAIL")
    rows = [line for line in text.splitlines() if line.startswith("| `steady.")]
    assert len(rows) == 3 and all(line.count("|") == 8 for line in rows)
    assert "**FAIL**" in text and "**INCONCLUSIVE**" in text and "**PASS**" in text


def test_accuracy_is_shown_per_phase_beside_latency(tmp_path):
    analysis = three_objectives()
    analysis.phases["steady"].accuracy = {"answers": 250.0, "lines": 1000.0, "exact_lines": 0.962, "cer": 0.0081}
    manifest = RunManifest("run1", {"name": "smoke"}, "http://127.0.0.1:1")
    paths = write_reports(tmp_path, manifest, analysis, "sla.yaml")
    [row] = [line for line in paths["report"].read_text().splitlines() if line.startswith("| steady |")]
    assert row.rstrip().endswith("| 96.2% | 0.81% |")
    html = paths["html"].read_text()
    assert '<td class="num" data-col="exact-lines">96.2%</td>' in html and '<td class="num" data-col="cer">0.81%</td>' in html
