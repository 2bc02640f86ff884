"""The Open Inference Protocol V2 (Triton, KServe, MLServer, FastDeploy): `POST /v2/models/{model}/infer`.

Request: the image as one element of a BYTES input, `{"inputs": [{"name", "shape", "datatype":
"BYTES", "data": ["<base64>"]}], "outputs"?: [{"name"}]}`; with `encoding: binary`, the raw bytes
through the binary tensor data extension (a JSON header of `Inference-Header-Content-Length`
bytes, then the element as a 4-byte little-endian length and its bytes), which Triton and KServe
read. Success: HTTP 200 with an `outputs` list; errors come as HTTP 4xx/5xx `{"error": "..."}`.
Readiness: `GET /v2/health/ready` (every model loaded; `target.ready_path: /v2/models/<model>/ready`
asks for one model); alive: `/v2/health/live`. Server metrics differ by stack: pick the mapping
with `target.metrics` (kserve, mlserver, triton; sla/targets/metrics.py).
(kserve `docs/predict-api/v2/required_api.md`, open-inference-protocol `inference_rest.md`,
Triton `docs/protocol/extension_binary_data.md`; seen running with KServe 0.21, Triton 2.51 and MLServer
1.7, integrations/.)

`paddlex_hps` is PaddleX's high-stability serving, a Triton model `ocr` whose BYTES input `input`
carries the basic-serving `/ocr` JSON as a string, and whose output `output` carries the answer's
JSON as a string: its `errorCode` comes back inside HTTP 200 and is judged there.
(PaddleX `deploy/hps/sdk/pipelines/OCR/server/model_repo/ocr/1/model.py`; read, not seen running.)
"""

from __future__ import annotations

import base64
import json
import struct
from typing import Any

from sla.payloads import Payload
from sla.targets.base import ApiRequest, TargetApi, check_path, http_problem, json_object, path_get, register, strings
from sla.targets.metrics import MAPPINGS
from sla.targets.paddlex import PaddlexApi, paddlex_params
from sla.validation import Reader, one_of, safe_name

ENCODINGS = ("base64", "binary")


def _shape(value: Any) -> tuple[int, ...]:
    if not isinstance(value, list) or not value or not all(isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in value):
        raise ValueError(f"got {value!r}, not a list of positive dimensions such as [1]")
    return tuple(value)


def _names(value: Any) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise ValueError(f"got {value!r}, not a list of output names such as [output]")
    return tuple(value)


def infer_request(path: str, name: str, shape: tuple[int, ...], element: bytes, outputs: tuple[str, ...], encoding: str) -> ApiRequest:
    """One V2 infer request whose BYTES input holds one element: in JSON as base64, or as text
    (`text`: the element is UTF-8 already, as PaddleX's /ocr JSON is), or raw (`binary`)."""
    requested = {"outputs": [{"name": n} for n in outputs]} if outputs else {}
    if encoding in ("base64", "text"):
        data = base64.b64encode(element).decode() if encoding == "base64" else element.decode()
        doc = {"inputs": [{"name": name, "shape": list(shape), "datatype": "BYTES", "data": [data]}], **requested}
        return ApiRequest("POST", path, {"Content-Type": "application/json"}, json.dumps(doc).encode())
    tensor = struct.pack("<I", len(element)) + element
    header = json.dumps({"inputs": [{"name": name, "shape": list(shape), "datatype": "BYTES",
                                     "parameters": {"binary_data_size": len(tensor)}}], **requested}).encode()
    return ApiRequest("POST", path, {"Content-Type": "application/octet-stream", "Inference-Header-Content-Length": str(len(header))},
                      header + tensor)


def outputs_of(status: int, body: bytes) -> tuple[list[dict], str | None]:
    """The `outputs` of a V2 answer, or why the answer is a failure."""
    if status != 200:
        return [], http_problem(status, body)
    doc, not_json = json_object(body)
    if not_json:
        return [], not_json
    outputs = doc.get("outputs") if isinstance(doc, dict) else None
    if not isinstance(outputs, list) or not outputs or not all(isinstance(o, dict) for o in outputs):
        return [], "HTTP 200 but no outputs list (not an Open Inference Protocol answer)"
    return outputs, None


def output_strings(body: bytes) -> list[str]:
    outputs, _ = outputs_of(200, body)
    return strings([o.get("data") for o in outputs])


