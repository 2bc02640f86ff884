"""The scenario as a Locust LoadTestShape: one phase after another, boundaries recorded as executed.

Locust's shape loop blocks while a ramp spawns users (shared/FIELD_NOTES.md), so a tick can come
late; the phase windows are the times the shape actually switched, not the planned ones.
Before the first phase it waits for the target (/readyz, or /healthz for a cold start).
"""

from __future__ import annotations

import logging
import time
from typing import Any

import requests
from locust import LoadTestShape
from locust.runners import MasterRunner

from sla.errors import SlaError
from sla.loadgen.plugin import EXIT_COULD_NOT_RUN, PHASE_MESSAGE, make_state

log = logging.getLogger("sla.loadgen")
TARGET_WAIT_S = 300.0


def wait_for_target(host: str, endpoint: str, timeout_s: float = TARGET_WAIT_S) -> bool:
    url = f"{host.rstrip('/')}/{endpoint}"
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            if requests.get(url, timeout=2).status_code == 200:
                return True
        except requests.RequestException:
            pass
        time.sleep(0.02)
    return False


class ScenarioShape(LoadTestShape):
    abstract = True

    def __init__(self) -> None:
        super().__init__()
        self._index: int | None = None

    def _begin(self, environment: Any) -> bool:
        """Start a new test: take a changed --scenario (web UI), wait for the target, reset the clock."""
        options = environment.parsed_options
        if str(environment.sla.scenario.path) != options.scenario:
            try:
                environment.sla = make_state(options)
            except SlaError as exc:
                log.error("%s", exc)
                return False
        endpoint = environment.sla.scenario.target.start_when
        if not wait_for_target(environment.host, endpoint):
            log.error("target %s did not answer /%s within %.0f s", environment.host, endpoint, TARGET_WAIT_S)
            environment.process_exit_code = EXIT_COULD_NOT_RUN
            return False
        self.reset_time()
        environment.sla.begin(time.time())
        self._index = -1
        return True

    def tick(self) -> tuple[int, float] | None:
        environment: Any = self.runner.environment
        if self._index is None and not self._begin(environment):
            return None
        state = environment.sla
        now = time.time()
        index = state.scenario.phase_index_at(self.get_run_time())
        if index is None:
            state.close(now)
            self._index = None
            return None
        if index != self._index:
            self._index = index
            state.enter_phase(index, now)
            if isinstance(self.runner, MasterRunner):
                self.runner.send_message(PHASE_MESSAGE, state.phase)
            log.info("phase %s (%s) started", state.phase, state.scenario.phases[index].kind)
        return state.scenario.phases[index].shape_tick()
