"""What the HTML report draws: the run over time, read from Prometheus with range queries at the
scrape step, plus the cold start's events, the stages, and the latency distributions. Collected
once, while Prometheus is up, into `timeline.json` beside result.json; the pages are drawn from
that file alone (sla/html), so a capacity search or a comparison draws each run's again later.
"""

from __future__ import annotations

import csv
import json
import math
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sla.analysis import promql
from sla.analysis.sources import SCRAPE_INTERVAL_S
from sla.loadgen.histograms import hdr_curve
from sla.manifest import write_json

if TYPE_CHECKING:
    from sla.analysis.analyzer import Analyzer

TIMELINE_NAME = "timeline.json"
RATE_WINDOW_S = 5  # each point's rate and percentiles are over the last 5 s (5 scrapes)
CURVE_PERCENTILES = (0.0, 50.0, 75.0, 90.0, 95.0, 99.0, 99.5, 99.9, 99.95, 99.99, 100.0)
LOCUST_COLUMNS = ("50%", "66%", "75%", "80%", "90%", "95%", "98%", "99%", "99.9%", "99.99%", "100%")


@dataclass
class Timeline:
    start: float
    end: float
    step: float
    times: list[float] = field(default_factory=list)
    series: dict[str, list[float | None]] = field(default_factory=dict)  # name -> a value per time (None: no data)
    phases: list[dict[str, Any]] = field(default_factory=list)  # name, kind, start, end, asked_rate
    limits: list[dict[str, Any]] = field(default_factory=list)  # latency limits to draw: phase, percentile, seconds, source
    stages: dict[str, dict[str, dict[str, float | None]]] = field(default_factory=dict)  # phase -> stage -> p50, p99
    cold_start: dict[str, float | None] = field(default_factory=dict)  # events, Unix seconds or durations
    cold_start_from: str = ""  # "server" (its gauges) or "client" (the gate's probe and the first request)
    curves: dict[str, dict[str, list[list[float]]]] = field(default_factory=dict)  # phase -> timing -> [[percentile, s]]
    locust: list[list[float]] = field(default_factory=list)  # Locust's whole-run percentiles: [[percentile, s]]
    server_name: str | None = None  # the server metrics mapping, if any

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, doc: dict[str, Any]) -> "Timeline":
        doc = {k: v for k, v in doc.items() if k != "schema_version"}
        return cls(**doc)

    def write(self, out_dir: Path) -> Path:
        return write_json(out_dir / TIMELINE_NAME, self.to_json())

    @classmethod
    def read(cls, out_dir: Path) -> "Timeline | None":
        path = Path(out_dir) / TIMELINE_NAME
        return cls.from_json(json.loads(path.read_text())) if path.is_file() else None


def _finite(value: Any) -> float | None:
    try:
        v = float(value)
    except (TypeError, ValueError):
        return None
    return v if math.isfinite(v) else None


