"""The OCR user: posts payloads from the scenario's mix and fails what a client would not accept."""

from __future__ import annotations

import json
import random
import time
from typing import Any

from locust import FastHttpUser, task

_user_seq = iter(range(1, 1 << 62))


def response_problem(status: int, body: bytes | None, elapsed_s: float, timeout_s: float, error: Any = None) -> str | None:
    """Why a response is a failure, or None when it is a success."""
    if status == 0 or error is not None and status != 200:
        return f"no response: {error}" if error is not None else "no response"
    if status != 200:
        detail = (body or b"")[:200].decode("utf-8", "replace").strip()
        return f"HTTP {status}: {detail}" if detail else f"HTTP {status}"
    try:
        doc = json.loads(body or b"")
    except (ValueError, UnicodeDecodeError):
        return "body is not JSON"
    if not isinstance(doc, dict) or not isinstance(doc.get("lines"), list) or not isinstance(doc.get("timing_ms"), dict):
        return "body is not the documented OCR answer (an object with lines and timing_ms)"
    if elapsed_s > timeout_s:
        return f"took {elapsed_s:.3f} s, over the {timeout_s:g} s timeout"
    return None


class OcrUser(FastHttpUser):
    """Closed-model user: one request at a time, `think_time` between them (default none)."""

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
        state = self._sla
        payload = self._rng.choices(state.corpus, weights=state.weights)[0]
        started = time.perf_counter()
        with self.client.post(
            "/v1/ocr", data=payload.data, headers={"Content-Type": payload.content_type},
            name=payload.name, catch_response=True,
        ) as resp:
            problem = response_problem(
                resp.status_code, resp.content, time.perf_counter() - started, state.scenario.timeout,
                getattr(resp, "error", None),
            )
            if problem:
                resp.failure(problem)
            else:
                resp.success()
