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

    def supports(self, kind: str, stage: str | None = None) -> str | None:
        """None when an objective of `kind` (with `stage`) can be read from these metrics; else why not."""
        if kind in ("shed_rate", "recovery"):
            return f"{kind} is read from the load generator only (source: loadgen)"
        if kind == "stage_latency":
            if self.stage_histogram is None:
                return f"the {self.name} metrics have no stage histogram"
            if stage not in self.stages:
                return f"the {self.name} metrics have no stage {stage!r}; their stages: {', '.join(self.stages)}"
        if kind == "time_to_ready" and self.ready_timestamp is None:
            return f"the {self.name} metrics have no ready timestamp"
        if kind == "first_request" and self.first_request_gauge is None:
            return f"the {self.name} metrics have no first-request gauge"
        return None
