"""Load shedding and recovery: the objectives that judge an overload (pure: measurements in)."""

from __future__ import annotations


import pytest

from sla.analysis.evaluate import evaluate
from sla.analysis.verdict import FAIL, INCONCLUSIVE, PASS, Measurement
from sla.analysis.stats import Buckets, recovery_time
from sla.validation import FileProblems
from sla.slafile import load_sla
from sla.targets.reference import ReferenceApi

BOUNDS = (0.1, 1.0, float("inf"))


def cumulative(*windows: tuple[int, int, int]) -> list[tuple[float, Buckets]]:
    """Samples 1 s apart from per-second (<=0.1 s, <=1 s, slower) request counts."""
    out, totals = [], [0, 0, 0]
    for t, counts in enumerate(windows):
        totals = [a + b for a, b in zip(totals, counts)]
        running = [sum(totals[: i + 1]) for i in range(3)]
        out.append((100.0 + t, Buckets(BOUNDS, tuple(float(c) for c in running))))
    return out


def test_recovery_is_the_first_time_every_later_window_is_back_under_the_limit():
    slow, fast = (0, 0, 4), (4, 0, 0)
    samples = cumulative(slow, slow, slow, fast, fast, fast, fast, fast, fast, fast, fast, fast)
    # slow answers end at t = 102; the first 5 s window without them is (102, 107]
    assert recovery_time(samples, 100.0, 5.0, 0.99, 1.0) == pytest.approx(7.0)


def test_a_relapse_resets_the_recovery_and_never_recovering_is_none():
    slow, fast = (0, 0, 4), (4, 0, 0)
    relapse = cumulative(fast, fast, slow, fast, fast, fast, fast, fast, fast, fast)
    assert recovery_time(relapse, 100.0, 2.0, 0.99, 1.0) == pytest.approx(4.0)
    assert recovery_time(cumulative(slow, slow, slow), 100.0, 2.0, 0.99, 1.0) is None


def test_recovery_verdicts(tmp_path):
    sla_file = tmp_path / "sla.yaml"
    sla_file.write_text("phases:\n  recovery:\n    recovers: {p99: 1s, within: 15s}\n")
    [o] = load_sla(sla_file).objectives
    assert (o.kind, o.threshold, o.limit, o.percentile) == ("recovery", 1.0, 15.0, 99.0)
    assert evaluate(o, Measurement("q", value=8.0, count=200)).verdict == PASS
    assert evaluate(o, Measurement("q", value=21.0, count=200)).verdict == FAIL
    never = evaluate(o, Measurement("q", value=None, count=200))
    assert never.verdict == FAIL and "never came back under 1s" in never.detail
    assert evaluate(o, Measurement("q", value=None, count=0)).verdict == INCONCLUSIVE
    assert 1.0 in load_sla(sla_file).thresholds_s()  # the limit becomes a bucket boundary


def test_shed_share_and_the_other_failures_are_judged_apart(tmp_path):
    sla_file = tmp_path / "sla.yaml"
    sla_file.write_text("phases:\n  spike:\n    shed: 90%\n    error_rate: 2%\n")
    by_id = {o.id: o for o in load_sla(sla_file).objectives}
    shed, errors = by_id["spike.shed"], by_id["spike.error_rate"]
    assert shed.kind == "shed_rate" and errors.excludes_shed
    result = evaluate(shed, Measurement("q", count=480, failures=350))
    assert result.verdict == PASS and "350 shed (503/429 with Retry-After) of 480" in result.detail
    assert evaluate(shed, Measurement("q", count=480, failures=470)).verdict == FAIL
    assert "failed other than shed" in evaluate(errors, Measurement("q", count=480, failures=2)).detail


def test_a_recovery_objective_refuses_two_percentiles(tmp_path):
    sla_file = tmp_path / "sla.yaml"
    sla_file.write_text("phases:\n  recovery:\n    recovers: {p99: 1s, p50: 1s, within: 15s}\n")
    with pytest.raises(FileProblems, match="give one percentile"):
        load_sla(sla_file)


@pytest.mark.parametrize(("status", "retry_after", "shed"), [(503, "1", True), (429, "2", True), (503, None, False), (500, "1", False)])
def test_shedding_is_503_or_429_with_retry_after(status, retry_after, shed):
    assert ReferenceApi().shed(status, retry_after) is shed


def test_hdrhistogram_and_prometheus_agree_when_the_rank_falls_between_two_far_apart_requests(tmp_path):
    """156 requests, P99 rank 154.44: the HdrHistogram takes the 154th (84 ms), Prometheus
    interpolates toward the 155th (114 ms). Both are right; the run is not INCONCLUSIVE for it."""
    sla_file = tmp_path / "sla.yaml"
    sla_file.write_text("phases:\n  steady:\n    latency: {p99: 5s}\n")
    [o] = load_sla(sla_file).objectives
    b = Buckets((0.0802, 0.0882, 0.107, 0.117, 0.129, 5.0, float("inf")), (152.0, 154.0, 154.0, 155.0, 156.0, 156.0, 156.0))
    agree = evaluate(o, Measurement("q", buckets=b, hdr=0.0835))
    assert "HdrHistogram" not in agree.detail
    lost = evaluate(o, Measurement("q", buckets=b, hdr=0.300))  # e.g. scrapes lost: far outside
    assert lost.verdict == INCONCLUSIVE and "lies outside the Prometheus buckets" in lost.detail
