"""The HTTP API (docs/reference-server.md): POST /v1/ocr, GET /healthz, /readyz, /metrics.

Bad input never gets a 5xx: empty body, bad JSON, bad base64, bytes that are not an image and
truncated images get 400; a body or image over the limit 413; a wrong content type 415. When the
bounded queue is full the answer is 503 with Retry-After, at once.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import time
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST

from reference_server.config import ServerConfig
from reference_server.errors import BadRequest, PayloadTooLarge, RequestError, UnsupportedMediaType
from reference_server.metrics import ServerMetrics
from reference_server.pipeline import STAGES, OcrResult
from reference_server.workers import NotServing, Overloaded, WorkerPool

log = logging.getLogger("reference_server")

IMAGE_TYPES = {"image/png", "image/jpeg", "image/jpg"}
JSON_TYPE = "application/json"
RETRY_AFTER_S = "1"


DRAIN_MAX_BYTES = 1 << 30  # an over-limit body is read and dropped up to this much, so its sender sees the 413
DRAIN_MAX_S = 30.0


async def _drain(request: Request) -> None:
    """Read and drop the rest of a body: closing on a sender still writing makes the kernel reset
    the connection, and the client sees a reset instead of the 413."""
    drained, deadline = 0, time.monotonic() + DRAIN_MAX_S
    async for chunk in request.stream():
        drained += len(chunk)
        if drained > DRAIN_MAX_BYTES or time.monotonic() > deadline:
            break


async def _read_body(request: Request, limit: int) -> bytes:
    """The body, at most `limit` bytes: Content-Length is checked up front, a chunked body is counted
    while read. Over the limit: PayloadTooLarge, after draining what the client sends anyway (a
    client that asked `Expect: 100-continue` is answered at once: it has not sent the body)."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        if request.headers.get("expect", "").lower() != "100-continue":
            await _drain(request)
        raise PayloadTooLarge(f"body of {declared} bytes is over the limit of {limit} bytes")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            await _drain(request)
            raise PayloadTooLarge(f"body is over the limit of {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


def _image_from_json(body: bytes) -> bytes:
    try:
        doc = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BadRequest(f"malformed JSON: {exc}") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("image"), str):
        raise BadRequest('JSON body must be an object {"image": "<base64 PNG or JPEG>"}')
    try:
        return base64.b64decode(doc["image"], validate=True)
    except (binascii.Error, ValueError) as exc:
        raise BadRequest(f'"image" is not valid base64: {exc}') from None


def _error(status: int, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status, headers=headers)


def create_app(config: ServerConfig, metrics: ServerMetrics | None = None) -> FastAPI:
    metrics = metrics or ServerMetrics(config)
    pool = WorkerPool(config, metrics)

    @asynccontextmanager
    async def lifespan(_: FastAPI):
        pool.start()
        yield
        pool.stop()

    app = FastAPI(title="Reference OCR server", lifespan=lifespan)
    app.state.pool = pool
    app.state.metrics = metrics
    first_request_seen = False

    def record(status: int, started: float, result: OcrResult | None = None) -> None:
        nonlocal first_request_seen
        elapsed = time.perf_counter() - started
        metrics.requests.labels(str(status)).inc()
        metrics.request_duration.observe(elapsed)
        if result is None:
            return
        for stage in STAGES:
            metrics.stage_duration.labels(stage).observe(result.timing_ms[stage] / 1e3)
        for size in result.rec_batch_sizes:
            metrics.rec_batch_size.observe(size)
        if not first_request_seen:
            first_request_seen = True
            metrics.first_request.set(elapsed)
            metrics.first_request_time.set(time.time())

    @app.post("/v1/ocr")
    async def ocr(request: Request) -> Response:
        started = time.perf_counter()
        ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
        try:
            if ctype not in IMAGE_TYPES and ctype != JSON_TYPE:
                raise UnsupportedMediaType(
                    f"content type {ctype or '(none)'!r} is not accepted; send image/png, image/jpeg or application/json"
                )
            body = await _read_body(request, config.max_body_bytes)
            data = _image_from_json(body) if ctype == JSON_TYPE else body
            if not data:
                raise BadRequest("empty body: send a PNG or JPEG image")
            result = await pool.submit(data)
        except RequestError as exc:
            record(exc.status, started)
            return _error(exc.status, str(exc), {"Connection": "close"} if exc.status == 413 else None)
        except Overloaded:
            record(503, started)
            return _error(503, "overloaded: the request queue is full", {"Retry-After": RETRY_AFTER_S})
        except NotServing as exc:
            record(503, started)
            return _error(503, str(exc), {"Retry-After": RETRY_AFTER_S})
        except Exception:
            log.exception("request failed")
            record(500, started)
            return _error(500, "internal error; see the server log")
        record(200, started, result)
        return JSONResponse(result.to_json())

    @app.get("/healthz")
    async def healthz() -> Response:
        return JSONResponse({"status": "alive"})

    @app.get("/readyz")
    async def readyz() -> Response:
        if pool.error is not None:
            return _error(503, pool.error)
        if not pool.ready.is_set():
            return _error(503, "loading models and warming up")
        return JSONResponse({"status": "ready"})

    @app.get("/metrics")
    async def prometheus_metrics() -> Response:
        return Response(metrics.exposition(), media_type=CONTENT_TYPE_LATEST)

    return app
