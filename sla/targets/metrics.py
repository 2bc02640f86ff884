"""Server metrics mappings: where a target's server-side series are, what they are called, and what
can be judged from them.

The analyzer builds its server queries from a mapping, never from names of its own, so a stack
with other metric names is one more mapping. A target API holds its default mapping
(`TargetApi.metrics`; the reference server's lives beside its API in sla/targets/reference.py); a
scenario picks another by name or writes its own (`target.metrics`, sla/scenario/target.py). The
mappings below were checked against a scrape of each stack running this project's OCR pipeline
(integrations/<stack>/, made by `make stacks`); the scrapes are kept in tests/targets/scrapes/, and
tests/targets/test_scrapes.py holds every mapping against its own.

Latency comes from a histogram (percentiles and means), or from a cumulative duration counter and
the counter of the requests it sums (Triton): a mean only, which may split into cumulative
queue and compute counters of the same unit (Triton's queue and compute durations). Outcomes
come from a request counter labelled by status, or from a success counter and a failure counter.
A series name may carry label matchers that pick the inference requests out of others, as in
`rest_server_requests_total{path=~".*/infer"}`.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, fields, replace
from typing import Any

from sla.validation import Reader, integer, text

SERIES = re.compile(r"^[a-zA-Z_:][a-zA-Z0-9_:]*(\{[^{}]*\})?$")


@dataclass(frozen=True)
class MetricsMapping:
    name: str
    request_histogram: str | None = None  # request latency histogram (without _bucket/_count/_sum)
    duration_sum: str | None = None  # or: a cumulative request-duration counter ...
    duration_count: str | None = None  # ... and the counter of the requests it sums (a mean, no percentile)
    unit: float = 1.0  # seconds per unit of its durations, bucket bounds and sums (Triton µs: 1e-6)
    requests_counter: str | None = None  # answered requests; by status_label if set, else the successes
    status_label: str | None = None  # the label of requests_counter that carries the status
    success_values: tuple[str, ...] = ()  # its values that count as success
    failures_counter: str | None = None  # failed requests, when requests_counter counts successes only
    stage_histogram: str | None = None  # per-stage latency histogram, labelled by stage_label
    stage_label: str = "stage"
    stages: tuple[str, ...] = ()
    queue_duration: str | None = None  # cumulative queue wait counter (unit; per duration_count: a mean)
    compute_durations: tuple[str, ...] = ()  # cumulative compute counters, each a part of the mean
    ready_timestamp: str | None = None  # gauge: Unix time the server turned ready (0 before)
    process_start: str | None = "process_start_time_seconds"  # None: the stack has none; the gate's probe
    first_request_gauge: str | None = None  # gauge: duration of the first request after start
    model_load_gauge: str | None = None  # gauge: seconds spent loading models (summed over its labels)
    warmup_gauge: str | None = None  # gauge: seconds spent warming up before ready
    queue_histogram: str | None = None  # time requests wait for a worker (dashboards)
    in_flight_gauge: str | None = None  # requests admitted and not yet answered (dashboards)
    batch_histogram: str | None = None  # items per batched model run (dashboards)
    info_metrics: tuple[str, ...] = ()  # info metrics whose labels say how and where it runs (run.json environment)
    cadvisor: str | None = None  # label matchers picking its containers in cAdvisor's CFS counters (Kubernetes)
    port: int | None = None  # where it is scraped when not on the inference port (Triton 8002)
    path: str = "/metrics"
    own_port: bool = False  # its metrics are on a port the stack picks: the command must take {metrics_port}, or set port
    uncounted: str | None = None  # failures its counters do not see (the load generator's outcome is the truth)

    # -- what it supports (the objective kinds ask; sla/objectives) --------------------------
    @property
    def percentiles(self) -> bool:
        return self.request_histogram is not None

    @property
    def mean(self) -> bool:
        return self.request_histogram is not None or self.duration_count is not None

    @property
    def failures(self) -> bool:
        return self.requests_counter is not None and (self.status_label is not None or self.failures_counter is not None)

    def latency_source(self) -> str:
        """What its latency is, for refusals: a histogram, a mean, or nothing."""
        if self.request_histogram:
            return f"the {self.name} metrics have a latency histogram"
        if self.duration_count:
            return (f"the {self.name} metrics have no latency histogram, only a mean ({self.duration_sum} / {self.duration_count}): "
                    "judge `mean` from them, percentiles from the load generator (source: loadgen)")
        return f"the {self.name} metrics have no request latency"

    def problems(self) -> list[str]:
        """What is inconsistent in a mapping (a user's, or a shipped one)."""
        out = []
        for f in SERIES_FIELDS:
            value = getattr(self, f)
            if value is not None and not SERIES.match(value):
                out.append(f"{f}: {value!r} is not a metric name (letters, digits, _ and :), with optional {{label matchers}}")
        out += [f"{f}: {v!r} is not a metric name" for f in ("info_metrics", "compute_durations") for v in getattr(self, f)
                if not SERIES.match(v)]
        if (self.queue_duration or self.compute_durations) and not self.duration_count:
            out.append("queue_duration and compute_durations are parts of a mean: they need duration_sum and duration_count")
        if self.ready_timestamp and not self.process_start:
            out.append("ready_timestamp needs process_start: time to ready is the one less the other")
        if self.cadvisor is not None and not re.fullmatch(r"\{[^{}]+\}", self.cadvisor):
            out.append(f"cadvisor: {self.cadvisor!r} is not label matchers such as '{{namespace=\"ocr\",container=\"server\"}}'")
        if (self.duration_sum is None) != (self.duration_count is None):
            out.append("duration_sum and duration_count go together (a mean is their ratio)")
        if self.status_label and not self.success_values:
            out.append("status_label needs success_values: the statuses that count as success, e.g. ['200']")
        if (self.status_label or self.failures_counter) and not self.requests_counter:
            out.append("status_label and failures_counter describe requests_counter, which is not set")
        if self.status_label and self.failures_counter:
            out.append("give status_label (one counter labelled by status) or failures_counter (a counter of failures), not both")
        if self.stages and not self.stage_histogram:
            out.append("stages need stage_histogram")
        if not self.unit > 0:
            out.append(f"unit: {self.unit!r} is not a positive number of seconds")
        if self.port is not None and not 0 < self.port < 65536:
            out.append(f"port: {self.port!r} is not a TCP port")
        if not self.path.startswith("/"):
            out.append(f"path: {self.path!r} does not start with /")
        return out

    def series(self) -> dict[str, str]:
        """Every series it names, by field: what a scrape of the stack must hold."""
        named = {f: getattr(self, f) for f in SERIES_FIELDS if getattr(self, f)}
        named.update({f"{f}[{i}]": v for f in ("info_metrics", "compute_durations") for i, v in enumerate(getattr(self, f))})
        return named

    def to_json(self) -> dict[str, Any]:
        return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(self).items()}

    @classmethod
    def from_json(cls, doc: dict[str, Any]) -> "MetricsMapping":
        known = {f.name for f in fields(cls)}
        kept: dict[str, Any] = {k: tuple(v) if isinstance(v, list) else v for k, v in doc.items() if k in known}
        return cls(**kept)


