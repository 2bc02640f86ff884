"""Every shipped server metrics mapping's PromQL, run on a real Prometheus: each stack's series as
its server exposes them (names, labels, units, a series created at its first observation, other
endpoints' traffic under the same name), backfilled with promtool, then read through the
analyzer's server source. The latency, the mean and the outcomes of the window must come out."""

from __future__ import annotations

import math
import subprocess
import time
from dataclasses import replace

import pytest

from sla.prometheus.client import PromReader
from sla.analysis.sources import ServerSource
from sla.explain.evidence import CFS_PERIODS, CFS_THROTTLED, cfs_throttling
from sla.manifest import PhaseWindow, RunManifest
from sla.prometheus.server import start_prometheus
from sla.targets.metrics import MAPPINGS, MetricsMapping

pytestmark = pytest.mark.e2e

END = float(int(time.time()) - 3600)
START = END - 60
BOUNDS_S = (0.05, 0.1, 0.25, 0.5)
# cumulative counts per bound (+Inf last) at the window's start and end, and the sum in seconds
AT_START, AT_END = (1, 2, 3, 4, 4), (3, 7, 10, 12, 12)
SUM_START_S, SUM_END_S = 0.5, 2.5
WINDOW = tuple(e - s for s, e in zip(AT_START, AT_END))  # (2, 5, 7, 8, 8): a mean of 2.0 s / 8 = 0.25 s
OK_START, OK_END, FAILED_START, FAILED_END = AT_START[-1], AT_END[-1], 0, 3


# a probe's or admin route's value of each route label: traffic that a mapping's matcher leaves out
PROBES = {"path": "/v2/health/ready", "endpoint": "/readyz", "route": "/-/healthz"}


def _name_and_labels(spec: str) -> tuple[str, dict[str, str]]:
    """A mapping's series as a server would expose it: the matcher's value as its label (a regex
    matcher, or one that excludes, gets an inference route that it lets through)."""
    name, _, rest = spec.partition("{")
    labels = {}
    for part in filter(None, rest.rstrip("}").split(",")):
        op = next(o for o in ("!~", "=~", "!=", "=") if o in part)
        key, _, value = part.partition(op)
        labels[key.strip()] = value.strip('"') if op == "=" else "/v2/models/ocr/infer"
    return name, labels


def _probe(labels: dict[str, str]) -> dict[str, str] | None:
    """The same labels on a probe's route, if the series has a route label."""
    key = next((k for k in PROBES if k in labels), None)
    return {**labels, key: PROBES[key]} if key else None


def _sample(name: str, labels: dict[str, str], value: float, t: float) -> str:
    shown = ",".join(f'{k}="{v}"' for k, v in {**labels, "job": "server"}.items())
    return f"{name}{{{shown}}} {value:g} {t:.0f}"


def exposition(m: MetricsMapping, lazy: bool) -> dict[str, list[str]]:
    """OpenMetrics samples by family for one stack; `lazy`: its labelled series appear at the first
    observation, so there is none at the window's start."""
    families: dict[str, list[str]] = {}
    starts = [] if lazy else [(START - 10, 0)]
    points = starts + [(END, 1)]

    def add(name: str, labels: dict[str, str], start_value: float, end_value: float) -> None:
        for t, which in points:
            families.setdefault(name, []).append(_sample(name, labels, (start_value, end_value)[which], t))

    for spec, extra in ((m.request_histogram, {}), (m.stage_histogram, {m.stage_label: "det"})):
        if spec is None:
            continue
        name, labels = _name_and_labels(spec)
        labels.update(extra)
        for bound, a, b in zip((*BOUNDS_S, math.inf), AT_START, AT_END):
            le = "+Inf" if math.isinf(bound) else f"{bound / m.unit:g}"
            add(f"{name}_bucket", {**labels, "le": le}, a, b)
        add(f"{name}_count", labels, AT_START[-1], AT_END[-1])
        add(f"{name}_sum", labels, SUM_START_S / m.unit, SUM_END_S / m.unit)
        probe = _probe(labels)
        if probe:  # another endpoint under the same name: the matcher must leave it out
            add(f"{name}_count", probe, 100, 900)
            add(f"{name}_sum", probe, 1, 9)
            for bound in (*BOUNDS_S, math.inf):
                le = "+Inf" if math.isinf(bound) else f"{bound / m.unit:g}"
                add(f"{name}_bucket", {**probe, "le": le}, 100, 900)
    if m.duration_sum:
        add(_name_and_labels(m.duration_sum)[0], {}, SUM_START_S / m.unit, SUM_END_S / m.unit)
        if m.duration_count != m.requests_counter:  # Triton counts its requests with the success counter
            add(_name_and_labels(m.duration_count)[0], {}, AT_START[-1], AT_END[-1])
    if m.requests_counter and m.status_label:
        name, labels = _name_and_labels(m.requests_counter)
        add(name, {**labels, m.status_label: m.success_values[0]}, OK_START, OK_END)
        add(name, {**labels, m.status_label: "500"}, FAILED_START, FAILED_END)
        probe = _probe(labels)
        if probe:
            add(name, {**probe, m.status_label: m.success_values[0]}, 100, 900)
    elif m.requests_counter:
        add(_name_and_labels(m.requests_counter)[0], {"model": "ocr"}, OK_START, OK_END)
        if m.failures_counter:
            add(_name_and_labels(m.failures_counter)[0], {"model": "ocr"}, FAILED_START, FAILED_END)
    return families


