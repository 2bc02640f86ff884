"""`sla capacity` started far below the capacity: at 8/s, a sixth of what the synthetic server with
one worker and 20 ms per request serves (exactly 50/s, timers only). The first step passes, so the
search goes up by --factor 4 (32/s passes, 128/s fails), then refines to 10 %: a capacity in
[45, 50]/s (the 8/s step alone lasts 50 s: four windows of 100 requests). Real gate runs (Locust,
Prometheus), the server started by the gate for each step."""

from __future__ import annotations

import pytest

from tests.gate.test_capacity_e2e import SLA_FILE
from tests.synthetic import assert_found_within_10_percent, capacity_search, moves

pytestmark = [pytest.mark.e2e, pytest.mark.waits]


@pytest.mark.timeout(900)
def test_from_a_start_rate_that_passes_at_once_the_search_goes_up_and_finds_the_capacity(tmp_path):
    search = capacity_search(tmp_path, "below", SLA_FILE, "--start-rate", "8/s", "--factor", "4", "--resolution", "10%")
    assert_found_within_10_percent(search)
    steps = moves(search.doc)
    assert steps[:2] == [("start", 8.0, "PASS"), ("up", 32.0, "PASS")], steps
    assert steps[2][:2] == ("up", 128.0) and steps[2][2] != "PASS" and {d for d, *_ in steps[3:]} == {"refine"}, steps
    assert "| up | 32/s |" in (search.dir / "capacity.md").read_text()
