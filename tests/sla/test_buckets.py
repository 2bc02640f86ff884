import pytest

from sla.buckets import latency_buckets


def test_buckets_span_1ms_to_60s_in_steps_of_about_ten_percent():
    b = latency_buckets()
    assert b[0] == 0.001 and b[-1] == 60.0
    steps = [hi / lo for lo, hi in zip(b, b[1:])]
    assert max(steps) <= 1.11 and min(steps) > 1.0


def test_sla_thresholds_become_exact_boundaries():
    b = latency_buckets([0.15, 1.234])
    assert 0.15 in b and 1.234 in b
    assert list(b) == sorted(set(b))


@pytest.mark.parametrize("bad", [0, -1, float("inf"), float("nan")])
def test_non_positive_or_non_finite_boundaries_are_rejected(bad):
    with pytest.raises(ValueError, match="positive number of seconds"):
        latency_buckets([bad])
