"""Every shipped server metrics mapping held against a scrape of its real stack serving this
project's OCR pipeline (tests/targets/scrapes/<mapping>.txt, saved from /metrics after a few
good requests, one the model rejected, and the stack's own probes; integrations/<stack>/).
Each series the mapping names exists there, with its type; its unit gives a plausible latency;
its outcome counters count the rejected request as the one failure; its matchers leave out the
probes that the stack counts under the same name."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from sla.targets.metrics import MAPPINGS, MetricsMapping

SCRAPES = Path(__file__).parent / "scrapes"
OPS = {"=": lambda v, want: v == want, "!=": lambda v, want: v != want,
       "=~": lambda v, want: re.fullmatch(want, v) is not None, "!~": lambda v, want: re.fullmatch(want, v) is None}
HISTOGRAM_FIELDS = ("request_histogram", "stage_histogram", "queue_histogram", "batch_histogram")
COUNTER_FIELDS = ("duration_sum", "duration_count", "requests_counter", "failures_counter", "queue_duration") + tuple(
    f"compute_durations[{i}]" for i in range(8))
PROBES = re.compile(r"/(readyz|livez|healthz|metrics|-/.*|v2/health/.*|v2/models/[^/]+/ready|v2/models/\{model_name\}/ready)$")


SAMPLE = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)")
LABEL = re.compile(r'(\w+)="((?:[^"\\]|\\.)*)"')


def scrape(name: str) -> tuple[dict[str, str], list[tuple[str, dict[str, str], float]]]:
    """The families' types, and every sample (name, labels, value), named as exposed: as Prometheus
    stores them (prometheus_client's parser would add _total to a counter that has none, as Triton's)."""
    types, samples = {}, []
    for line in (SCRAPES / f"{name}.txt").read_text().splitlines():
        if line.startswith("# TYPE "):
            _, _, family, kind = line.split(maxsplit=3)
            types[family] = kind
        elif line and not line.startswith("#"):
            got = SAMPLE.match(line)
            assert got, line
            samples.append((got[1], dict(LABEL.findall(got[2] or "")), float(got[3])))
    return types, samples


def matching(samples, spec: str, suffix: str = "") -> list[tuple[str, dict[str, str], float]]:
    name, _, rest = spec.partition("{")
    matchers = re.findall(r'(\w+)\s*(=~|!=|!~|=)\s*"((?:[^"\\]|\\.)*)"', rest)
    return [s for s in samples if s[0] == name + suffix and all(OPS[op](s[1].get(k, ""), v) for k, v, op in
                                                                ((k, v, op) for k, op, v in matchers))]


def total(samples, spec: str, suffix: str = "") -> float:
    return sum(v for _, _, v in matching(samples, spec, suffix))


@pytest.mark.parametrize("name", sorted(MAPPINGS))
def test_every_series_a_mapping_names_is_in_its_stacks_scrape_with_its_type(name):
    m: MetricsMapping = MAPPINGS[name]
    types, samples = scrape(name)
    for field, spec in m.series().items():
        family = spec.partition("{")[0]
        if field in HISTOGRAM_FIELDS:
            assert types.get(family) == "histogram", (field, spec, types.get(family))
            for suffix in ("_bucket", "_sum", "_count"):
                assert matching(samples, spec, suffix), f"{name}.{field}: no {family}{suffix} sample matches {spec}"
        else:
            assert matching(samples, spec), f"{name}.{field}: no sample matches {spec}"
            kind = types.get(family) or types.get(family.removesuffix("_total"))  # prometheus_client types the family without _total
            assert kind in ("counter", "gauge", "info"), (field, spec, kind)
            assert (kind == "counter") == (field in COUNTER_FIELDS), (field, spec, kind)


@pytest.mark.parametrize("name", sorted(MAPPINGS))
def test_a_mapping_without_a_start_time_gauge_is_one_whose_stack_has_none_of_its_own(name):
    m = MAPPINGS[name]
    _, samples = scrape(name)
    has_gauge = bool(matching(samples, "process_start_time_seconds"))
    if m.process_start:
        assert has_gauge
    else:  # none (Triton, BentoML), or Ray's components' own (not the application's): the gate's probe stands in
        assert m.name == "ray_serve" or not has_gauge


@pytest.mark.parametrize("name", sorted(MAPPINGS))
def test_the_unit_turns_the_scraped_sums_into_the_latencies_these_requests_took(name):
    m = MAPPINGS[name]
    _, samples = scrape(name)
    if m.request_histogram:
        seconds, count = total(samples, m.request_histogram, "_sum") * m.unit, total(samples, m.request_histogram, "_count")
    else:
        seconds, count = total(samples, m.duration_sum) * m.unit, total(samples, m.duration_count)
    assert count >= 2 and 0.003 < seconds / count < 2.0, (name, seconds, count)  # a few OCR requests of the tiny preset
    if m.queue_duration:  # the mean splits into queue and compute, which add up to at most the whole
        parts = [total(samples, c) * m.unit for c in (m.queue_duration, *m.compute_durations)]
        assert 0.8 * seconds <= sum(parts) <= seconds * 1.0001, (parts, seconds)


@pytest.mark.parametrize("name", sorted(n for n, m in MAPPINGS.items() if m.failures))
def test_the_outcome_counters_count_the_rejected_request_as_the_one_failure(name):
    m = MAPPINGS[name]
    _, samples = scrape(name)
    if m.status_label:
        rows = matching(samples, m.requests_counter)
        ok = sum(v for _, labels, v in rows if labels[m.status_label] in m.success_values)
        failed = sum(v for _, labels, v in rows if labels[m.status_label] not in m.success_values)
    else:
        ok, failed = total(samples, m.requests_counter), total(samples, m.failures_counter)
    assert ok >= 2 and failed == 1, (name, ok, failed)


@pytest.mark.parametrize("name", ["mlserver", "bentoml", "ray_serve"])
def test_the_matchers_leave_out_the_probes_the_stack_counts_under_the_same_name(name):
    m = MAPPINGS[name]
    _, samples = scrape(name)
    family = m.requests_counter.partition("{")[0]
    route = next(k for k in ("path", "endpoint", "route") if k in m.requests_counter)
    everything = [s for s in samples if s[0] == family]
    probes = [s for s in everything if PROBES.search(s[1][route]) and s[2] > 0]
    assert probes, f"the {name} scrape has no probe traffic to leave out"
    kept = matching(samples, m.requests_counter)
    assert kept and not any(PROBES.search(labels[route]) for _, labels, _ in kept)


def test_triton_counts_no_failure_for_a_request_it_refuses_before_the_model():
    """The scrape was taken after one request the model raised on (500) and one of a wrong shape
    (400): only the first is counted, and the mapping says what it cannot see."""
    _, samples = scrape("triton")
    failures = {labels["reason"]: v for _, labels, v in matching(samples, MAPPINGS["triton"].failures_counter)}
    assert failures == {"BACKEND": 1, "OTHER": 0, "CANCELED": 0, "REJECTED": 0}
    assert "400" in MAPPINGS["triton"].uncounted and "before the model runs" in MAPPINGS["triton"].uncounted
