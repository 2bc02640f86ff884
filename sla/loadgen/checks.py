"""What makes a response a failure, and how right an answer is (pure: no Locust, testable alone).
The target API decides what a successful answer is; no answer at all and an answer later than the
timeout fail for any API."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sla.payloads import Payload
from sla.payloads.scoring import score, unreadable
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


def score_answer(state: Any, phase: str, payload: Payload, texts: Callable[[bytes], list[str]], body: bytes) -> str | None:
    """Count how right a successful answer is (state.answers). An answer whose text cannot be read
    scores nothing right, and is a failed request: the service answered, but not an answer."""
    expected = payload.expected_text or ()
    try:
        read = texts(body or b"")
        got, problem = score(expected, read), None
    except Exception as exc:  # a body the API cannot find text in (JSON of another shape, not JSON)
        got, problem = unreadable(expected), f"the answer's text cannot be read ({type(exc).__name__}: {exc})"
    for measure, value in (("answers", 1), ("lines", got.lines), ("exact_lines", got.exact), ("chars", got.chars),
                           ("char_errors", got.errors)):
        state.answers.inc((phase, payload.name, measure), value)
    return problem