SERIES_FIELDS = ("request_histogram", "duration_sum", "duration_count", "requests_counter", "failures_counter",
                 "queue_duration", "stage_histogram", "ready_timestamp", "process_start", "first_request_gauge",
                 "model_load_gauge", "warmup_gauge", "queue_histogram", "in_flight_gauge", "batch_histogram")
MAPPINGS: dict[str, MetricsMapping] = {}
# `target.metrics` written as a mapping (a stack that is not shipped): its keys, and `like`.
FIELD_HELP = {
    "like": "a shipped mapping to start from; the keys given replace its values",
    "name": "what to call the mapping in reports",
    "request_histogram": "request latency histogram, without _bucket (percentiles and means)",
    "duration_sum": "or: a cumulative request-duration counter (with duration_count: a mean only)",
    "duration_count": "the counter of the requests duration_sum sums over",
    "unit": "the unit of its durations: s (default), ms, us, or seconds as a number",
    "requests_counter": "answered requests: by status_label, else the successes",
    "status_label": "the label of requests_counter that carries the status",
    "success_values": "the statuses that count as success, e.g. ['200']",
    "failures_counter": "failed requests, when requests_counter counts successes only",
    "queue_duration": "cumulative queue-wait counter, in unit (with duration_count: its mean)",
    "compute_durations": "cumulative compute counters, in unit, each a part of the mean",
    "stage_histogram": "per-stage latency histogram",
    "stage_label": "its label naming the stage (default stage)",
    "stages": "the stage names",
    "ready_timestamp": "gauge: Unix time the server turned ready",
    "process_start": "gauge: Unix time the process started (default process_start_time_seconds; null: it has none)",
    "first_request_gauge": "gauge: seconds the first request took",
    "model_load_gauge": "gauge: seconds spent loading models (summed over its labels)",
    "warmup_gauge": "gauge: seconds spent warming up before ready",
    "queue_histogram": "histogram: time requests wait for a worker (dashboard)",
    "in_flight_gauge": "gauge: requests admitted and not yet answered (dashboard)",
    "batch_histogram": "histogram: items per batched model run (dashboard)",
    "info_metrics": "info metrics whose labels describe the server (versions, CPU, settings), e.g. ['build_info']",
    "cadvisor": "label matchers picking the service's containers in cAdvisor's CFS counters, e.g. '{namespace=\"ocr\",container=\"server\"}'",
    "port": "where /metrics is scraped when not on the inference port, e.g. 8002",
    "path": "the metrics path (default /metrics)",
    "own_port": "true: its metrics are on a port the stack picks (the command must take {metrics_port}, or give port)",
    "uncounted": "the failures its counters do not see, in words (said beside its error rate)",
}
UNITS = {"s": 1.0, "ms": 1e-3, "us": 1e-6, "µs": 1e-6}


