"""Each target API: the request it builds, and its verdict on the stacks' documented answers
(as each module's docstring describes them). Three stacks report failures inside an HTTP 200: those must fail."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest

from sla.payloads import Payload
from sla.targets import API_REGISTRY
from sla.targets.http import HttpApi
from sla.targets.paddle_serving import PaddleServingApi
from sla.targets.paddlehub import PaddlehubApi
from sla.targets.paddlex import PaddlexApi
from sla.targets.reference import ReferenceApi
from sla.validation import Reader

PNG = Payload("invoice", "image/png", b"\x89PNG\r\n\x1a\nfake")
B64 = base64.b64encode(PNG.data).decode()


def body(doc) -> bytes:
    return json.dumps(doc).encode()


def parse(cls, options: dict):
    reader = Reader(Path("s.yaml"))
    api = cls.parse(reader, options, "target.options")
    return api, reader.problems


def test_every_api_is_registered_by_its_scenario_name():
    assert set(API_REGISTRY) >= {"reference", "paddlex", "paddlehub", "paddle_serving", "http", "v2"}
    for name, api in API_REGISTRY.items():  # a scenario's `target.api: NAME` finds the class that speaks it
        assert api.name == name, name


# -- reference -------------------------------------------------------------------------------


def test_reference_sends_the_image_itself_or_base64_json():
    raw = ReferenceApi().request(PNG)
    assert (raw.method, raw.path, raw.headers["Content-Type"], raw.body) == ("POST", "/v1/ocr", "image/png", PNG.data)
    as_json = ReferenceApi("base64").request(PNG)
    assert json.loads(as_json.body) == {"image": B64} and as_json.headers["Content-Type"] == "application/json"


def test_reference_answers():
    api = ReferenceApi()
    good = body({"lines": [{"text": "TOTAL 12.50", "score": 0.9, "box": []}], "timing_ms": {"total": 3}})
    assert api.problem(200, good) is None and api.texts(good) == ["TOTAL 12.50"]
    assert api.problem(503, b'{"error": "overloaded"}') == 'HTTP 503: {"error": "overloaded"}'
    assert "not the documented OCR answer" in api.problem(200, body({"text": "x"}))


# -- PaddleX ---------------------------------------------------------------------------------

PADDLEX_OK = {"logId": "1f", "errorCode": 0, "errorMsg": "Success",
              "result": {"ocrResults": [{"prunedResult": {"rec_texts": ["TOTAL", "12.50"], "rec_scores": [0.9, 0.8]}}],
                         "dataInfo": {"width": 480, "height": 320, "type": "image"}}}


def test_paddlex_posts_base64_with_file_type_1_and_the_extra_fields():
    api, problems = parse(PaddlexApi, {"params": {"textDetLimitSideLen": 960}})
    req = api.request(PNG)
    assert not problems and (req.method, req.path) == ("POST", "/ocr")
    assert json.loads(req.body) == {"file": B64, "fileType": 1, "textDetLimitSideLen": 960}
    assert api.ready_path == "/health" and api.server_metrics() is None


def test_paddlex_success_and_text():
    api = PaddlexApi()
    assert api.problem(200, body(PADDLEX_OK)) is None
    assert api.texts(body(PADDLEX_OK)) == ["TOTAL", "12.50"]


@pytest.mark.parametrize(("status", "doc", "fragment"), [
    (422, {"logId": "a", "errorCode": 422, "errorMsg": "Invalid input file"}, "HTTP 422, errorCode 422: Invalid input file"),
    (500, {"logId": "a", "errorCode": 500, "errorMsg": "Internal server error"}, "errorCode 500: Internal server error"),
    (200, {"logId": "a", "errorCode": 500, "errorMsg": "boom"}, "HTTP 200 but errorCode 500: boom"),
    (200, {"logId": "a", "errorCode": 0, "errorMsg": "Success", "result": {}}, "no result.ocrResults"),
])
def test_paddlex_errors_in_its_envelope_fail(status, doc, fragment):
    assert fragment in PaddlexApi().problem(status, body(doc))


def test_paddlex_refuses_params_that_the_harness_sets():
    _, problems = parse(PaddlexApi, {"params": {"file": "x"}})
    assert problems and "target.options.params" in problems[0] and "set by the harness" in problems[0]


# -- PaddleHub -------------------------------------------------------------------------------


def test_paddlehub_request_success_and_the_failure_inside_http_200():
    api = PaddlehubApi()
    req = api.request(PNG)
    assert req.path == "/predict/ch_pp-ocrv3" and json.loads(req.body) == {"images": [B64]}
    ok = body({"msg": "", "results": [{"data": [{"text": "TOTAL", "confidence": 0.9, "text_box_position": [[0, 0]]}],
                                       "save_path": ""}], "status": "000"})
    assert api.problem(200, ok) is None and api.texts(ok) == ["TOTAL"]
    failed = body({"msg": "Module ch_pp-ocrv3 is not available.", "results": "", "status": "111"})
    assert api.problem(200, failed) == "HTTP 200 but status '111': Module ch_pp-ocrv3 is not available."
    assert api.ready_path is None  # no readiness route: the port is probed


# -- Paddle Serving --------------------------------------------------------------------------


def test_paddle_serving_request_success_and_the_failure_inside_http_200():
    api = PaddleServingApi()
    req = api.request(PNG)
    assert req.path == "/ocr/prediction" and json.loads(req.body) == {"key": ["image"], "value": [B64]}
    ok = body({"err_no": 0, "err_msg": "", "key": ["res"], "value": ["[['TOTAL', [[1, 2], [3, 2], [3, 4], [1, 4]]]]"], "tensors": []})
    assert api.problem(200, ok) is None and api.texts(ok) == ["TOTAL"]
    failed = body({"err_no": 5000, "err_msg": "(log_id=0) OCR failed: input error", "key": [], "value": [], "tensors": []})
    assert api.problem(200, failed) == "HTTP 200 but err_no 5000: (log_id=0) OCR failed: input error"
    assert api.problem(200, b"<html>") == "body is not JSON"


# -- generic http ----------------------------------------------------------------------------


def test_http_template_fills_the_json_body_and_keeps_the_users_headers():
    api, problems = parse(HttpApi, {"path": "/predict", "headers": {"X-Key": "k"}, "body": {"img": "{{image_base64}}", "id": "{{name}}", "n": 1}})
    req = api.request(PNG)
    assert not problems and (req.method, req.path) == ("POST", "/predict")
    assert json.loads(req.body) == {"img": B64, "id": "invoice", "n": 1}
    assert req.headers == {"Content-Type": "application/json", "X-Key": "k"}


def test_http_raw_body_by_default_and_string_templates():
    raw, _ = parse(HttpApi, {"path": "/ocr", "method": "put"})
    req = raw.request(PNG)
    assert (req.method, req.body, req.headers["Content-Type"]) == ("PUT", PNG.data, "image/png")
    text, _ = parse(HttpApi, {"path": "/ocr", "body": '{"b64": "{{image_base64}}"}'})
    assert json.loads(text.request(PNG).body) == {"b64": B64}


def test_http_success_conditions():
    api, problems = parse(HttpApi, {"path": "/p", "success": {"status": [200, 201], "json": [
        {"path": "code", "equals": 0}, {"path": "data.texts", "exists": True}, {"path": "error", "exists": False}]},
        "text": "data.texts[*]"})
    assert not problems
    ok = body({"code": 0, "data": {"texts": ["a", "b"]}})
    assert api.problem(201, ok) is None and api.texts(ok) == ["a", "b"]
    assert api.problem(200, body({"code": 3, "data": {"texts": []}})) == "code is 3 where 0 is required"
    assert api.problem(200, body({"code": 0})) == "data.texts is missing"
    assert api.problem(200, body({"code": 0, "data": {"texts": []}, "error": "x"})) == "error is present"
    assert api.problem(404, b"no") == "HTTP 404 (accepted: 200, 201): no"
    assert "not JSON" in api.problem(200, b"<html>")


@pytest.mark.parametrize(("options", "fragment"), [
    ({}, "target.options.path: missing"),
    ({"path": "predict"}, "target.options.path: got 'predict', not a URL path"),
    ({"path": "/p", "method": "FETCH"}, "target.options.method"),
    ({"path": "/p", "body": {"img": "{{picture}}"}}, "unknown placeholder(s) {{picture}}"),
    ({"path": "/p", "body": {"img": "{{image}}"}}, "{{image}} (the raw file) can only be the whole body"),
    ({"path": "/p", "success": {"status": ["ok"]}}, "target.options.success.status"),
    ({"path": "/p", "success": {"json": [{"path": "a"}]}}, "needs exactly one of equals or exists"),
    ({"path": "/p", "success": {"json": [{"path": "a[x]", "exists": True}]}}, "[x] is not an index"),
])
def test_http_options_are_checked_with_key_and_what_is_accepted(options, fragment):
    _, problems = parse(HttpApi, options)
    assert any(fragment in p for p in problems), problems
