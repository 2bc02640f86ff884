"""Shared fixtures. Integration tests start the real reference server (uvicorn, tiny preset)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from sla.limits import CpuLimit, Limiter, suite_slowdown
from sla.processes import ManagedProcess, free_port, reference_server, wait_http_ok

# The order in which the test files are handed out (`make test` keeps it: --no-loadscope-reorder).
# xdist's loadfile scheduler gives each worker one file, then at once a second file to each worker
# whose first has at most 2 tests, in worker order. In the `waits` part (5 workers, 7 files) the two
# shortest of the long files come first, so the two short ones go beside them (the floor search and
# the workers e2e: 4.5 min; the search from the edge and the arrival test), and the three longest
# (4.5 min each) run alone: with the longest first, the search from below and the workers e2e had
# shared one worker, 7:21 for the part. Then the longest files of the other parts.
SCHEDULE = ("tests/gate/test_capacity_floor_e2e.py", "tests/gate/test_capacity_from_the_edge_e2e.py", "tests/gate/test_capacity_e2e.py",
            "tests/history/test_history_e2e.py", "tests/gate/test_capacity_from_below_e2e.py", "tests/gate/test_workers_e2e.py",
            "tests/alerts/test_rules.py", "tests/history/test_postgres_e2e.py", "tests/gate/test_arrival_e2e.py",
            "tests/gate/test_stacks_e2e.py", "tests/gate/test_own_service_e2e.py", "tests/gate/test_faults_e2e.py",
            "tests/alerts/test_replay_e2e.py", "tests/gate/test_replicas_e2e.py")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    rank = {path: i for i, path in enumerate(SCHEDULE)}
    items.sort(key=lambda item: rank.get(item.nodeid.partition("::")[0], len(rank)))  # stable: the rest keep their order


@pytest.fixture(scope="session")
def model_dir(tmp_path_factory) -> Path:
    """One models directory per test session; the first server to start exports into it."""
    return tmp_path_factory.mktemp("models")


@pytest.fixture(scope="module")
def start_server(model_dir, tmp_path_factory) -> Iterator[Callable[..., str]]:
    """Start a reference server with options; returns its base URL. All are stopped at module end."""
    started: list[ManagedProcess] = []
    limiter = Limiter(suite_slowdown(CpuLimit()))  # SLA_TEST_CPUS: the suite as on a slower CPU

    def start(**options) -> str:
        port = free_port()
        options = {"preset": "tiny", "model_dir": model_dir, **options}
        server = limiter.apply(reference_server(port, tmp_path_factory.mktemp("server") / "server.log", options), f"test-{port}")
        started.append(server.start())
        base = f"http://127.0.0.1:{port}"
        wait_http_ok(server, f"{base}/readyz", 180, "ready")
        return base

    yield start
    for server in started:
        server.stop()
        assert not server.alive()
