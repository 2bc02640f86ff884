"""Paddle Serving pipeline web service (`examples/Pipeline/PaddleOCR/ocr`): `POST /ocr/prediction`.

Request: `{"key": ["image"], "value": ["<base64>"]}`. Success: `err_no == 0`; `value[0]` is a
Python `str()` of `[[text, box], ...]`, not JSON. Failures: `err_no` 5000 input, 6000 timeout,
9000 inference, 10000 other, with HTTP 200 (inferred from Paddle Serving's
`python/pipeline/error_catch.py`; not seen running). No readiness route: ready when the port
accepts connections.
"""

from __future__ import annotations

import ast
import base64
from typing import Any

from sla.payloads import Payload
from sla.targets.base import ApiRequest, TargetApi, envelope_problem, json_object, json_request, register, url_path
from sla.validation import Reader, text

DEFAULT_PATH = "/ocr/prediction"


def _shape(doc: dict[str, Any]) -> str | None:
    if not isinstance(doc.get("value"), list):
        return "err_no 0 but no value list (not the documented Paddle Serving answer)"
    return None


@register
class PaddleServingApi(TargetApi):
    name = "paddle_serving"
    description = "Paddle Serving pipeline: POST /<name>/prediction, err_no inside HTTP 200"
    options = {"path": f"the pipeline route (default {DEFAULT_PATH})", "key": "the feed key (default image)"}

    def __init__(self, path: str = DEFAULT_PATH, key: str = "image") -> None:
        self.path = path
        self.key = key

    @classmethod
    def parse(cls, reader: Reader, doc: dict[str, Any], path: str) -> "PaddleServingApi":
        return cls(reader.get(doc, path, "path", url_path, "a path such as /ocr/prediction", DEFAULT_PATH) or DEFAULT_PATH,
                   reader.get(doc, path, "key", text, "a feed key such as image", "image") or "image")

    def request(self, payload: Payload) -> ApiRequest:
        return json_request(self.path, {"key": [self.key], "value": [base64.b64encode(payload.data).decode()]})

    def problem(self, status: int, body: bytes) -> str | None:
        return envelope_problem(status, body, "err_no", 0, ("err_msg",), _shape)

    def texts(self, body: bytes) -> list[str]:
        doc, _ = json_object(body)
        values = doc.get("value") if isinstance(doc, dict) else None
        out: list[str] = []
        for value in values or []:
            try:
                items = ast.literal_eval(value) if isinstance(value, str) else value
            except (ValueError, SyntaxError):
                continue
            out += [item[0] for item in items or [] if isinstance(item, (list, tuple)) and item and isinstance(item[0], str)]
        return out
