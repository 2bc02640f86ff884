"""The reference OCR server of this repo (reference_server/): `POST /v1/ocr`.

Request: the image itself (`Content-Type: image/png|jpeg`), or with `encoding: base64` the JSON
`{"image": "<base64>"}`. Success: HTTP 200 with `{"lines": [...], "timing_ms": {...}}`.
Readiness: `/readyz` (503 until models are loaded and warmed up); alive: `/healthz`.
"""

from __future__ import annotations

import base64
from typing import Any

from sla.payloads import Payload
from sla.targets.base import ApiRequest, TargetApi, http_problem, json_object, json_request, register
from sla.targets.metrics import MetricsMapping, register_metrics
from sla.validation import Reader, one_of

PATH = "/v1/ocr"
ENCODINGS = ("raw", "base64")
# The server's series (reference_server/metrics.py).
REFERENCE = register_metrics(MetricsMapping(
    name="reference",
    request_histogram="ocr_request_duration_seconds",
    requests_counter="ocr_requests_total",
    status_label="code",
    success_values=("200",),
    stage_histogram="ocr_stage_duration_seconds",
    stages=("decode", "preprocess", "det", "postprocess", "crop", "rec"),
    ready_timestamp="ocr_ready_timestamp_seconds",
    first_request_gauge="ocr_first_request_duration_seconds",
    model_load_gauge="ocr_model_load_seconds",
    warmup_gauge="ocr_warmup_seconds",
    queue_histogram="ocr_queue_wait_seconds",
    in_flight_gauge="ocr_in_flight_requests",
    batch_histogram="ocr_rec_batch_size",
    info_metrics=("ocr_server_config_info", "ocr_server_environment_info"),
))
# The server's options a scenario may set (`target.server`) and their types: its flags, as
# `python -m reference_server --help` lists them (reference_server/config.py). The harness never
# imports the server (tests/targets checks that the two agree).
SERVER_OPTIONS: dict[str, type] = {
    "preset": str, "model_dir": str, "threads": int, "onednn": bool, "instances": int, "rec_batch": int,
    "warmup": bool, "max_queue": int, "max_body_bytes": int, "max_image_pixels": int, "det_limit_side": int,
    "extra_buckets": tuple, "precision": str,
}


@register
class ReferenceApi(TargetApi):
    name = "reference"
    description = "this repo's reference OCR server: POST /v1/ocr"
    options = {"encoding": f"how the image is sent: {' or '.join(ENCODINGS)} (JSON {{\"image\": ...}}); default raw"}
    ready_path = "/readyz"
    alive_path = "/healthz"
    metrics = REFERENCE

    def __init__(self, encoding: str = "raw") -> None:
        self.encoding = encoding

    @classmethod
    def parse(cls, reader: Reader, doc: dict[str, Any], path: str) -> "ReferenceApi":
        return cls(reader.get(doc, path, "encoding", one_of(ENCODINGS), " or ".join(ENCODINGS), "raw") or "raw")

    def request(self, payload: Payload) -> ApiRequest:
        if self.encoding == "base64":
            return json_request(PATH, {"image": base64.b64encode(payload.data).decode()})
        return ApiRequest("POST", PATH, {"Content-Type": payload.content_type}, payload.data)

    def problem(self, status: int, body: bytes) -> str | None:
        if status != 200:
            return http_problem(status, body)
        doc, not_json = json_object(body)
        if not_json:
            return not_json
        if not isinstance(doc, dict) or not isinstance(doc.get("lines"), list) or not isinstance(doc.get("timing_ms"), dict):
            return "body is not the documented OCR answer (an object with lines and timing_ms)"
        return None

    def texts(self, body: bytes) -> list[str]:
        doc, _ = json_object(body)
        lines = doc.get("lines") if isinstance(doc, dict) else None
        return [line["text"] for line in lines or [] if isinstance(line, dict) and isinstance(line.get("text"), str)]