def _names(value: Any) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, (str, int)) and not isinstance(v, bool) for v in value):
        raise ValueError(f"got {value!r}, not a list such as ['200']")
    return tuple(str(v) for v in value)


def _unit(value: Any) -> float:
    if isinstance(value, str) and value in UNITS:
        return UNITS[value]
    if isinstance(value, (int, float)) and not isinstance(value, bool) and value > 0:
        return float(value)
    raise ValueError(f"got {value!r}, not a unit ({', '.join(UNITS)}) or a positive number of seconds")


def _flag(value: Any) -> bool:
    if not isinstance(value, bool):
        raise ValueError(f"got {value!r}, not true or false")
    return value


CONVERT = {"success_values": _names, "stages": _names, "info_metrics": _names, "compute_durations": _names, "unit": _unit,
           "port": integer, "own_port": _flag}


def parse_mapping(reader: Reader, value: Any, path: str, default: MetricsMapping | None) -> MetricsMapping | None:
    """A scenario's `target.metrics`: a shipped mapping's name, or a mapping of the fields above.
    Absent: the API's own (`default`)."""
    if value is None:
        return default
    if isinstance(value, str):
        if value in MAPPINGS:
            return MAPPINGS[value]
        reader.problem(path, f"{value!r} is not a shipped server metrics mapping; shipped: {', '.join(MAPPINGS)} "
                       f"(or write your stack's as a mapping with keys {', '.join(FIELD_HELP)})")
        return default
    doc = reader.mapping(value, path, FIELD_HELP)
    like = reader.get(doc, path, "like", text, f"a shipped mapping: {', '.join(MAPPINGS)}", None)
    if like is not None and like not in MAPPINGS:
        reader.problem(f"{path}.like", f"{like!r} is not a shipped mapping; shipped: {', '.join(MAPPINGS)}")
        like = None
    given: dict[str, Any] = {}
    for key in doc:
        if key == "process_start" and doc[key] is None:
            given[key] = None  # the stack has no start time: the gate's probe stands in
        elif key in FIELD_HELP and key != "like":
            got = reader.get(doc, path, key, CONVERT.get(key, text), FIELD_HELP[key])
            if got is not None:
                given[key] = got
    base = MAPPINGS[like] if like else MetricsMapping(name="custom")
    mapping = replace(base, **given)
    for problem in mapping.problems():
        reader.problem(path, problem)
    return mapping


