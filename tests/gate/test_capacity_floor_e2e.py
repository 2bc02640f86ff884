"""`sla capacity` with an SLA that no rate can meet: a P99 under the synthetic server's fixed 20 ms
service time. The search starts at 40/s, fails, goes down halving, and ends at the floor
(`--min-rate 10/s`) with exit 1 and a message naming every rate it tried. Real gate runs (Locust,
Prometheus), the server started by the gate for each step."""

from __future__ import annotations

import pytest

from tests.synthetic import capacity_search

pytestmark = [pytest.mark.e2e, pytest.mark.waits]

SLA_FILE = "name: floor\nphases:\n  steady:\n    latency: {p99: 10ms}\n"


@pytest.mark.timeout(600)
def test_a_sla_nothing_meets_ends_at_the_floor_with_exit_1_naming_the_rates_tried(tmp_path):
    search = capacity_search(tmp_path, "floor", SLA_FILE, "--start-rate", "40/s", "--min-rate", "10/s", timeout_s=600)
    result, doc = search.done, search.doc
    assert result.returncode == 1, result.stdout[-4000:] + result.stderr[-2000:]
    ended = "no rate met the SLA: tried 40/s, 20/s, 10/s; the next, 5/s, is below the floor --min-rate 10/s"
    assert f"The search ended: {ended}." in result.stdout and "No tested rate met the SLA." in result.stdout
    assert doc["capacity"] is None and doc["floor"] and doc["ended"] == ended
    assert [(s["direction"], s["verdict"]) for s in doc["steps"]] == [("start", "FAIL"), ("down", "FAIL"), ("down", "FAIL")]
    assert ended in (search.dir / "capacity.html").read_text() and not (search.dir / "hpa.yaml").exists()
