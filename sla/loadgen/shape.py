"""The scenario as a Locust LoadTestShape: one phase after another, boundaries recorded as executed.

Locust polls the shape about once a second, and its loop blocks while a ramp spawns users
(locust/runners.py: `shape_worker` sleeps 1 s between ticks and waits for the spawn), so a switch
can come late. Each phase runs its full duration from the
moment the shape actually switched to it, and the phase windows record those executed times.
Before the first phase it waits for the target: its readiness endpoint (or, for a cold start with
`start_when: alive`, its alive endpoint), as the target API and scenario say.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from locust import LoadTestShape
from locust.runners import STATE_MISSING, MasterRunner

from sla.errors import SlaError
from sla.loadgen.state import PHASE_MESSAGE, fail
from sla.probe import probe

log = logging.getLogger("sla.loadgen")
TARGET_WAIT_S = 300.0


def _wait(condition, timeout_s: float) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.02)
    return False


def wait_for_target(host: str, path: str | None, timeout_s: float = TARGET_WAIT_S) -> bool:
    """Until GET `path` answers 200 (or, with no path, the port accepts connections)."""
    return _wait(lambda: probe(host, path), timeout_s)


class ScenarioShape(LoadTestShape):
    abstract = True

    def __init__(self) -> None:
        super().__init__()
        self._index: int | None = None
        self._phase_end = 0.0

    def _begin(self, environment: Any) -> bool:
        """Start a new test: take a changed --scenario (web UI), wait for the target, reset the clock."""
        options, plugin = environment.parsed_options, environment.sla_plugin
        try:
            state = plugin.take_scenario()
        except SlaError as exc:
            fail(environment, str(exc))
            return False
        if options.wait_scrapes and not _wait(lambda: plugin.scrapes >= options.wait_scrapes, TARGET_WAIT_S):
            fail(environment, f"the metrics endpoint (port {options.metrics_port}) was not scraped {options.wait_scrapes} times "
                              f"within {TARGET_WAIT_S:.0f} s")
            return False
        target = state.scenario.target
        path = target.probe_path(target.waits_until_ready)
        if not wait_for_target(environment.host, path, target.ready_timeout):
            fail(environment, f"target {environment.host} did not answer {path or '(port closed)'} within {target.ready_timeout:.0f} s")
            return False
        self.reset_time()
        state.begin(time.time())
        self._index = -1
        return True

    def tick(self) -> tuple[int, float] | None:
        runner: Any = self.runner  # Locust sets it before the first tick
        environment = runner.environment
        if self._index is None and not self._begin(environment):
            return None
        assert self._index is not None  # _begin set it
        state = environment.sla_plugin.state
        now = time.time()
        if isinstance(runner, MasterRunner):
            state.watch_workers({c.id for c in runner.clients.values() if c.state != STATE_MISSING}, now)
        phases = state.scenario.phases
        if self._index == -1 or now >= self._phase_end:  # each phase runs its duration from its executed start
            index = self._index + 1
            if index >= len(phases):
                state.close(now)
                self._index = None
                return None
            self._index = index
            self._phase_end = now + phases[index].duration
            workers = runner.worker_count if isinstance(runner, MasterRunner) else 1
            state.enter_phase(index, now, workers)
            if isinstance(self.runner, MasterRunner):
                self.runner.send_message(PHASE_MESSAGE, {"name": state.phase, "start": state.phase_start, "workers": workers})
            log.info("phase %s started: %s", phases[index].name, phases[index].describe())
        return phases[self._index].shape_tick()
