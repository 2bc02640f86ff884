"""The analyzer against a fake metrics source (pure: no Prometheus). What a kind asks of a source,
and each way evidence goes bad ending INCONCLUSIVE with its reason. Plus: a new objective kind is
one module and one registry line, and the core needs nothing else."""

from __future__ import annotations

import math
import re

import pytest

from sla.analysis.analyzer import Analyzer
from sla.analysis.stats import Buckets
from sla.analysis.verdict import FAIL, INCONCLUSIVE, PASS, Measurement
from sla.buckets import latency_buckets
from sla.manifest import PhaseWindow, RunManifest
from sla.objectives import KINDS, REGISTRY, Kind, Objective, ParseContext
from sla.objectives.base import limit, result
from sla.slafile import load_sla
from sla.validation import FileProblems, positive

START, END = 1000.0, 1060.0
SLA = """
phases:
  steady:
    latency: {p50: 200ms, p99: 500ms}
    throughput: 15/s
    error_rate: 1%
"""


class FakeProm:
    """Answers the queries the sources make, from a model of one users phase of 60 s."""

    def __init__(self, latencies: list[float], failures: int = 0, scrape_share: float = 1.0, down: bool = False,
                 resets: int = 0, series: bool = True) -> None:
        self.latencies, self.failures = latencies, failures
        self.scrape_share, self.down, self.resets, self.series = scrape_share, down, resets, series
        self.asked: list[str] = []

    def scalar(self, expr: str) -> float | None:
        self.asked.append(expr)
        window = re.search(r"\[(\d+)s\]", expr)
        if "sum_over_time(up" in expr:
            return float(window.group(1)) * self.scrape_share if window else None
        if "min_over_time(up" in expr:
            return 0.0 if self.down else 1.0
        if "resets(" in expr:
            return float(self.resets)
        if self.series and expr.startswith("sum(loadgen_request_duration_seconds_sum"):
            return sum(self.latencies)
        if self.series and expr.startswith("sum(loadgen_request_duration_seconds_count"):
            return float(len(self.latencies))
        return None

    def vector(self, expr: str, label: str) -> dict[str, float]:
        self.asked.append(expr)
        if self.series and label == "outcome":
            return {"success": float(len(self.latencies)), "failure": float(self.failures), "shed": 0.0}
        return {}

    def buckets(self, expr: str) -> Buckets | None:
        self.asked.append(expr)
        if not self.series or "loadgen_request_duration_seconds_bucket" not in expr:
            return None
        bounds = latency_buckets((0.2, 0.5))
        pairs = {b: float(sum(v <= b for v in self.latencies)) for b in bounds}
        pairs[math.inf] = float(len(self.latencies))
        return Buckets.from_pairs(pairs)


def analyze(prom: FakeProm, sla_text: str = SLA, tmp_path=None, target_api: str = "reference", kinds=REGISTRY):
    path = tmp_path / "sla.yaml"
    path.write_text(sla_text)
    manifest = RunManifest("run1", {"name": "t"}, "http://127.0.0.1:1", target_api,
                           [PhaseWindow("steady", "users", START, END, END - START)], START, END,
                           loadgen={"final_scrape_at": END + 1, "requests": len(prom.latencies) + prom.failures})
    analysis = Analyzer(prom, manifest).run(load_sla(path, ["steady"], kinds=kinds))
    return {r.id: r for r in analysis.results}, analysis


def fast(n: int = 1200) -> list[float]:
    return [0.05 + 0.1 * (i % 10) / 10 for i in range(n)]  # 50 to 140 ms


def test_clean_evidence_is_judged_from_the_sources_series(tmp_path):
    results, analysis = analyze(FakeProm(fast()), tmp_path=tmp_path)
    assert {r.verdict for r in results.values()} == {PASS}
    assert results["steady.throughput"].value == pytest.approx(1200 / 60)
    assert "loadgen_request_duration_seconds_bucket" in results["steady.latency.p99"].promql
    assert analysis.phases["steady"].requests == 1200 and analysis.phases["steady"].error_rate == 0


@pytest.mark.parametrize(("prom", "reason"), [
    (FakeProm(fast(), scrape_share=0.5), "scrape gaps: 30 scrapes of job 'loadgen' where 61 were expected"),
    (FakeProm(fast(), down=True), "job 'loadgen' was down (up == 0) during the window"),
    (FakeProm(fast(), resets=1), "counter reset in the window: the loadgen restarted"),
])
def test_bad_evidence_makes_every_objective_of_the_window_inconclusive_with_its_reason(tmp_path, prom, reason):
    results, analysis = analyze(prom, tmp_path=tmp_path)
    assert {r.verdict for r in results.values()} == {INCONCLUSIVE} and analysis.verdict == INCONCLUSIVE
    assert all(reason in r.detail for r in results.values()), [r.detail for r in results.values()]


