import json

import pytest

from sla.loadgen.checks import response_problem
from sla.targets.reference import ReferenceApi

GOOD = json.dumps({"lines": [], "timing_ms": {"total": 1.0}}).encode()


@pytest.mark.parametrize(
    ("status", "body", "elapsed", "error", "fragment"),
    [
        (503, b'{"error": "overloaded"}', 0.1, None, "HTTP 503: {\"error\": \"overloaded\"}"),
        (413, b'{"error": "too large"}', 0.1, RuntimeError("code=413"), "HTTP 413: {\"error\": \"too large\"}"),
        (0, None, 0.1, ConnectionRefusedError("refused"), "no response: refused"),
        (200, b"<html>", 0.1, None, "body is not JSON"),
        (200, b'{"text": "x"}', 0.1, None, "not the documented OCR answer"),
        (200, GOOD, 12.0, None, "over the 10 s timeout"),
    ],
)
def test_failures_say_why(status, body, elapsed, error, fragment):
    assert fragment in response_problem(ReferenceApi(), status, body, elapsed, 10.0, error)


def test_a_documented_answer_in_time_is_a_success():
    assert response_problem(ReferenceApi(), 200, GOOD, 0.2, 10.0) is None
