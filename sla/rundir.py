"""A recorded run, opened again: its manifest (run.json), the SLA it is judged by, and a Prometheus
holding its data. One home for `sla check`, `sla explain`, `sla diff` and `sla alerts --replay`.
"""

from __future__ import annotations

import time
from contextlib import ExitStack
from dataclasses import replace
from pathlib import Path

from sla.prometheus.client import PromReader
from sla.analysis.promql import loadgen_total
from sla.errors import SlaError
from sla.manifest import MANIFEST_NAME, RunManifest
from sla.prometheus.server import start_prometheus
from sla.slafile import SlaSpec, load_sla
from sla.targets import API_REGISTRY, metrics_of_run


def read_manifest(run_dir: Path) -> RunManifest:
    try:
        return RunManifest.read(run_dir)
    except (OSError, ValueError, TypeError) as exc:
        raise SlaError(f"{run_dir}: not a run directory with a readable {MANIFEST_NAME} ({exc})") from None


def open_run(run_dir: Path, sla_path: Path | None = None) -> tuple[RunManifest, SlaSpec]:
    """A recorded run's manifest and the SLA it is judged by (its own, unless `sla_path`)."""
    manifest = read_manifest(run_dir)
    sla_file = sla_path or (Path(manifest.sla["path"]) if manifest.sla else None)
    if sla_file is None:
        raise SlaError(f"{run_dir}: the run names no SLA file; pass --sla FILE")
    if manifest.target_api not in API_REGISTRY:
        raise SlaError(f"{run_dir}: the run's target API {manifest.target_api!r} is unknown; known: {', '.join(API_REGISTRY)}")
    sla = load_sla(sla_file, {w.name: w.asked_rate for w in manifest.phases}, manifest.scenario.get("name", ""),
                   manifest.target_api, metrics_of_run(manifest))
    return manifest, sla


def run_prometheus(run_dir: Path, manifest: RunManifest, prometheus: str | None, stack: ExitStack) -> tuple[PromReader, RunManifest]:
    """A Prometheus holding a run's data: the given one, else one started on the run's kept data
    (stopped with `stack`), else the one the run used; and the manifest with its final scrape time
    (found in that Prometheus when the run did not record it, e.g. a Locust run started by hand)."""
    kept = run_dir / "prometheus" / "data"
    if prometheus:
        url = prometheus
    elif kept.is_dir():
        prom, url = start_prometheus(run_dir / "prometheus" / "check", data_dir=kept)  # no targets: kept data only
        stack.callback(prom.stop)
    elif manifest.prometheus_url:
        url = manifest.prometheus_url
    else:
        raise SlaError(f"{run_dir}: no kept Prometheus data and no Prometheus URL; pass --prometheus URL")
    reader = PromReader(url)
    reader.check_ready()
    if not manifest.loadgen.get("final_scrape_at"):
        manifest = replace(manifest, loadgen={**manifest.loadgen, "final_scrape_at": final_scrape_time(reader, manifest)})
    return reader, manifest


def final_scrape_time(reader: PromReader, manifest: RunManifest, after_s: float = 60.0) -> float | None:
    """The first moment at which Prometheus held (at least) the run's final request count (None if never).

    Verdict queries are pinned to this time: the load generator is still up then (it lingers after
    the run), whereas later its series go stale and its `up` drops to 0. Searched around the run's
    end, so it also works on a run judged later (`sla check`).
    """
    expected = manifest.loadgen.get("requests")
    start = max(manifest.started_at, manifest.ended_at - 30)
    end = min(time.time(), manifest.ended_at + after_s)
    series = reader.range(loadgen_total(manifest.run_id), start, end, 0.5)
    points = series[0]["values"] if series else []
    # at least: arrival-rate requests still in flight when the manifest was written end during the linger
    matching = [float(t) for t, v in points if expected is not None and float(v) >= float(expected)]
    return min(matching) if matching else None
