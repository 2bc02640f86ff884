"""PaddleHub serving (`hub serving start -m ch_pp-ocrv3`): `POST /predict/<module>`.

Request: `{"images": ["<base64>"]}`. Success: `status == "000"`; text in
`results[i].data[j].text`. Failures come as `{"status": "101"/"111"/"112", "msg"}`, with HTTP 200
(PaddleHub's `paddlehub/serving/app_compat.py`). No readiness route and no /metrics:
the service counts as ready when its port accepts connections.
"""

from __future__ import annotations

import base64
from typing import Any

from sla.payloads import Payload
from sla.targets.base import ApiRequest, TargetApi, envelope_problem, json_object, json_request, path_get, register, strings
from sla.validation import Reader, text

DEFAULT_MODULE = "ch_pp-ocrv3"


def _shape(doc: dict[str, Any]) -> str | None:
    if not isinstance(doc.get("results"), list):
        return 'status "000" but no results list (not the documented PaddleHub answer)'
    return None


@register
class PaddlehubApi(TargetApi):
    name = "paddlehub"
    description = "PaddleHub serving: POST /predict/<module>, status envelope inside HTTP 200"
    options = {"module": f"the served module (default {DEFAULT_MODULE})"}

    def __init__(self, module: str = DEFAULT_MODULE) -> None:
        self.module = module

    @classmethod
    def parse(cls, reader: Reader, doc: dict[str, Any], path: str) -> "PaddlehubApi":
        return cls(reader.get(doc, path, "module", text, "a module name such as ch_pp-ocrv3", DEFAULT_MODULE) or DEFAULT_MODULE)

    def request(self, payload: Payload) -> ApiRequest:
        return json_request(f"/predict/{self.module}", {"images": [base64.b64encode(payload.data).decode()]})

    def problem(self, status: int, body: bytes) -> str | None:
        return envelope_problem(status, body, "status", "000", ("msg",), _shape)

    def texts(self, body: bytes) -> list[str]:
        doc, _ = json_object(body)
        return strings(path_get(doc, "results[*].data[*].text"))
