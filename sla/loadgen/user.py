"""The OCR user: posts payloads from the scenario's mix and fails what a client would not accept."""

from __future__ import annotations

import random
import time
from typing import Any

from locust import FastHttpUser, task

from sla.loadgen.checks import response_problem

_user_seq = iter(range(1, 1 << 62))


def post_payload(client: Any, state: Any, rng: random.Random, context: dict[str, Any] | None = None) -> None:
    """POST one payload of the scenario's mix with `client` (a FastHttpSession) and judge the answer."""
    payload = rng.choices(state.corpus, weights=state.weights)[0]
    started = time.perf_counter()
    with client.post(
        "/v1/ocr", data=payload.data, headers={"Content-Type": payload.content_type},
        name=payload.name, catch_response=True, context=context or {},
    ) as resp:
        problem = response_problem(
            resp.status_code, resp.content, time.perf_counter() - started, state.scenario.timeout,
            getattr(resp, "error", None),
        )
        if problem:
            resp.failure(problem)
        else:
            resp.success()


class OcrUser(FastHttpUser):
    """Closed-model user of `users` phases: one request at a time, `think_time` between them.
    (`arrival_rate` phases are sent by the dispatcher in sla.loadgen.dispatcher, not by users.)"""

    abstract = True

    def __init__(self, environment: Any) -> None:
        state = environment.sla
        self.network_timeout = self.connection_timeout = state.scenario.timeout
        super().__init__(environment)
        self._sla = state  # not _state: Locust's User uses that name
        self._rng = random.Random(next(_user_seq))

    def wait_time(self) -> float:
        return self._sla.scenario.think_time

    @task
    def ocr(self) -> None:
        post_payload(self.client, self._sla, self._rng)
