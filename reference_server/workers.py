"""Inference off the event loop: a fixed set of worker threads, each owning one pipeline.

Admission is bounded: at most `instances + max_queue` requests are admitted at once; the event
loop sheds the rest with 503 before reading more work. Each worker thread loads (the first) or
clones (the others) its pipeline and warms it up in that thread, because the oneDNN primitive
cache belongs to the thread that ran the shapes. /readyz turns ready when every worker is warm.
Requests that arrive before then wait in the queue: a cold start is what the first user sees.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
import time
from dataclasses import dataclass

from reference_server.config import ServerConfig
from reference_server.engine import Predictor, paddle_facts
from reference_server.metrics import ServerMetrics
from reference_server.models import ensure_models, model_files
from reference_server.models.export import int8_files
from reference_server.pipeline import OcrPipeline, OcrResult, PipelineSettings
from reference_server.pipeline.pipeline import CrossedBatches
from reference_server.pipeline.recognition import RecParams

log = logging.getLogger("reference_server")

# Pages the warm-up runs through the whole pipeline: the shapes real traffic brings.
WARMUP_PAGES = ("small", "medium", "large")


@dataclass
class _Job:
    data: bytes
    admitted: float
    loop: asyncio.AbstractEventLoop
    future: asyncio.Future


class Overloaded(Exception):
    """The bounded queue is full."""


class NotServing(Exception):
    """The models failed to load; the message says why."""


def pipeline_settings(config: ServerConfig) -> PipelineSettings:
    return PipelineSettings(
        det_limit_side=config.det_limit_side,
        max_image_pixels=config.max_image_pixels,
        rec=RecParams(batch_size=config.rec_batch),
    )


def load_pipeline(config: ServerConfig, metrics: ServerMetrics | None = None) -> OcrPipeline:
    predictors = {}
    for name in ("det", "rec"):
        start = time.perf_counter()
        if config.precision == "int8":
            files = int8_files(config.preset, name)
        else:
            ensure_models(config.model_dir, config.preset)
            files = model_files(config.model_dir, config.preset, name)
        predictors[name] = Predictor.load(*files, config.threads, config.onednn, config.precision)
        if metrics is not None:
            metrics.model_load.labels(name).set(time.perf_counter() - start)
    if metrics is not None:
        metrics.paddle_loaded(paddle_facts())
    return OcrPipeline(predictors["det"], predictors["rec"], pipeline_settings(config),
                       CrossedBatches() if config.fault == "crossed-batches" else None)


def warm_up(pipeline: OcrPipeline) -> None:
    from sla.payloads import render_page

    import numpy as np

    for size in WARMUP_PAGES:
        pipeline.run_image(np.asarray(render_page(size, "plain", seed=0)))


class WorkerPool:
    def __init__(self, config: ServerConfig, metrics: ServerMetrics) -> None:
        self.config = config
        self.metrics = metrics
        self.capacity = config.instances + config.max_queue
        self.admitted = 0  # touched only on the event loop
        self.ready = threading.Event()
        self.error: str | None = None
        self._jobs: queue.Queue[_Job | None] = queue.Queue()
        self._warm = 0
        self._lock = threading.Lock()
        self._base: OcrPipeline | None = None
        self._base_loaded = threading.Event()
        self._threads = [
            threading.Thread(target=self._worker, args=(i,), name=f"ocr-worker-{i}", daemon=True)
            for i in range(config.instances)
        ]
        self._warmup_seconds = 0.0

    def start(self) -> None:
        for t in self._threads:
            t.start()

    def stop(self) -> None:
        for _ in self._threads:
            self._jobs.put(None)

    async def submit(self, data: bytes) -> OcrResult:
        if self.error is not None:
            raise NotServing(self.error)
        if self.admitted >= self.capacity:
            raise Overloaded()
        loop = asyncio.get_running_loop()
        job = _Job(data, time.perf_counter(), loop, loop.create_future())
        self.admitted += 1
        self.metrics.in_flight.set(self.admitted)
        try:
            self._jobs.put(job)
            return await job.future
        finally:
            self.admitted -= 1
            self.metrics.in_flight.set(self.admitted)

    def _pipeline_for(self, index: int) -> OcrPipeline:
        if index == 0:
            self._base = load_pipeline(self.config, self.metrics)
            self._base_loaded.set()
            return self._base
        self._base_loaded.wait()
        if self._base is None:
            raise RuntimeError("the first worker failed to load the models")
        return self._base.clone()

    def _worker(self, index: int) -> None:
        try:
            pipeline = self._pipeline_for(index)
            started = time.perf_counter()
            if self.config.warmup:
                warm_up(pipeline)
            warmup_seconds = time.perf_counter() - started
        except Exception as exc:  # the server stays up and says why on /readyz
            log.exception("worker %d failed to start", index)
            self.error = f"models failed to load: {type(exc).__name__}: {exc}"
            self._base_loaded.set()
            self._fail_waiting()
            return
        with self._lock:
            self._warm += 1
            self._warmup_seconds = max(self._warmup_seconds, warmup_seconds)  # workers warm up in parallel
            if self._warm == len(self._threads):
                self.metrics.warmup.set(self._warmup_seconds)
                self.metrics.ready_time.set(time.time())
                self.ready.set()
                log.info("ready: %d worker(s), preset %s", self._warm, self.config.preset)
        while (job := self._jobs.get()) is not None:
            started = time.perf_counter()
            self.metrics.queue_wait.observe(started - job.admitted)
            try:
                result: OcrResult | BaseException = pipeline(job.data)
            except BaseException as exc:  # delivered to the request, which maps it to a status
                result = exc
            _deliver(job, result)

    def _fail_waiting(self) -> None:
        while True:
            try:
                job = self._jobs.get_nowait()
            except queue.Empty:
                return
            if job is not None:
                _deliver(job, NotServing(self.error or "not serving"))


def _deliver(job: _Job, result: OcrResult | BaseException) -> None:
    def settle() -> None:
        if job.future.done():
            return
        if isinstance(result, BaseException):
            job.future.set_exception(result)
        else:
            job.future.set_result(result)

    job.loop.call_soon_threadsafe(settle)
