"""What every target API provides, and the registry that finds one by its scenario name.

A target API is data about a serving stack: how a payload becomes a request, what makes an answer
a success (including failures reported inside an HTTP 200), where the recognised text is, which
endpoint says the service is ready, and which server metrics mapping describes its /metrics.
The Locust user, the arrival-rate dispatcher, the response check and the gate ask the API; none
of them knows a path or a body format. Adding a stack is adding one module that calls `register`.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

from sla.payloads import Payload
from sla.targets.metrics import MetricsMapping
from sla.validation import Reader


@dataclass(frozen=True)
class ApiRequest:
    method: str
    path: str  # with a leading slash, relative to the target's base URL
    headers: dict[str, str]
    body: bytes


class TargetApi:
    """Base of the API modules; a parsed instance holds the scenario's `target.options`."""

    name: ClassVar[str]
    description: ClassVar[str]
    options: ClassVar[dict[str, str]] = {}  # option -> what it is (shown when a key is refused)
    ready_path: str | None = None  # GET answers 200 once the service can serve; None: port open
    alive_path: ClassVar[str | None] = None  # GET answers 200 while the process is up (default: ready_path)
    needs_image: ClassVar[bool] = True  # payload files must be images
    metrics: ClassVar[MetricsMapping | None] = None  # where its server-side series are (sla.targets.metrics)

    @classmethod
    def parse(cls, reader: Reader, doc: dict[str, Any], path: str) -> "TargetApi":
        """Build from the already key-checked `target.options` mapping; report problems to `reader`."""
        return cls()

    def request(self, payload: Payload) -> ApiRequest:
        raise NotImplementedError

    def problem(self, status: int, body: bytes) -> str | None:
        """Why an answer (the server did answer, with `status`) is a failure; None for a success."""
        raise NotImplementedError

    def texts(self, body: bytes) -> list[str]:
        """The recognised text of a successful answer (for reports and accuracy objectives)."""
        return []

    def text_problem(self) -> str | None:
        """Why this API cannot say where the text of an answer is (None: `texts` finds it)."""
        return None if type(self).texts is not TargetApi.texts else f"the {self.name} target API does not say where the text is in an answer"

    def shed(self, status: int, retry_after: str | None) -> bool:
        """A failure that is load shedding: the service refused work it could not queue (503 or
        429 with Retry-After), counted apart from other failures (`outcome="shed"`)."""
        return status in (429, 503) and retry_after is not None

    @classmethod
    def server_metrics(cls) -> MetricsMapping | None:
        return cls.metrics

    def probe_path(self, ready: bool) -> str | None:
        return self.ready_path if ready or self.alive_path is None else self.alive_path


API_REGISTRY: dict[str, type[TargetApi]] = {}


def register(cls: type[TargetApi]) -> type[TargetApi]:
    API_REGISTRY[cls.name] = cls
    return cls


# -- helpers shared by the API modules -------------------------------------------------------


def http_problem(status: int, body: bytes) -> str | None:
    """Any status but 200 is a failure, shown with the start of its body."""
    if status == 200:
        return None
    detail = (body or b"")[:200].decode("utf-8", "replace").strip()
    return f"HTTP {status}: {detail}" if detail else f"HTTP {status}"


def json_object(body: bytes) -> tuple[Any, str | None]:
    """The JSON document of a body, or the problem that it is not JSON."""
    try:
        return json.loads(body or b""), None
    except (ValueError, UnicodeDecodeError):
        return None, "body is not JSON"


def json_request(path: str, doc: Any, method: str = "POST") -> ApiRequest:
    return ApiRequest(method, path, {"Content-Type": "application/json"}, json.dumps(doc).encode())


def envelope_problem(status: int, body: bytes, field: str, ok: Any, message_keys: tuple[str, ...], shape: Callable[[Any], str | None]) -> str | None:
    """Stacks that report failures in a body field (`errorCode`, `status`, `err_no`), possibly
    inside an HTTP 200: the field must equal `ok` and `shape(doc)` must find the documented answer."""
    doc, not_json = json_object(body)
    if not_json:
        return http_problem(status, body) or not_json
    if not isinstance(doc, dict):
        return http_problem(status, body) or "body is not a JSON object"
    code = doc.get(field)
    if code != ok:
        message = next((str(doc[k]) for k in message_keys if doc.get(k) not in (None, "")), "")
        where = f"HTTP {status}, " if status != 200 else "HTTP 200 but "
        return f"{where}{field} {code!r}" + (f": {message[:200]}" if message else "")
    if status != 200:
        return http_problem(status, body)
    return shape(doc)


def path_get(doc: Any, path: str) -> list[Any]:
    """Values at a dotted path such as `result.ocrResults[0].prunedResult.rec_texts` (a leading `$.`
    is allowed; `[*]` takes every item). Missing steps give no values."""
    values = [doc]
    for step in _steps(path):
        nxt: list[Any] = []
        for value in values:
            if step == "*":
                if isinstance(value, list):
                    nxt.extend(value)
            elif isinstance(step, int):
                if isinstance(value, list) and -len(value) <= step < len(value):
                    nxt.append(value[step])
            elif isinstance(value, Mapping) and step in value:
                nxt.append(value[step])
        values = nxt
    return values


def _steps(path: str) -> list[str | int]:
    text = path[2:] if path.startswith("$.") else path.lstrip("$")
    steps: list[str | int] = []
    for part in filter(None, text.split(".")):
        name, *indices = part.split("[")
        if name:
            steps.append(name)
        for index in indices:
            inner = index.rstrip("]")
            if inner == "*":
                steps.append("*")
            else:
                try:
                    steps.append(int(inner))
                except ValueError:
                    raise ValueError(f"{path!r}: [{inner}] is not an index; write [0], [-1] or [*]") from None
    return steps


def check_path(value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"got {value!r}, not a path such as result.items[0].text")
    _steps(value)
    return value


def url_path(value: Any) -> str:
    if not isinstance(value, str) or not value.startswith("/"):
        raise ValueError(f"got {value!r}, not a URL path starting with /")
    return value


def strings(values: list[Any]) -> list[str]:
    """Flatten values (strings, or lists of strings) to the strings among them."""
    out: list[str] = []
    for v in values:
        if isinstance(v, str):
            out.append(v)
        elif isinstance(v, list):
            out.extend(strings(v))
    return out
