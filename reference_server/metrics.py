"""The server's Prometheus metrics, in a registry created with the app (never the global one).

Names have the prefix `ocr_` (docs/reference-server.md lists them; sla/targets/reference.py is what the harness
reads). Every status code the server can answer is created at 0 at start-up: a series that first
appears mid-run has no earlier sample, so `increase()` and a difference of two instants miss its
first errors.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, Info, ProcessCollector, generate_latest

from reference_server.config import ServerConfig
from reference_server.pipeline import STAGES
from sla.buckets import latency_buckets
from sla.environment import cpu_facts, environment_labels

STATUS_CODES = ("200", "400", "413", "415", "500", "503")


class ServerMetrics:
    def __init__(self, config: ServerConfig, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        r = self.registry
        buckets = latency_buckets(config.extra_buckets)
        ProcessCollector(registry=r)  # process_start_time_seconds: the start of "time to ready"
        self.request_duration = Histogram(
            "ocr_request_duration_seconds", "Time from request received to answer sent (POST /v1/ocr).",
            buckets=buckets, registry=r,
        )
        self.requests = Counter("ocr_requests", "Answers to POST /v1/ocr by HTTP status code.", ["code"], registry=r)
        for code in STATUS_CODES:
            self.requests.labels(code)
        self.stage_duration = Histogram(
            "ocr_stage_duration_seconds", "Time spent in each pipeline stage per request.", ["stage"],
            buckets=buckets, registry=r,
        )
        for stage in STAGES:
            self.stage_duration.labels(stage)
        self.queue_wait = Histogram(
            "ocr_queue_wait_seconds", "Time from admission to a worker taking the request.", buckets=buckets, registry=r
        )
        self.in_flight = Gauge("ocr_in_flight_requests", "Requests admitted and not yet answered.", registry=r)
        self.rec_batch_size = Histogram(
            "ocr_rec_batch_size", "Crops per recognition predictor run.",
            buckets=tuple(float(b) for b in range(1, max(config.rec_batch, 1) + 1)), registry=r,
        )
        self.model_load = Gauge("ocr_model_load_seconds", "Time to export (if missing) and load each model.", ["model"], registry=r)
        self.warmup = Gauge("ocr_warmup_seconds", "Time spent warming up all predictor instances.", registry=r)
        self.ready_time = Gauge("ocr_ready_timestamp_seconds", "Unix time at which /readyz turned ready (0 before).", registry=r)
        self.first_request = Gauge(
            "ocr_first_request_duration_seconds", "Duration of the first successful POST /v1/ocr after start (0 before).",
            registry=r,
        )
        self.first_request_time = Gauge(
            "ocr_first_request_timestamp_seconds", "Unix time at which the first successful request finished (0 before).",
            registry=r,
        )
        Info("ocr_server_config", "The server's configuration.", registry=r).info(config.info_labels())
        self.environment = Info(
            "ocr_server_environment", "Where the server runs: CPU model, cores, affinity, CPU limit (cores; none), "
            "ISA flags, and Paddle's version, commit, oneDNN build and usable ISA (once the models are loaded).", registry=r,
        )
        self.host = environment_labels(cpu_facts())
        self.environment.info({**self.host, "paddle_version": "loading"})

    def paddle_loaded(self, paddle: dict[str, str]) -> None:
        self.environment.info({**self.host, **paddle})

    def exposition(self) -> bytes:
        return generate_latest(self.registry)
