"""The evaluation core over hand-made measurements: every verdict path, every INCONCLUSIVE cause."""

import math

import pytest

from sla.analysis.evaluate import evaluate
from sla.analysis.verdict import FAIL, INCONCLUSIVE, PASS, Measurement, overall
from sla.analysis.stats import Buckets, min_samples
from sla.slafile import Objective

P99 = Objective("steady.latency.p99", "latency", "steady", "loadgen", 0.15, 99.0)
BOUNDS = (0.1, 0.15, 0.2, 0.5, math.inf)


def hist(*counts):
    """Cumulative counts for the bounds 0.1, 0.15, 0.2, 0.5, +Inf."""
    return Buckets(BOUNDS, tuple(float(c) for c in counts))


def m(buckets=None, **kw):
    return Measurement(promql="q", window=(0.0, 60.0), buckets=buckets, **kw)


def test_p99_at_or_under_a_boundary_limit_with_enough_samples_passes():
    r = evaluate(P99, m(hist(900, 1000, 1000, 1000, 1000)))
    assert r.verdict == PASS and r.samples == 1000 and r.exact_fraction == 1.0


def test_p99_above_limit_fails_and_says_what_to_do():
    r = evaluate(P99, m(hist(900, 980, 1000, 1000, 1000)))  # 2 % over 150 ms
    assert r.verdict == FAIL
    assert "over 150ms" in r.detail and "sla explain" in r.recommendation


def test_too_few_samples_is_inconclusive_and_says_how_many_more():
    r = evaluate(P99, m(hist(100, 300, 300, 300, 300)))
    assert r.verdict == INCONCLUSIVE
    assert "needs at least 459" in r.detail and "159 more requests" in r.recommendation


def test_one_request_over_the_limit_raises_the_count_needed():
    r = evaluate(P99, m(hist(500, 600, 601, 601, 601)))  # 1 over: MLPerf needs 662
    assert r.verdict == INCONCLUSIVE and "needs at least 662" in r.detail


def test_missing_series_is_inconclusive_not_pass():
    assert evaluate(P99, m(None)).verdict == INCONCLUSIVE
    assert evaluate(P99, m(hist(0, 0, 0, 0, 0))).verdict == INCONCLUSIVE


@pytest.mark.parametrize("cause", ["scrape gaps: 10 scrapes of job 'server' where 60 were expected",
                                   "job 'loadgen' was down (up == 0) during the window",
                                   "counter reset in the window: the server restarted"])
def test_validity_problems_make_even_perfect_numbers_inconclusive(cause):
    r = evaluate(P99, m(hist(1000, 1000, 1000, 1000, 1000), validity=(cause,)))
    assert r.verdict == INCONCLUSIVE and cause in r.detail


def test_limit_inside_a_wide_bucket_is_inconclusive():
    wide = Objective("steady.latency.p99", "latency", "steady", "loadgen", 0.3, 99.0)  # inside (0.2, 0.5]
    r = evaluate(wide, m(hist(0, 0, 980, 1000, 1000)))  # 2 % in (0.2, 0.5]: over or under 0.3?
    assert r.verdict == INCONCLUSIVE and "inside the bucket" in r.detail and "bucket boundary" in r.recommendation


def test_limit_inside_a_bucket_still_decides_when_the_whole_bucket_is_clear():
    wide = Objective("steady.latency.p99", "latency", "steady", "loadgen", 0.3, 99.0)
    assert evaluate(wide, m(hist(900, 1000, 1000, 1000, 1000))).verdict == PASS  # all under 0.2 < 0.3
    assert evaluate(wide, m(hist(0, 0, 0, 900, 1000))).verdict == FAIL  # 10 % over 0.5 > 0.3


def test_quantile_interpolates_like_prometheus_and_clamps_the_inf_bucket():
    b = hist(50, 100, 100, 100, 100)
    assert b.quantile(0.5) == pytest.approx(0.1)
    assert b.quantile(0.75) == pytest.approx(0.125)
    assert hist(0, 0, 0, 0, 100).quantile(0.99) == 0.5  # a quantile in +Inf reads as the highest bound


