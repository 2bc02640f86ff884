"""What makes a response a failure (pure: no Locust, testable alone). The target API decides what
a successful answer is; no answer at all and an answer later than the timeout fail for any API."""

from __future__ import annotations

from typing import Any

from sla.targets import TargetApi


def response_problem(api: TargetApi, status: int, body: bytes | None, elapsed_s: float, timeout_s: float, error: Any = None) -> str | None:
    """Why a response is a failure, or None when it is a success."""
    if not status:  # with an HTTP status (Locust sets `error` for any status >= 400 too), the API judges the answer
        return f"no response: {error}" if error is not None else "no response"
    problem = api.problem(status, body or b"")
    if problem:
        return problem
    if elapsed_s > timeout_s:
        return f"took {elapsed_s:.3f} s, over the {timeout_s:g} s timeout"
    return None
