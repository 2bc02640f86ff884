"""What makes an OCR response a failure (pure: no Locust, testable alone)."""

from __future__ import annotations

import json
from typing import Any


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
