"""The cross-checks of the server's evidence against the load generator's (pure): percentiles,
failures, and the series a mapping names."""

from __future__ import annotations

import math
from types import SimpleNamespace

from sla.analysis.crosscheck import Pair, absent_series, disagreement, low_load_overhead, uncounted_failures
from sla.analysis.sources import Outcomes
from sla.analysis.stats import Buckets
from sla.targets.metrics import MAPPINGS

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


def test_a_server_bucket_starting_a_hair_above_the_users_agrees():
    """Ray Serve on a fresh clone: users' P95 in (45.3 ms, 49.8 ms], the server's in (50 ms, 100 ms]."""
    client = Buckets((0.0453, 0.0498, math.inf), (0.0, 96.0, 100.0))
    server = Buckets((0.025, 0.05, 0.1, math.inf), (0.0, 94.0, 100.0, 100.0))
    assert disagreement(Pair("steady", server, client, rate=6), 0.95, 0.0, "steady") is None
    later = Buckets((0.025, 0.06, 0.1, math.inf), (0.0, 0.0, 100.0, 100.0))  # all of it over 60 ms: 20 % above what users saw
    assert "higher than anything users saw" in disagreement(Pair("steady", later, client, rate=6), 0.95, 0.0, "steady")


def test_a_server_window_short_of_a_few_fast_requests_agrees_with_users_at_the_same_rank():
    """Ray Serve on a fresh clone: its window held 116 of users' 120 requests, the same 6 slow ones among
    them, so its P95 (6 above it) fell on a slow one and users' P95 (6 above it of 120) on a fast one."""
    client = buckets(*[0.09] * 114, *[0.3] * 6)
    server = buckets(*[0.08] * 110, *[0.28] * 6)
    assert disagreement(Pair("steady", server, client, rate=3), 0.95, 0.0, "steady") is None
    other = buckets(*[0.08] * 100, *[0.28] * 20)  # the server counted slow requests that users never sent
    assert "higher than anything users saw" in disagreement(Pair("steady", other, client, rate=3), 0.95, 0.0, "steady")


def test_low_load_is_fewest_requests_in_flight_not_lowest_rate():
    one_user = Pair("warmup", buckets(*[0.06] * 100), buckets(*[0.06] * 100), rate=15)  # 0.9 in flight
    open_model = Pair("steady", buckets(*[0.04] * 100), buckets(*[0.3] * 100), rate=8)  # 2.4 in flight
    assert low_load_overhead([one_user, open_model], 0.99)[1] == "warmup"


def test_without_a_phase_at_low_load_no_overhead_is_allowed_and_the_warning_says_so():
    busy = Pair("steady", buckets(*[0.04] * 98, 0.2, 0.2), buckets(*[0.3] * 98, 0.7, 0.7), rate=12)  # 3.6 in flight
    assert low_load_overhead([busy], 0.99) == (0.0, "")
    assert "no phase ran at low load" in disagreement(busy, 0.99, 0.0, "")


# -- failures the server does not count, series it never exposed (pure) ---------------------------

def outcomes(client_failed: float, server_failed: float):
    return lambda: [("steady", Outcomes("", 100 - client_failed, client_failed), Outcomes("", 100 - client_failed, server_failed))]


def server_error_rate():
    objective = SimpleNamespace(kind="error_rate", kind_of=SimpleNamespace(counts_failures=True), source="server", phase="steady")
    return objective, SimpleNamespace(detail="0 failed of 100")


def test_failures_users_saw_that_triton_did_not_count_are_a_warning_naming_what_it_cannot_see():
    o, r = server_error_rate()
    warnings = uncounted_failures(MAPPINGS["triton"], outcomes(client_failed=40, server_failed=0), [o], [r])
    assert warnings == ["steady: the load generator saw 40 failed requests, the server counted 0: the triton metrics do not count "
                        "requests Triton refuses before the model runs (HTTP 400 for a wrong shape or input name, 404 for an unknown "
                        "model); judge errors from the load generator (the default source)"]
    assert "do not count requests Triton refuses" in r.detail and "(warning: steady:" in r.detail


def test_failures_both_sides_counted_alike_are_no_warning():
    o, r = server_error_rate()
    assert uncounted_failures(MAPPINGS["mlserver"], outcomes(client_failed=40, server_failed=39), [o], [r]) == []
    assert r.detail == "0 failed of 100"  # mlserver counts every status: nothing to say


def test_a_series_never_exposed_is_a_warning_naming_the_stack_field_and_series():
    [warning] = absent_series(MAPPINGS["bentoml"], [("requests_counter", 'bentoml_service_requests_total{job="server"}')])
    assert warning.startswith("the bentoml metrics mapping names series that the server never exposed during the run: "
                              'requests_counter bentoml_service_requests_total{job="server"}')
    assert absent_series(MAPPINGS["bentoml"], []) == []