@register
class V2Api(TargetApi):
    name = "v2"
    description = "Open Inference Protocol V2 (Triton, KServe, MLServer, FastDeploy): POST /v2/models/{model}/infer"
    options = {
        "model": "the model name in /v2/models/{model}/infer (default ocr)",
        "version": "the model version (optional): /v2/models/{model}/versions/{version}/infer",
        "input": "the BYTES input's name (default image)",
        "shape": "the input's shape (default [1])",
        "outputs": "output names to ask for (default: all the model has)",
        "encoding": f"how the image goes in the BYTES input: {' or '.join(ENCODINGS)} (binary tensor data extension); default base64",
        "text_path": "where the text is inside each output string's JSON, e.g. lines[*].text (default: the strings themselves)",
    }
    ready_path = "/v2/health/ready"
    alive_path = "/v2/health/live"

    def __init__(self, model: str = "ocr", version: str | None = None, input: str = "image", shape: tuple[int, ...] = (1,),
                 outputs: tuple[str, ...] = (), encoding: str = "base64", text_path: str | None = None) -> None:
        self.model, self.version, self.input, self.shape = model, version, input, shape
        self.outputs, self.encoding, self.text_path = outputs, encoding, text_path

    @classmethod
    def parse(cls, reader: Reader, doc: dict[str, Any], path: str) -> "V2Api":
        def get(key: str, convert, expected: str, default: Any) -> Any:
            got = reader.get(doc, path, key, convert, expected, default)
            return default if got is None else got

        return cls(
            model=get("model", safe_name, "a model name such as ocr", "ocr"),
            version=get("version", lambda v: safe_name(str(v)), "a version such as 1", None),
            input=get("input", safe_name, "an input name such as image", "image"),
            shape=get("shape", _shape, "a shape such as [1]", (1,)),
            outputs=get("outputs", _names, "a list of output names such as [output]", ()),
            encoding=get("encoding", one_of(ENCODINGS), " or ".join(ENCODINGS), "base64"),
            text_path=get("text_path", check_path, "a path such as lines[*].text", None),
        )

    @property
    def infer_path(self) -> str:
        version = f"/versions/{self.version}" if self.version else ""
        return f"/v2/models/{self.model}{version}/infer"

    def request(self, payload: Payload) -> ApiRequest:
        return infer_request(self.infer_path, self.input, self.shape, payload.data, self.outputs, self.encoding)

    def problem(self, status: int, body: bytes) -> str | None:
        return outputs_of(status, body)[1]

    def texts(self, body: bytes) -> list[str]:
        found = output_strings(body)
        if self.text_path is None:
            return found
        return strings([v for s in found for v in path_get(json_object(s.encode())[0], self.text_path)])


@register
class PaddlexHpsApi(TargetApi):
    name = "paddlex_hps"
    description = "PaddleX high-stability serving (Triton) of the OCR pipeline: the /ocr JSON inside a V2 BYTES tensor"
    options = {
        "model": "the Triton model (default ocr)",
        "params": "extra /ocr request fields, e.g. {textDetLimitSideLen: 960}",
    }
    ready_path = "/v2/health/ready"
    alive_path = "/v2/health/live"
    metrics = MAPPINGS["triton"]

    def __init__(self, model: str = "ocr", params: dict[str, Any] | None = None) -> None:
        self.model = model
        self.params = params or {}

    @classmethod
    def parse(cls, reader: Reader, doc: dict[str, Any], path: str) -> "PaddlexHpsApi":
        return cls(reader.get(doc, path, "model", safe_name, "a model name such as ocr", "ocr") or "ocr",
                   reader.get(doc, path, "params", paddlex_params, "a mapping of PaddleX OCR request fields", {}) or {})

    def request(self, payload: Payload) -> ApiRequest:
        inner = json.dumps({"file": base64.b64encode(payload.data).decode(), "fileType": 1, **self.params})
        return infer_request(f"/v2/models/{self.model}/infer", "input", (1, 1), inner.encode(), ("output",), "text")

    def problem(self, status: int, body: bytes) -> str | None:
        outputs, why = outputs_of(status, body)
        if why:
            return why
        found = strings([outputs[0].get("data")])
        if not found:
            return "HTTP 200 but outputs[0].data holds no string (not PaddleX's answer JSON)"
        why = PaddlexApi().problem(200, found[0].encode())
        return f"inside outputs[0]: {why}" if why else None

    def texts(self, body: bytes) -> list[str]:
        found = output_strings(body)
        return PaddlexApi().texts(found[0].encode()) if found else []

