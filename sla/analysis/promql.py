"""PromQL for verdicts (pure strings). Every query is pinned with the `@` modifier.

Two ways of cutting a window, both without `increase()`'s extrapolation (Prometheus scales the
increase it sees between the first and last sample in the range out to the range's edges, so a
count read with increase() is not a whole number and can exceed what was sent):
- load-generator series carry a `phase` label and exist at 0 before the run: their value at the
  final scrape (`@ final`) is the exact count of that phase.
- server series are not phase-labelled: the phase is the difference of the cumulative counters at
  the executed window's edges (`x @ end - x @ start`), exact to one scrape interval.
Validity (scrape gaps, target down, restarts) uses range functions `[<D>s] @ <end>`.
"""

from __future__ import annotations

import math

from sla.targets.metrics import ServerMetrics

LOADGEN_JOB = "loadgen"
SERVER_JOB = "server"


def _at(t: float) -> str:
    return f"@ {t:.3f}"


def escape(value: str) -> str:
    """A PromQL string literal's content: backslash, double quote and newline escaped. Names are
    checked against a safe character set where they are read; this holds even if one is not."""
    return str(value).replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _labels(**labels: str) -> str:
    return "{" + ",".join(f'{k}="{escape(v)}"' for k, v in labels.items()) + "}"


def window_seconds(start: float, end: float) -> int:
    return max(1, int(math.ceil(end - start)))


def loadgen_bucket_series(run_id: str, phase: str, timing: str = "actual") -> str:
    """Unpinned: for a range query with explicit start and end (the recovery windows)."""
    sel = _labels(run_id=run_id, phase=phase, outcome="success", timing=timing)
    return f"sum by (le) (loadgen_request_duration_seconds_bucket{sel})"


def loadgen_buckets(run_id: str, phase: str, final: float, timing: str = "actual") -> str:
    sel = _labels(run_id=run_id, phase=phase, outcome="success", timing=timing)
    return f"sum by (le) (loadgen_request_duration_seconds_bucket{sel} {_at(final)})"


def loadgen_counts(run_id: str, phase: str, final: float) -> str:
    sel = _labels(run_id=run_id, phase=phase, timing="actual")
    return f"sum by (outcome) (loadgen_request_duration_seconds_count{sel} {_at(final)})"


def loadgen_total(run_id: str) -> str:
    return f"sum(loadgen_request_duration_seconds_count{_labels(run_id=run_id, timing='actual')})"


def sample_time(run_id: str, phase: str, at: float) -> str:
    """When the load-generator sample in effect at `at` was scraped."""
    sel = _labels(run_id=run_id, phase=phase, timing="intended")
    return f"max(timestamp(loadgen_request_duration_seconds_count{sel} {_at(at)}))"


def schedule_lag_buckets(run_id: str, phase: str, final: float) -> str:
    return f"sum by (le) (loadgen_schedule_lag_seconds_bucket{_labels(run_id=run_id, phase=phase)} {_at(final)})"


def arrivals(run_id: str, phase: str, final: float) -> str:
    return f"sum by (result) (loadgen_arrivals_total{_labels(run_id=run_id, phase=phase)} {_at(final)})"


def server_delta(metric: str, by: str, start: float, end: float, **labels: str) -> str:
    sel = _labels(**labels) if labels else ""
    return f"sum by ({by}) ({metric}{sel} {_at(end)}) - sum by ({by}) ({metric}{sel} {_at(start)})"


def server_buckets(m: ServerMetrics, start: float, end: float, stage: str | None = None) -> str:
    if stage is None:
        return server_delta(f"{m.request_histogram}_bucket", "le", start, end)
    return server_delta(f"{m.stage_histogram}_bucket", "le", start, end, **{m.stage_label: stage})


def server_codes(m: ServerMetrics, start: float, end: float) -> str:
    return server_delta(m.requests_counter, m.status_label, start, end)


def gauge(metric: str, at: float, job: str | None = None) -> str:
    sel = _labels(job=job) if job else ""
    return f"max({metric}{sel} {_at(at)})"


def time_to_ready(m: ServerMetrics, at: float) -> str:
    return f"{gauge(m.ready_timestamp, at)} - {gauge(m.process_start, at, SERVER_JOB)}"


def scrape_samples(job: str, start: float, end: float) -> str:
    return f"min(count_over_time(up{_labels(job=job)}[{window_seconds(start, end)}s] {_at(end)}))"


def scrape_down(job: str, start: float, end: float) -> str:
    return f"min(min_over_time(up{_labels(job=job)}[{window_seconds(start, end)}s] {_at(end)}))"


def restarts(metric: str, start: float, end: float, **labels: str) -> str:
    sel = _labels(**labels) if labels else ""
    return f"sum(resets({metric}{sel}[{window_seconds(start, end)}s] {_at(end)}))"


def quantile_of(buckets_query: str, percentile: float) -> str:
    """The equivalent histogram_quantile expression, shown beside the exact fraction."""
    return f"histogram_quantile({percentile / 100:g}, {buckets_query})"
