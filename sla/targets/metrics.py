"""Server metrics mappings: where a target's server-side series are and what they are called.

The analyzer builds its server queries from a mapping, never from names of its own, so a stack
with other metric names (KServe, MLServer, Triton, ...) is one more mapping. A target API holds its
mapping (`TargetApi.metrics`, in the API's module: the reference server's names live in
sla/targets/reference.py); an API whose stack exposes nothing (PaddleX basic serving, PaddleHub)
holds none, and SLA objectives with `source: server` are then refused at validation.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ServerMetrics:
    name: str
    request_histogram: str  # request latency histogram (without _bucket/_count)
    requests_counter: str  # answers by status
    status_label: str  # the label of requests_counter that carries the status
    success_values: tuple[str, ...]  # its values that count as success
    stage_histogram: str | None = None  # per-stage latency histogram, labelled by stage_label
    stage_label: str = "stage"
    stages: tuple[str, ...] = ()
    ready_timestamp: str | None = None  # gauge: Unix time the server turned ready (0 before)
    process_start: str = "process_start_time_seconds"
    first_request_gauge: str | None = None  # gauge: duration of the first request after start
    path: str = "/metrics"