def test_a_missing_series_is_inconclusive_not_a_pass(tmp_path):
    results, _ = analyze(FakeProm(fast(), series=False), tmp_path=tmp_path)
    assert results["steady.latency.p50"].verdict == INCONCLUSIVE and "no requests in the window" in results["steady.latency.p50"].detail
    assert results["steady.throughput"].verdict == INCONCLUSIVE and "no request count" in results["steady.throughput"].detail
    assert results["steady.error_rate"].verdict == INCONCLUSIVE


def test_slow_answers_fail_their_percentile_and_failures_their_error_rate(tmp_path):
    slow = fast(1000) + [0.9] * 200  # 1/6 over 500 ms
    results, analysis = analyze(FakeProm(slow, failures=30), tmp_path=tmp_path)
    assert results["steady.latency.p99"].verdict == FAIL and results["steady.latency.p50"].verdict == PASS
    assert results["steady.error_rate"].verdict == FAIL and results["steady.error_rate"].value == pytest.approx(30 / 1230)
    assert analysis.verdict == FAIL


def test_a_mean_is_judged_from_the_sum_and_count_of_the_window(tmp_path):
    sla = "phases:\n  steady:\n    latency: {mean: 100ms, p99: 1s}\n"
    results, _ = analyze(FakeProm(fast()), sla, tmp_path=tmp_path)
    mean = results["steady.latency.mean"]
    assert mean.verdict == PASS and mean.value == pytest.approx(sum(fast()) / 1200) and mean.samples == 1200
    assert "loadgen_request_duration_seconds_sum" in mean.promql and "_count" in mean.promql
    results, _ = analyze(FakeProm(fast() + [1.0] * 200), sla, tmp_path=tmp_path)
    assert results["steady.latency.mean"].verdict == FAIL and "over 100ms" in results["steady.latency.mean"].detail
    results, _ = analyze(FakeProm(fast(), series=False), sla, tmp_path=tmp_path)
    assert results["steady.latency.mean"].verdict == INCONCLUSIVE


class MaxRequests(Kind):
    """A toy kind: at most N requests in the phase (a budget). What a new kind's module holds."""

    names = ("max_requests",)
    key = "max_requests"
    description = "most requests the phase may send, e.g. 5000"
    unit = "/s"

    def parse(self, ctx: ParseContext) -> list[Objective]:
        if self.key not in ctx.doc:
            return []
        got = limit(ctx.reader, ctx.doc, ctx.path, self.key, positive(float), "max", "a positive number")
        return [Objective(f"{ctx.phase}.max_requests", "max_requests", ctx.phase, got[1], got[0], where=f"{ctx.path}.max_requests")] if got else []

    def measure(self, o, run, w) -> Measurement:
        counts = run.source(o.source).outcomes(w)
        return Measurement(counts.promql if counts else "", count=counts.total if counts else None)

    def judge(self, o, m):
        if m.count is None:
            return result(o, m, INCONCLUSIVE, None, "no count")
        return result(o, m, PASS if m.count <= o.limit else FAIL, m.count, f"{m.count:.0f} requests")


def test_a_new_objective_kind_is_one_module_and_one_registry_line(tmp_path):
    kinds = [*REGISTRY, MaxRequests()]  # what the registry line adds, handed to the loader (the shipped registry untouched)
    text = SLA + "    max_requests: 1000\n"
    results, analysis = analyze(FakeProm(fast()), text, tmp_path, kinds=kinds)
    assert results["steady.max_requests"].verdict == FAIL and results["steady.max_requests"].value == 1200
    assert analysis.verdict == FAIL
    bad = tmp_path / "bad.yaml"
    bad.write_text("phases: {steady: {max_requests: lots}}\n")
    with pytest.raises(FileProblems, match=r"phases.steady.max_requests: .*a positive number"):
        load_sla(bad, ["steady"], kinds=kinds)
    assert "max_requests" not in KINDS


def test_without_the_registry_line_the_key_is_refused_with_what_is_accepted(tmp_path):
    path = tmp_path / "sla.yaml"
    path.write_text("phases: {steady: {max_requests: 1000}}\n")
    with pytest.raises(FileProblems, match=r"max_requests: unknown key; accepted keys here: at_rate, latency, throughput"):
        load_sla(path, ["steady"])