def test_the_confidence_interval_of_a_p99_spans_the_ranks_its_requests_allow_in_whole_buckets():
    # 100 requests: 95 at or under 22 ms, 4 in (22, 25] ms, 1 slow one in (25, 28] ms. The P99 of
    # what they were drawn from lies between the 96th (in (22, 25]) and the slowest (in (25, 28]).
    few = Buckets((0.022, 0.025, 0.028, math.inf), (95.0, 99.0, 100.0, 100.0))
    assert few.quantile_interval(0.99) == (0.022, 0.028)
    # ten times as many, the same shape: the interval narrows to the ranks 981 to 999, one bucket
    many = Buckets((0.022, 0.025, 0.028, math.inf), (950.0, 999.0, 1000.0, 1000.0))
    assert many.quantile_interval(0.99) == (0.022, 0.025)
    assert all(math.isnan(v) for v in Buckets((0.022, math.inf), (0.0, 0.0)).quantile_interval(0.99))


def test_mlperf_early_stopping_counts():
    assert [min_samples(0.99, k) for k in (0, 1, 2, 5, 10)] == [459, 662, 838, 1307, 2010]


THROUGHPUT = Objective("steady.throughput", "throughput", "steady", "loadgen", 10.0)


@pytest.mark.parametrize(("count", "verdict"), [(600, PASS), (599, FAIL), (None, INCONCLUSIVE)])
def test_throughput_is_successful_requests_per_second_over_the_window(count, verdict):
    assert evaluate(THROUGHPUT, m(count=count, duration=60.0)).verdict == verdict


ERRORS = Objective("steady.error_rate", "error_rate", "steady", "loadgen", 0.01)


@pytest.mark.parametrize(
    ("total", "failed", "verdict"),
    [(1000, 0, PASS), (1000, 11, FAIL), (100, 0, INCONCLUSIVE), (0, 0, INCONCLUSIVE), (100, 5, FAIL)],
)
def test_error_rate_needs_enough_requests_for_its_claim(total, failed, verdict):
    assert evaluate(ERRORS, m(count=total, failures=failed)).verdict == verdict


@pytest.mark.parametrize(("value", "verdict"), [(0.8, PASS), (2.5, FAIL), (None, INCONCLUSIVE), (0.0, INCONCLUSIVE)])
def test_cold_start_gauges(value, verdict):
    o = Objective("cold_start.first_request", "first_request", None, "loadgen", 1.0)
    assert evaluate(o, Measurement(promql="q", value=value)).verdict == verdict


def test_baseline_growth_limits_are_relative_to_the_baseline_value():
    o = Objective("steady.baseline.p99", "baseline_latency", "steady", "loadgen", 0.10, 99.0)
    grown = m(hist(0, 0, 0, 1000, 1000), baseline=0.1)  # limit 0.11; everything is over 0.2
    assert evaluate(o, grown).verdict == FAIL
    undecidable = m(hist(0, 1000, 1000, 1000, 1000), baseline=0.1)  # limit 0.11 inside (0.1, 0.15] holding all
    assert evaluate(o, undecidable).verdict == INCONCLUSIVE
    same = m(hist(1000, 1000, 1000, 1000, 1000), baseline=0.15)  # limit 0.165: everything <= 0.1
    assert evaluate(o, same).verdict == PASS
    assert evaluate(o, m(hist(1000, 1000, 1000, 1000, 1000))).verdict == INCONCLUSIVE  # no baseline value


def test_baseline_throughput_may_drop_at_most_the_allowed_share():
    o = Objective("steady.baseline.throughput", "baseline_throughput", "steady", "loadgen", 0.10)
    assert evaluate(o, m(count=540, duration=60.0, baseline=10.0)).verdict == PASS  # 9.0/s = -10 %
    assert evaluate(o, m(count=500, duration=60.0, baseline=10.0)).verdict == FAIL


def _r(verdict):
    return evaluate(THROUGHPUT, m(count={PASS: 600, FAIL: 1}.get(verdict), duration=60.0))


