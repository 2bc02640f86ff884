"""The Open Inference Protocol V2 API and PaddleX's high-stability serving on it: the requests
they build (JSON with base64, the binary tensor data extension) and their verdict on answers,
including PaddleX's errorCode inside an HTTP 200."""

from __future__ import annotations

import base64
import json
import struct

import pytest

from sla.targets import API_REGISTRY
from sla.targets.metrics import MAPPINGS
from sla.targets.v2 import PaddlexHpsApi, V2Api
from tests.targets.test_apis import B64, PADDLEX_OK, PNG, body, parse

OCR_ANSWER = {"lines": [{"text": "TOTAL", "score": 0.9, "box": []}, {"text": "12.50", "score": 0.8, "box": []}], "timing_ms": {}}


def v2_answer(*strings: str) -> bytes:
    return body({"model_name": "ocr", "id": "", "outputs": [{"name": "output", "shape": [len(strings)], "datatype": "BYTES",
                                                              "data": list(strings)}]})


def test_both_are_registered_by_their_scenario_names():
    assert API_REGISTRY["v2"] is V2Api and API_REGISTRY["paddlex_hps"] is PaddlexHpsApi


def test_v2_sends_the_image_base64_in_a_bytes_input_with_the_configured_names():
    api, problems = parse(V2Api, {"model": "ocr-det", "version": 3, "input": "img", "shape": [1, 1], "outputs": ["text"]})
    req = api.request(PNG)
    assert not problems and (req.method, req.path) == ("POST", "/v2/models/ocr-det/versions/3/infer")
    assert req.headers["Content-Type"] == "application/json"
    assert json.loads(req.body) == {"inputs": [{"name": "img", "shape": [1, 1], "datatype": "BYTES", "data": [B64]}],
                                    "outputs": [{"name": "text"}]}
    default = V2Api().request(PNG)
    assert default.path == "/v2/models/ocr/infer" and "outputs" not in json.loads(default.body)
    assert (V2Api.ready_path, V2Api.alive_path) == ("/v2/health/ready", "/v2/health/live")


def test_v2_binary_encoding_follows_the_binary_tensor_data_extension():
    req = V2Api(encoding="binary").request(PNG)
    size = int(req.headers["Inference-Header-Content-Length"])
    header, tensor = json.loads(req.body[:size]), req.body[size:]
    assert req.headers["Content-Type"] == "application/octet-stream"
    assert header["inputs"][0]["parameters"] == {"binary_data_size": len(tensor)} and "data" not in header["inputs"][0]
    assert struct.unpack("<I", tensor[:4])[0] == len(PNG.data) and tensor[4:] == PNG.data  # a BYTES element: length, then bytes


def test_v2_success_needs_outputs_and_text_is_read_from_them():
    api = V2Api(text_path="lines[*].text")
    answer = v2_answer(json.dumps(OCR_ANSWER))
    assert api.problem(200, answer) is None and api.texts(answer) == ["TOTAL", "12.50"]
    assert V2Api().texts(v2_answer("plain text")) == ["plain text"]


@pytest.mark.parametrize(("status", "answer", "fragment"), [
    (400, body({"error": "not an image"}), 'HTTP 400: {"error": "not an image"}'),
    (404, body({"error": "Model with name nope does not exist."}), "HTTP 404"),
    (200, body({"model_name": "ocr", "outputs": []}), "no outputs list"),
    (200, body({"model_name": "ocr"}), "no outputs list"),
    (200, b"<html>", "body is not JSON"),
])
def test_v2_failures(status, answer, fragment):
    assert fragment in V2Api().problem(status, answer)


@pytest.mark.parametrize(("options", "key"), [
    ({"shape": [0]}, "shape"), ({"shape": "1"}, "shape"), ({"encoding": "hex"}, "encoding"),
    ({"outputs": "output"}, "outputs"), ({"model": "a/b"}, "model"), ({"text_path": "a[x]"}, "text_path"),
])
def test_v2_bad_options_are_named(options, key):
    _, problems = parse(V2Api, options)
    assert problems and problems[0].startswith(f"target.options.{key}:")


def test_paddlex_hps_carries_the_ocr_json_as_a_bytes_string():
    api, problems = parse(PaddlexHpsApi, {"params": {"textDetLimitSideLen": 960}})
    req = api.request(PNG)
    doc = json.loads(req.body)
    assert not problems and req.path == "/v2/models/ocr/infer" and doc["outputs"] == [{"name": "output"}]
    [tensor] = doc["inputs"]
    assert (tensor["name"], tensor["shape"], tensor["datatype"]) == ("input", [1, 1], "BYTES")
    assert json.loads(tensor["data"][0]) == {"file": base64.b64encode(PNG.data).decode(), "fileType": 1, "textDetLimitSideLen": 960}
    assert api.server_metrics() is MAPPINGS["triton"]  # it is a Triton server


def test_paddlex_hps_judges_the_error_code_inside_http_200():
    api = PaddlexHpsApi()
    ok = v2_answer(json.dumps(PADDLEX_OK))
    assert api.problem(200, ok) is None and api.texts(ok) == ["TOTAL", "12.50"]
    failed = v2_answer(json.dumps({"logId": "a", "errorCode": 422, "errorMsg": "Invalid input file"}))
    assert api.problem(200, failed) == "inside outputs[0]: HTTP 200 but errorCode 422: Invalid input file"
    assert "inside outputs[0]: body is not JSON" == api.problem(200, v2_answer("oops"))
    assert "holds no string" in api.problem(200, body({"outputs": [{"name": "output", "data": [1]}]}))
    assert api.problem(500, body({"error": "boom"})) == 'HTTP 500: {"error": "boom"}'
