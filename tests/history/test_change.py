"""The change of a run against the runs before it: the interval carries the noise between runs and
the run's own sampling error, and the verdict holds on noisy machines."""

from __future__ import annotations

import math
import random

import pytest

from sla.history.change import change_against, judge_change


def noisy(n: int, sigma: float, level: float = 0.1, seed: int = 1) -> list[float]:
    rng = random.Random(seed)
    return [level * math.exp(rng.gauss(0, sigma)) for _ in range(n)]


def test_a_15_percent_regression_on_quiet_runs_fails_an_allowed_10_percent():
    change = change_against(0.115, noisy(10, 0.01), )
    assert change.estimate == pytest.approx(0.15, abs=0.02)
    assert change.low > 0.10 and judge_change(change, 0.10, "max") == "FAIL"
    assert change.describe("P99").startswith("P99 +15 % (95 % CI +1")


def test_the_same_regression_on_runs_30_percent_apart_is_inconclusive_not_fail():
    change = change_against(0.115, noisy(10, 0.30), )
    assert change.low < 0.10 < change.high
    assert judge_change(change, 0.10, "max") == "INCONCLUSIVE"


def test_an_unchanged_run_within_quiet_runs_passes():
    baseline = noisy(10, 0.01)
    change = change_against(sorted(baseline)[5], baseline, )
    assert judge_change(change, 0.10, "max") == "PASS"


def test_one_odd_run_in_the_baseline_does_not_widen_the_interval():
    import statistics

    quiet = noisy(6, 0.01)
    with_odd = quiet[1:] + [0.1 * 1.15]  # the first run of a regression, already in the baseline
    spread = change_against(0.115, with_odd).between_runs
    assert spread < 2 * change_against(0.115, quiet).between_runs
    assert statistics.stdev(math.log(v) for v in with_odd) > 2.5 * spread  # what a standard deviation would have made of it
    assert judge_change(change_against(0.115, with_odd), 0.05, "max") == "FAIL"


def test_throughput_fails_only_when_the_whole_interval_is_below_the_allowed_drop():
    baseline = noisy(8, 0.01, level=50.0)
    assert judge_change(change_against(40.0, baseline), 0.10, "min") == "FAIL"
    assert judge_change(change_against(50.0, baseline), 0.10, "min") == "PASS"
    assert judge_change(change_against(60.0, baseline), 0.10, "min") == "PASS"  # faster is no regression


@pytest.mark.parametrize("sigma", [0.05, 0.2, 0.3])
def test_false_alarms_on_unchanged_runs_stay_under_5_percent(sigma):
    """Unchanged builds (lognormal run-to-run noise of `sigma`) judged against their last 10 runs."""
    rng = random.Random(7)
    fails = 0
    trials = 2000
    for _ in range(trials):
        runs = [math.exp(rng.gauss(0, sigma)) for _ in range(11)]
        fails += judge_change(change_against(runs[-1], runs[:-1]), 0.10, "max") == "FAIL"
    assert fails / trials < 0.05


def test_fewer_than_two_runs_or_a_missing_value_cannot_be_compared():
    assert change_against(0.1, [0.1]) is None
    assert change_against(0.0, [0.1, 0.1]) is None
