"""The cross-check of server-side percentiles against the load generator's (pure)."""

from __future__ import annotations

import math

from sla.analysis.crosscheck import Pair, disagreement, low_load_overhead
from sla.analysis.stats import Buckets

BOUNDS = (0.025, 0.05, 0.1, 0.25, 0.5, 1.0, math.inf)


def buckets(*values: float) -> Buckets:
    return Buckets(BOUNDS, tuple(float(sum(v <= b for v in values)) for b in BOUNDS))


def test_queueing_before_the_server_clock_is_a_warning_naming_both_figures_and_the_low_load_overhead():
    quiet = Pair("warmup", buckets(*[0.04] * 100), buckets(*[0.045] * 100), rate=10)  # 1 in flight: overhead ~5 ms
    busy = Pair("steady", buckets(*[0.04] * 98, 0.2, 0.2), buckets(*[0.3] * 98, 0.7, 0.7), rate=12)  # queued 260 ms
    overhead, phase = low_load_overhead([quiet, busy], 0.99)
    assert phase == "warmup" and 0 <= overhead < 0.03
    why = disagreement(busy, 0.99, overhead, phase)
    assert why.startswith("steady: users saw P99") and "the server's own P99" in why
    assert "more than the" in why and "(phase warmup)" in why and "source: loadgen" in why


def test_two_sides_that_differ_by_the_overhead_or_within_a_bucket_agree():
    pair = Pair("steady", buckets(*[0.04] * 100), buckets(*[0.045] * 100), rate=10)
    assert disagreement(pair, 0.99, 0.005, "steady") is None
    coarse = Pair("steady", buckets(*[0.2] * 100), buckets(*[0.24] * 100), rate=10)  # both in (0.1, 0.25]
    assert disagreement(coarse, 0.99, 0.0, "steady") is None


def test_a_server_slower_than_anything_users_saw_is_a_warning():
    pair = Pair("steady", buckets(*[0.7] * 100), buckets(*[0.04] * 100), rate=10)
    assert "higher than anything users saw" in disagreement(pair, 0.5, 0.0, "steady")


def test_low_load_is_fewest_requests_in_flight_not_lowest_rate():
    one_user = Pair("warmup", buckets(*[0.06] * 100), buckets(*[0.06] * 100), rate=15)  # 0.9 in flight
    open_model = Pair("steady", buckets(*[0.04] * 100), buckets(*[0.3] * 100), rate=8)  # 2.4 in flight
    assert low_load_overhead([one_user, open_model], 0.99)[1] == "warmup"


def test_without_a_phase_at_low_load_no_overhead_is_allowed_and_the_warning_says_so():
    busy = Pair("steady", buckets(*[0.04] * 98, 0.2, 0.2), buckets(*[0.3] * 98, 0.7, 0.7), rate=12)  # 3.6 in flight
    assert low_load_overhead([busy], 0.99) == (0.0, "")
    assert "no phase ran at low load" in disagreement(busy, 0.99, 0.0, "")