CADVISOR = '{namespace="ocr",container="server"}'
# cAdvisor's CFS counters (kubelet job): two pods of the service's container, and a sidecar that
# was throttled all the time and must be left out. Over the window: 300 of 1200 periods, 25 %.
CFS = [({"pod": "ocr-a", "container": "server"}, (100, 700), (10, 310)),
       ({"pod": "ocr-b", "container": "server"}, (50, 650), (0, 0)),
       ({"pod": "ocr-a", "container": "sidecar"}, (0, 600), (0, 600))]


def cadvisor_families() -> dict[str, list[str]]:
    families: dict[str, list[str]] = {}
    for labels, periods, throttled in CFS:
        shown = ",".join(f'{k}="{v}"' for k, v in {"namespace": "ocr", **labels, "job": "kubelet"}.items())
        for name, values in ((CFS_PERIODS, periods), (CFS_THROTTLED, throttled)):
            families.setdefault(name, []).extend(f"{name}{{{shown}}} {v} {t:.0f}" for v, t in zip(values, (START - 10, END)))
    return families


@pytest.fixture(scope="module")
def prometheus(tmp_path_factory):
    """One Prometheus holding every stack's series (their names do not overlap)."""
    root = tmp_path_factory.mktemp("mappings")
    families: dict[str, list[str]] = {}
    for m in MAPPINGS.values():
        for name, lines in exposition(m, lazy=m.name == "kserve").items():
            families.setdefault(name, []).extend(lines)
    families.update(cadvisor_families())
    text = "".join(f"# TYPE {name} unknown\n" + "\n".join(lines) + "\n" for name, lines in families.items()) + "# EOF\n"
    (root / "series.om").write_text(text)
    data = root / "data"
    subprocess.run(["promtool", "tsdb", "create-blocks-from", "openmetrics", str(root / "series.om"), str(data)],
                   check=True, capture_output=True, timeout=120)
    process, url = start_prometheus(root / "prom", data_dir=data)
    try:
        reader = PromReader(url)
        reader.check_ready()
        yield reader
    finally:
        process.stop()


@pytest.mark.parametrize("name", sorted(MAPPINGS))
def test_each_mapping_reads_its_stacks_series(prometheus, name):
    m = MAPPINGS[name]
    manifest = RunManifest(run_id="r", scenario={}, target="http://127.0.0.1:1", target_api="v2")
    source = ServerSource(prometheus, manifest, END, m)
    w = PhaseWindow("steady", "users", START, END, END - START)
    expected_counts = AT_END if name == "kserve" else WINDOW  # kserve: the series was created inside the window
    expected_sum = SUM_END_S if name == "kserve" else SUM_END_S - SUM_START_S
    if m.percentiles:
        buckets = source.latency(w).buckets
        assert buckets is not None and buckets.bounds[:-1] == pytest.approx(BOUNDS_S) and buckets.counts == expected_counts
    if m.stage_histogram:
        assert source.latency(w, stage="det").buckets.counts == expected_counts
    if m.mean:
        mean = source.mean(w)
        assert mean.count == expected_counts[-1] and mean.value == pytest.approx(expected_sum / expected_counts[-1])
    if m.requests_counter:
        outcomes = source.outcomes(w)
        assert outcomes.success == OK_END - OK_START
        assert outcomes.failure == ((FAILED_END - FAILED_START) if m.failures else 0)


def test_cadvisors_cfs_counters_give_the_share_of_throttled_periods_of_the_picked_containers(prometheus):
    """A Kubernetes target's throttling, read where it happens (a --prometheus run whose Prometheus
    scrapes the kubelet): summed over the service's pods, its sidecar left out."""
    assert cfs_throttling(prometheus, CADVISOR, START, END) == pytest.approx(0.25)
    assert cfs_throttling(prometheus, '{namespace="other"}', START, END) is None  # no such series: nothing is claimed


def test_a_series_the_mapping_names_that_the_server_never_exposed_is_named_with_its_field(prometheus):
    """What a warning in the report is built from (sla/analysis/crosscheck.py: absent_series)."""
    manifest = RunManifest(run_id="r", scenario={}, target="http://127.0.0.1:1", target_api="v2")
    real = ServerSource(prometheus, manifest, END, replace(MAPPINGS["bentoml"], process_start=None))
    assert real.absent(START, END) == []
    typo = ServerSource(prometheus, manifest, END, replace(MAPPINGS["bentoml"], requests_counter="bentoml_service_requests_total"))
    assert typo.absent(START, END) == [("requests_counter", 'bentoml_service_requests_total{job="server"}')]