def collect_timeline(run: "Analyzer", run_dir: Path | None) -> Timeline:
    """Everything the report draws, from the run's Prometheus and its files."""
    m = run.manifest
    windows = m.phases
    # whole seconds: prometheus-api-client rounds a range query's start and end to them
    start = float(math.floor(min((w.start for w in windows), default=m.started_at) - 2 * SCRAPE_INTERVAL_S))
    end = float(math.ceil(max((w.end for w in windows), default=m.ended_at) + SCRAPE_INTERVAL_S))
    step = SCRAPE_INTERVAL_S
    times = [start + i * step for i in range(int((end - start) // step) + 1)]
    t = Timeline(start, end, step, times, phases=[asdict(w) for w in windows], server_name=run.server.metrics.name if run.server.metrics else None)

    def add(name: str, expr: str, scale: float = 1.0, by: str | None = None) -> None:
        for s in run.reader.range(expr, start, end, step):
            key = f"{name}:{s['metric'].get(by, '')}" if by else name
            values: dict[float, float | None] = {round(float(ts), 3): _finite(v) for ts, v in s["values"]}
            t.series[key] = [(v * scale if (v := values.get(round(x, 3))) is not None else None) for x in times]

    rid, w = m.run_id, RATE_WINDOW_S
    for q in (0.5, 0.95, 0.99):
        add(f"p{q * 100:g}", promql.loadgen_quantile_over_time(rid, q, w, "actual"))
    if any(win.asked_rate is not None for win in windows):
        add("p99_intended", promql.loadgen_quantile_over_time(rid, 0.99, w, "intended"))
        add("lag_p99", promql.lag_quantile_over_time(rid, 0.99, w))
    mapping = run.server.metrics
    if mapping is not None and mapping.percentiles:
        add("server_p99", promql.server_quantile_over_time(mapping, 0.99, w), mapping.unit)
    add("rate", promql.loadgen_rate_over_time(rid, w), by="outcome")
    for name in ("users", "cpu_percent", "workers"):
        add(name, promql.loadgen_gauge_over_time(name))
    t.series["asked"] = [asked_at(windows, x) for x in times]

    if run.sla is not None:
        t.limits = [{"phase": o.phase, "percentile": o.percentile, "seconds": o.limit, "source": o.source}
                    for o in run.sla.objectives if o.kind_of.request_latency and o.percentile is not None and o.phase]
    if mapping is not None and mapping.stage_histogram:
        t.stages = stage_percentiles(run, windows, mapping.stages)
    t.cold_start, t.cold_start_from = cold_start_events(run)
    t.curves = {phase: {timing: hdr_curve(entry["encoded"], CURVE_PERCENTILES)
                        for timing, entry in timings.items() if entry.get("encoded")}
                for phase, timings in run.loadgen.hdr.items()}
    t.locust = locust_percentiles(run_dir / "locust_stats.csv") if run_dir else []
    return t


def stage_percentiles(run: "Analyzer", windows: list, stages: tuple[str, ...]) -> dict[str, dict[str, dict[str, float | None]]]:
    """Per phase (where the server's series are valid), each stage's P50 and P99."""
    out = {}
    for win in windows:
        if run.server.validity(win):
            continue
        per = {}
        for stage in stages:
            b = run.server.latency(win, stage=stage).buckets
            per[stage] = {"p50": _finite(b.quantile(0.5)) if b and b.total else None,
                          "p99": _finite(b.quantile(0.99)) if b and b.total else None}
        out[win.name] = per
    return out


def asked_at(windows: list, t: float) -> float | None:
    """The arrival rate asked at time t: a ramp's rate along its line, else its phase's rate."""
    for w in windows:
        if w.start <= t < w.end:
            if w.rate_from is not None and w.rate_to is not None and w.planned_duration > 0:
                return w.rate_from + (w.rate_to - w.rate_from) * min(1.0, (t - w.start) / w.planned_duration)
            return w.asked_rate
    return None


def cold_start_events(run: "Analyzer") -> tuple[dict[str, float | None], str]:
    """Process start, models loaded, warm-up, ready and the first request: from the server's own
    gauges where its metrics mapping has them, else from the gate's probe and the client."""
    m, server = run.manifest, run.server
    events: dict[str, float | None] = {
        "process_start": _finite(m.server.get("start")),
        "ready": _finite(m.server.get("ready")),
        "first_request_end": _finite(m.loadgen.get("first_request_end")),
        "first_request_seconds": _finite(m.loadgen.get("first_request_seconds")),
        "models_load_seconds": None,
        "warmup_seconds": None,
    }
    mapping = server.metrics
    source = "client"
    if mapping is not None and mapping.ready_timestamp and mapping.process_start:
        ready = run.reader.scalar(promql.gauge(mapping.ready_timestamp, run.final))
        started = run.reader.scalar(promql.gauge(mapping.process_start, run.final, promql.SERVER_JOB))
        if ready and started:
            events.update(process_start=started, ready=ready)
            source = "server"
        for key, gauge in (("models_load_seconds", mapping.model_load_gauge), ("warmup_seconds", mapping.warmup_gauge)):
            if gauge:
                events[key] = _finite(run.reader.scalar(promql.gauge_sum(gauge, run.final)))
    return events, source


def locust_percentiles(path: Path) -> list[list[float]]:
    """Locust's own percentiles of the whole run (its Aggregated row, milliseconds, rounded)."""
    if not path.is_file():
        return []
    with open(path, newline="") as fh:
        row = next((r for r in csv.DictReader(fh) if r.get("Name") == "Aggregated"), None)
    if row is None:
        return []
    out = []
    for column in LOCUST_COLUMNS:
        value = _finite(row.get(column))
        if value is not None:
            out.append([float(column.rstrip("%")), value / 1000.0])
    return out
