"""A generic HTTP API, written in the scenario: for services that none of the other modules covers.

    target:
      api: http
      options:
        method: POST                      # default POST
        path: /predict                    # required
        headers: {X-Api-Key: demo}
        body: {image: "{{image_base64}}", lang: en}   # a mapping/list is sent as JSON;
                                          # a string is a text template; omitted: the raw file
        success:
          status: [200]                   # accepted status codes (default [200])
          json:                           # conditions on the JSON answer, all must hold
            - {path: code, equals: 0}
            - {path: data.texts, exists: true}
        text: data.texts[*]               # where the recognised text is (optional)
        ready_path: /ping                 # readiness endpoint (default: the port accepts connections)

Placeholders: {{image}} (the raw file; only as the whole body), {{image_base64}}, {{name}} (the
payload's request name), {{content_type}}.
"""

from __future__ import annotations

import base64
import json
import re
from typing import Any

from sla.payloads import Payload
from sla.targets.base import ApiRequest, TargetApi, check_path, json_object, path_get, register, strings, url_path
from sla.validation import Reader

METHODS = ("POST", "PUT", "PATCH", "GET")
PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}")
PLACEHOLDERS = ("image", "image_base64", "name", "content_type")
RAW = "{{image}}"
MISSING = object()


def _method(value: Any) -> str:
    if not isinstance(value, str) or value.upper() not in METHODS:
        raise ValueError(f"got {value!r}")
    return value.upper()


def _headers(value: Any) -> dict[str, str]:
    if not isinstance(value, dict) or not all(isinstance(k, str) and isinstance(v, (str, int, float)) for k, v in value.items()):
        raise ValueError(f"got {value!r}")
    return {k: str(v) for k, v in value.items()}


def _placeholders_in(value: Any) -> list[str]:
    if isinstance(value, str):
        return PLACEHOLDER.findall(value)
    if isinstance(value, dict):
        return [n for k, v in value.items() for n in _placeholders_in(k) + _placeholders_in(v)]
    if isinstance(value, list):
        return [n for v in value for n in _placeholders_in(v)]
    return []


def _body(value: Any) -> Any:
    if not isinstance(value, (str, dict, list)):
        raise ValueError(f"got {value!r}, not a mapping, list or string template")
    unknown = sorted({n for n in _placeholders_in(value) if n not in PLACEHOLDERS})
    if unknown:
        raise ValueError(f"unknown placeholder(s) {', '.join('{{' + n + '}}' for n in unknown)}; accepted: "
                         + ", ".join("{{" + n + "}}" for n in PLACEHOLDERS))
    if "image" in _placeholders_in(value) and not (isinstance(value, str) and value.strip() == RAW):
        raise ValueError("{{image}} (the raw file) can only be the whole body; inside JSON or text use {{image_base64}}")
    return value


def _status(value: Any) -> tuple[int, ...]:
    codes = value if isinstance(value, list) else [value]
    if not codes or not all(isinstance(c, int) and not isinstance(c, bool) and 100 <= c <= 599 for c in codes):
        raise ValueError(f"got {value!r}, not a list of HTTP status codes")
    return tuple(codes)


def _conditions(reader: Reader, value: Any, path: str) -> list[tuple[str, str, Any]]:
    if not isinstance(value, list):
        reader.problem(path, f"got {value!r}; expected a list of conditions such as {{path: code, equals: 0}} or {{path: data, exists: true}}")
        return []
    out: list[tuple[str, str, Any]] = []
    for i, item in enumerate(value):
        here = f"{path}[{i}]"
        item = reader.mapping(item, here, {"path": "a JSON path such as result.items[0]", "equals": "the value it must have",
                                           "exists": "true: the path must be present; false: absent"})
        where = reader.get(item, here, "path", check_path, "a JSON path such as result.items[0]")
        tests = [k for k in ("equals", "exists") if k in item]
        if len(tests) != 1:
            reader.problem(here, "needs exactly one of equals or exists")
            continue
        if tests[0] == "exists" and not isinstance(item["exists"], bool):
            reader.problem(f"{here}.exists", f"got {item['exists']!r}; expected true or false")
            continue
        if where is not None:
            out.append((where, tests[0], item[tests[0]]))
    return out


def _fill(value: Any, subs: dict[str, str]) -> Any:
    if isinstance(value, str):
        return PLACEHOLDER.sub(lambda m: subs[m.group(1)], value)
    if isinstance(value, dict):
        return {_fill(k, subs): _fill(v, subs) for k, v in value.items()}
    if isinstance(value, list):
        return [_fill(v, subs) for v in value]
    return value


