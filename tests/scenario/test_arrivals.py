import pytest

from sla.scenario.arrivals import cumulative, inverse, offsets, planned_count


def test_even_arrivals_at_a_constant_rate_are_evenly_spaced():
    times = list(offsets(10, 10, 5))
    assert len(times) == 50 == planned_count(10, 10, 5)
    assert times[:3] == pytest.approx([0.0, 0.1, 0.2]) and times[-1] == pytest.approx(4.9)


def test_a_ramp_sends_the_area_under_the_rate():
    times = list(offsets(2, 10, 10))
    assert len(times) == planned_count(2, 10, 10) == 60  # (2 + 10) / 2 * 10
    gaps = [b - a for a, b in zip(times, times[1:])]
    assert gaps[0] > gaps[-1]  # arrivals come closer as the rate rises
    assert inverse(2, 10, 10, cumulative(2, 10, 10, 7.3)) == pytest.approx(7.3)


def test_poisson_arrivals_are_seeded_and_near_the_asked_count():
    first, again = list(offsets(100, 100, 10, poisson=True, seed=3)), list(offsets(100, 100, 10, poisson=True, seed=3))
    assert first == again
    assert abs(len(first) - 1000) < 4 * 1000 ** 0.5  # within four standard deviations
    assert list(offsets(100, 100, 10, poisson=True, seed=4)) != first


@pytest.mark.parametrize("workers", [2, 3, 4])
def test_workers_split_the_schedule_without_gaps_or_repeats(workers):
    whole = list(offsets(7, 13, 9, poisson=True, seed=5))
    shares = [list(offsets(7, 13, 9, poisson=True, seed=5, worker=w, workers=workers)) for w in range(workers)]
    assert sorted(t for share in shares for t in share) == whole
