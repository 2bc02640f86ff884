"""`sla capacity` started on the edge: at 50/s, exactly what the synthetic server with one worker and
20 ms per request serves (timers only). Its first step passes or fails on the load generator's
jitter; either way the search brackets the capacity (up by 1.5x, or down by half) and refines to
10 %: a capacity in [45, 50]/s. Real gate runs (Locust, Prometheus), the server started by the gate
for each step."""

from __future__ import annotations

import pytest

from tests.gate.test_capacity_e2e import SLA_FILE
from tests.synthetic import assert_found_within_10_percent, capacity_search, moves

pytestmark = [pytest.mark.e2e, pytest.mark.waits]


@pytest.mark.timeout(900)
def test_from_a_start_rate_on_the_edge_the_search_finds_the_capacity_either_way(tmp_path):
    search = capacity_search(tmp_path, "edge", SLA_FILE, "--start-rate", "50/s", "--resolution", "10%")
    assert_found_within_10_percent(search)
    steps = moves(search.doc)
    first = "up" if steps[0][2] == "PASS" else "down"
    assert steps[0][:2] == ("start", 50.0) and steps[1][:2] == (first, 75.0 if first == "up" else 25.0), steps