def test_overall_fail_beats_inconclusive_beats_pass():
    assert overall([_r(PASS), _r(INCONCLUSIVE), _r(FAIL)]) == FAIL
    assert overall([_r(PASS), _r(INCONCLUSIVE)]) == INCONCLUSIVE
    assert overall([_r(PASS), _r(PASS)]) == PASS
    assert overall([]) == INCONCLUSIVE  # nothing judged is not a pass


@pytest.mark.parametrize(
    ("windows", "expected"),
    [
        ([(10, 0.10), (10, 0.10), (10.5, 0.105), (10.2, 0.101)], True),
        ([(10, 0.10), (10, 0.10), (10, 0.20)], False),  # P99 doubled in the last window
        ([(10, 0.10), (8, 0.10), (10, 0.10)], False),  # throughput 20 % apart
        ([(10, 0.10), (10, 0.10)], False),  # fewer than three windows
    ],
)
def test_a_measurement_is_stable_when_the_last_three_windows_agree_within_10_percent(windows, expected):
    from sla.analysis.analyzer import stable

    # intervals as narrow as the P99 itself: only the 10 % rule decides
    assert stable([{"throughput": t, "p99": p, "p99_low": p, "p99_high": p} for t, p in windows]) is expected


def _step(*windows: tuple[float, float, float]) -> list[dict[str, float]]:
    return [{"throughput": 5.0, "p99": p, "p99_low": low, "p99_high": high} for low, p, high in windows]


def test_p99s_further_apart_than_10_percent_are_stable_when_their_requests_cannot_tell_them_apart():
    from sla.analysis.analyzer import stable

    # 5/s: the P99 of the first 100 requests is one slow request (28 ms, against 22 ms later); each
    # P99's interval (the 96th to the slowest of 100, ...) holds 23 ms: a steady server
    assert stable(_step((0.0211, 0.0281, 0.0309), (0.0211, 0.0225, 0.0309), (0.0211, 0.0223, 0.0309)))
    # a queue that grows: the later intervals lie above the first one
    assert not stable(_step((0.0211, 0.0281, 0.0309), (0.034, 0.045, 0.0498), (0.0548, 0.070, 0.0804)))
    # a window without an interval (a run recorded before it) is judged on the 10 % rule alone
    assert not stable([{"throughput": 5.0, "p99": p} for p in (0.028, 0.0225, 0.0223)])
    # the first window has no P99 of its own (None): three windows with it among them are not stable
    assert not stable([{"throughput": 5.0, "p99": None, "p99_low": None, "p99_high": None}, *_step(*[(0.021, 0.022, 0.023)] * 2)])


SHORT = ("the load generator fell behind its arrival clock: lag P99 63.0 ms over 50 ms",)


def test_a_generator_shortfall_never_lets_a_pass_through():
    r = evaluate(P99, m(hist(1000, 1000, 1000, 1000, 1000), delivery=SHORT))
    assert r.verdict == INCONCLUSIVE and "fell behind" in r.detail and "--processes" in r.recommendation


def test_a_latency_fail_stands_when_the_actual_send_time_fails_too():
    over = hist(0, 0, 0, 1000, 1000)
    assert evaluate(P99, m(over, actual_buckets=over, delivery=SHORT)).verdict == FAIL


def test_a_latency_fail_that_the_lag_could_explain_is_inconclusive():
    r = evaluate(P99, m(hist(0, 0, 0, 1000, 1000), actual_buckets=hist(1000, 1000, 1000, 1000, 1000), delivery=SHORT))
    assert r.verdict == INCONCLUSIVE


def test_errors_are_failures_whatever_load_was_delivered():
    r = evaluate(ERRORS, m(count=1000, failures=120, delivery=SHORT))
    assert r.verdict == FAIL and "although" in r.detail


def test_an_error_rate_of_100_percent_needs_no_sample_count(tmp_path):
    """`error_rate: 100%` allows every request to fail: no claim size to compute (it once raised a math domain error)."""
    from sla.objectives import KINDS
    from sla.objectives.base import Objective

    o = Objective("steady.error_rate", "error_rate", "steady", "loadgen", 1.0)
    assert KINDS["error_rate"].needs(o) == 0