def register_metrics(mapping: MetricsMapping) -> MetricsMapping:
    problems = mapping.problems()
    if problems:
        raise ValueError(f"server metrics mapping {mapping.name}: {'; '.join(problems)}")
    MAPPINGS[mapping.name] = mapping
    return mapping


# KServe 0.21 (kserve/metrics.py; tests/targets/scrapes/kserve.txt): histograms labelled model_name,
# on the inference port. request_predict_seconds times the model's predict(), failures included; no
# request counter. Default registry: process metrics present.
register_metrics(MetricsMapping(name="kserve", request_histogram="request_predict_seconds"))
# MLServer 1.7.1 (rest/app.py, handlers/dataplane.py; scrapes/mlserver.txt): starlette_exporter's REST
# histogram and request counter by route template (/v2/models/{model_name}/infer) and status_code,
# health routes left out, on --metrics-port (default 8082). Its own model_infer_request_success and
# _failure are prometheus_client Counters, scraped with _total; the REST counter also counts what
# is refused before the model runs. Process metrics only with parallel_workers 0 (one process).
INFER_PATH = '{path=~".*/infer"}'
register_metrics(MetricsMapping(
    name="mlserver", request_histogram="rest_server_request_duration_seconds" + INFER_PATH,
    requests_counter="rest_server_requests_total" + INFER_PATH, status_label="status_code", success_values=("200",), port=8082))
# Triton 2.51 through PyTriton 0.7 (docs/user_guide/metrics.md; scrapes/triton.txt): cumulative
# durations in µs and success/failure counters on port 8002, no latency histogram (2.51 exposes none
# for a model that is not decoupled, histogram_latencies or not): a mean only, split into queue and
# compute. No process metrics. Its failure counter counts what fails in the model (reason="BACKEND"),
# not what it refuses before the model runs.
register_metrics(MetricsMapping(
    name="triton", duration_sum="nv_inference_request_duration_us", duration_count="nv_inference_request_success",
    unit=1e-6, requests_counter="nv_inference_request_success", failures_counter="nv_inference_request_failure",
    queue_duration="nv_inference_queue_duration_us",
    compute_durations=("nv_inference_compute_input_duration_us", "nv_inference_compute_infer_duration_us",
                       "nv_inference_compute_output_duration_us"),
    process_start=None, port=8002,
    uncounted="requests Triton refuses before the model runs (HTTP 400 for a wrong shape or input name, 404 for an unknown model)"))
# BentoML 1.4 (bentoml/_internal/server/metrics; scrapes/bentoml.txt): a histogram and a counter
# labelled by endpoint and http_response_code, on the serving port; its probes (/readyz, /livez,
# /healthz) and /metrics are counted too, so they are left out. No process metrics.
NOT_PROBES = '{endpoint!~"/(readyz|livez|healthz|metrics)"}'
register_metrics(MetricsMapping(
    name="bentoml", request_histogram="bentoml_service_request_duration_seconds" + NOT_PROBES,
    requests_counter="bentoml_service_request_total" + NOT_PROBES, status_label="http_response_code", success_values=("200",),
    process_start=None))
# Ray Serve 2.60 (ray/serve/_private/proxy.py; scrapes/ray_serve.txt): latency in milliseconds and
# requests by route and status_code, from Ray's metrics agent (ray[default]) on its metrics export
# port, which Ray picks at random unless given (`ray start --metrics-export-port`). Its own routes
# (/-/healthz, /-/routes) are counted too, so they are left out. The process metrics there are
# Ray's own components', not the application's.
NOT_RAY_ROUTES = '{route!~"/-/.*"}'
register_metrics(MetricsMapping(
    name="ray_serve", request_histogram="ray_serve_http_request_latency_ms" + NOT_RAY_ROUTES, unit=1e-3,
    requests_counter="ray_serve_num_http_requests_total" + NOT_RAY_ROUTES, status_label="status_code", success_values=("200",),
    process_start=None, own_port=True))