@register
class HttpApi(TargetApi):
    name = "http"
    description = "any HTTP API: method, path, headers, body template and success conditions from the scenario"
    options = {
        "method": f"{'/'.join(METHODS)} (default POST)",
        "path": "the request path, e.g. /predict (required)",
        "headers": "extra request headers",
        "body": "a mapping/list (sent as JSON) or string template with {{image_base64}}, {{name}}, {{content_type}}; "
                "omitted or {{image}}: the raw file",
        "success": "{status: [200], json: [{path: P, equals: V} | {path: P, exists: true}]}",
        "text": "JSON path of the recognised text, e.g. result.lines[*].text",
        "ready_path": "readiness endpoint, GET answers 200 when ready (default: the port accepts connections)",
    }
    needs_image = False

    def __init__(self, path: str, method: str = "POST", headers: dict[str, str] | None = None, body: Any = RAW,
                 status: tuple[int, ...] = (200,), conditions: list[tuple[str, str, Any]] | None = None,
                 text: str | None = None, ready_path: str | None = None) -> None:
        self.path, self.method, self.headers, self.body = path, method, headers or {}, body
        self.status, self.conditions, self.text, self.ready_path = status, conditions or [], text, ready_path

    @classmethod
    def parse(cls, reader: Reader, doc: dict[str, Any], path: str) -> "HttpApi":
        where = reader.get(doc, path, "path", url_path, "the request path, e.g. /predict")
        method = reader.get(doc, path, "method", _method, " or ".join(METHODS), "POST")
        headers = reader.get(doc, path, "headers", _headers, "a mapping of header name to value", {})
        body = reader.get(doc, path, "body", _body, "a mapping, list or string template", RAW)
        success = reader.mapping(doc.get("success") or {}, f"{path}.success", {"status": "accepted status codes", "json": "conditions"})
        status = reader.get(success, f"{path}.success", "status", _status, "a list of status codes such as [200]", (200,))
        conditions = _conditions(reader, success["json"], f"{path}.success.json") if "json" in success else []
        text = reader.get(doc, path, "text", check_path, "a JSON path such as result.lines[*].text", None)
        ready = reader.get(doc, path, "ready_path", url_path, "a path such as /health", None)
        return cls(where or "/", method or "POST", headers, body, status or (200,), conditions, text, ready)

    def request(self, payload: Payload) -> ApiRequest:
        if isinstance(self.body, str) and self.body.strip() == RAW:
            return ApiRequest(self.method, self.path, {"Content-Type": payload.content_type, **self.headers}, payload.data)
        subs = {"image_base64": base64.b64encode(payload.data).decode(), "name": payload.name, "content_type": payload.content_type}
        if isinstance(self.body, str):
            text = _fill(self.body, subs)
            kind = "application/json" if text.lstrip()[:1] in ("{", "[") else "text/plain; charset=utf-8"
            return ApiRequest(self.method, self.path, {"Content-Type": kind, **self.headers}, text.encode())
        return ApiRequest(self.method, self.path, {"Content-Type": "application/json", **self.headers},
                          json.dumps(_fill(self.body, subs)).encode())

    def problem(self, status: int, body: bytes) -> str | None:
        if status not in self.status:
            detail = (body or b"")[:200].decode("utf-8", "replace").strip()
            accepted = ", ".join(map(str, self.status))
            return f"HTTP {status} (accepted: {accepted})" + (f": {detail}" if detail else "")
        if not self.conditions:
            return None
        doc, not_json = json_object(body)
        if not_json:
            return f"{not_json}, so the success conditions cannot hold"
        for where, test, expected in self.conditions:
            values = path_get(doc, where)
            if test == "exists" and bool(values) != expected:
                return f"{where} is {'missing' if expected else 'present'}"
            if test == "equals" and (not values or values[0] != expected):
                return f"{where} is {values[0]!r} where {expected!r} is required" if values else f"{where} is missing (must equal {expected!r})"
        return None

    def text_problem(self) -> str | None:
        return None if self.text is not None else "the http target API has no target.options.text (the JSON path of the text in an answer)"

    def texts(self, body: bytes) -> list[str]:
        if self.text is None:
            return []
        doc, _ = json_object(body)
        return strings(path_get(doc, self.text))
