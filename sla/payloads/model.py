"""One request body of the payload mix."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Payload:
    name: str  # the request name in Locust's statistics and the load-generator metrics
    content_type: str
    data: bytes
    expected_text: tuple[str, ...] | None = None  # what a correct answer reads (user manifests)
