"""PaddleX basic serving of the OCR pipeline (`paddlex --serve --pipeline OCR.yaml`): `POST /ocr`.

Request: `{"file": "<base64>", "fileType": 1}` plus any of the pipeline's request fields
(`params`, e.g. `textDetLimitSideLen`). Success: `errorCode == 0` and a `result.ocrResults` list;
failures come as `{"logId", "errorCode", "errorMsg"}` (422 bad file or schema, 500 internal).
Text: `result.ocrResults[*].prunedResult.rec_texts`. Readiness: `GET /health`. No /metrics.
(Read from PaddleX's `paddlex/inference/serving/schemas/ocr.py`, and seen running: see
scenarios/paddlex.yaml.)
"""

from __future__ import annotations

import base64
from typing import Any

from sla.payloads import Payload
from sla.targets.base import ApiRequest, TargetApi, envelope_problem, json_object, json_request, path_get, register, strings, url_path
from sla.validation import Reader

RESERVED = ("file", "fileType")


def paddlex_params(value: Any) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ValueError(f"got {value!r}, not a mapping of request fields such as {{textDetLimitSideLen: 960}}")
    clash = [k for k in value if k in RESERVED]
    if clash:
        raise ValueError(f"{', '.join(clash)} is set by the harness from the payload")
    return dict(value)


def _shape(doc: dict[str, Any]) -> str | None:
    result = doc.get("result")
    if not isinstance(result, dict) or not isinstance(result.get("ocrResults"), list):
        return "errorCode 0 but no result.ocrResults list (not the documented PaddleX OCR answer)"
    return None


@register
class PaddlexApi(TargetApi):
    name = "paddlex"
    description = "PaddleX basic serving of the OCR pipeline: POST /ocr, errorCode envelope"
    options = {
        "path": "the pipeline's route (default /ocr)",
        "params": "extra request fields, e.g. {textDetLimitSideLen: 960, textRecScoreThresh: 0.5}",
    }
    ready_path = "/health"

    def __init__(self, path: str = "/ocr", params: dict[str, Any] | None = None) -> None:
        self.path = path
        self.params = params or {}

    @classmethod
    def parse(cls, reader: Reader, doc: dict[str, Any], path: str) -> "PaddlexApi":
        return cls(reader.get(doc, path, "path", url_path, "a path such as /ocr", "/ocr") or "/ocr",
                   reader.get(doc, path, "params", paddlex_params, "a mapping of PaddleX OCR request fields", {}) or {})

    def request(self, payload: Payload) -> ApiRequest:
        return json_request(self.path, {"file": base64.b64encode(payload.data).decode(), "fileType": 1, **self.params})

    def problem(self, status: int, body: bytes) -> str | None:
        return envelope_problem(status, body, "errorCode", 0, ("errorMsg",), _shape)

    def texts(self, body: bytes) -> list[str]:
        doc, _ = json_object(body)
        return strings(path_get(doc, "result.ocrResults[*].prunedResult.rec_texts"))
