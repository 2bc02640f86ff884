"""The harness's Locust user: sends payloads of the scenario's mix and fails what a client would not accept.

`SlaUser.send(client, payload)` makes one request. By default the scenario's target API builds it
and judges the answer (body-level errors included). A user's own locustfile overrides `send` for a
service no API covers (docs/own-service.md, "Your own locustfile"); the arrival-rate dispatcher calls the same
`send`, so both closed-model and arrival-rate phases use it.
"""

from __future__ import annotations

import random
import time
from typing import Any

import gevent
from locust import FastHttpUser, task

from sla.loadgen.checks import response_problem, score_answer
from sla.loadgen.state import running_state
from sla.payloads import Payload


def send_with_api(client: Any, state: Any, payload: Payload) -> None:
    """One request built by the scenario's target API with `client` (a FastHttpSession), judged by
    it; the answer to a payload that says what it reads is scored too (`score_answer`)."""
    api = state.scenario.target.api
    req = api.request(payload)
    phase = state.phase
    started = time.perf_counter()
    with client.request(req.method, req.path, data=req.body, headers=req.headers, name=payload.name, catch_response=True) as resp:
        problem = response_problem(api, resp.status_code, resp.content, time.perf_counter() - started, state.scenario.timeout,
                                   getattr(resp, "error", None))
        if not problem and payload.expected_text is not None and (state.answer_sample >= 1 or random.random() < state.answer_sample):
            problem = score_answer(state, phase, payload, api.texts, resp.content)
        if problem:
            if api.shed(resp.status_code, (resp.headers or {}).get("Retry-After")):
                resp.request_meta["context"]["shed"] = True  # seen by the plugin's request listener
            resp.failure(problem)
        else:
            resp.success()


class SlaUser(FastHttpUser):
    """Base of the harness's users. Closed model in `users` phases: one request at a time,
    `think_time` between them. (`arrival_rate` phases are sent by the dispatcher, which calls
    `send` of the locustfile's user class with its own session.)"""

    abstract = True

    def __init__(self, environment: Any) -> None:
        state = running_state(environment)
        self.network_timeout = self.connection_timeout = state.scenario.timeout
        super().__init__(environment)
        self.sla = state
        self.rng = random.Random(next(environment.sla_plugin.user_seq))

    def wait_time(self) -> float:
        return self.sla.scenario.think_time

    def context(self) -> dict[str, Any]:
        """Locust merges this into each request's context when the request starts: a request counts
        in the phase it was sent in, even when it completes after the next phase began."""
        return {"phase": self.sla.phase}

    def next_payload(self) -> Payload:
        """A payload drawn from the scenario's mix (by weight)."""
        return self.rng.choices(self.sla.corpus, weights=self.sla.weights)[0]

    def send(self, client: Any, payload: Payload) -> None:
        """One request; override for your own API (use `catch_response=True` and `name=payload.name`)."""
        send_with_api(client, self.sla, payload)

    def in_closed_phase(self) -> bool:
        """Whether the phase now is a `users` phase. Locust stops a phase's users only after the shape
        moved on (an arrival-rate phase, or the end); until then they send nothing, so that an
        arrival-rate phase holds exactly the arrivals of its schedule."""
        phase = self.sla.current_phase()
        return phase is not None and phase.asked_rate is None

    @task
    def request_payload(self) -> None:
        if not self.in_closed_phase():
            gevent.sleep(0.05)  # Locust stops this user within the shape's tick
            return
        self.send(self.client, self.next_payload())


class OcrUser(SlaUser):
    """The target API's request for each payload (the reference server, PaddleX, ...)."""

    abstract = True
