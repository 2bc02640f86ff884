"""Server metrics mappings: what each shipped one supports (objectives it cannot back are refused
at validation, with the reason), the table of stacks in docs/own-service.md agreeing with that, and a
scenario's own mapping (`target.metrics`) read and checked."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from sla.scenario import load_scenario
from sla.slafile import load_sla
from sla.targets.metrics import MAPPINGS, MetricsMapping
from sla.validation import FileProblems

ROOT = Path(__file__).resolve().parents[2]
# one objective read from the server, by what it needs of the mapping
SERVER_OBJECTIVES = {
    "percentiles": "phases:\n  steady:\n    latency: {p99: {max: 1s, source: server}}\n",
    "mean": "phases:\n  steady:\n    latency: {mean: {max: 1s, source: server}}\n",
    "throughput": "phases:\n  steady:\n    throughput: {min: 1/s, source: server}\n",
    "error rate": "phases:\n  steady:\n    error_rate: {max: 1%, source: server}\n",
    "stages": "phases:\n  steady:\n    stages: {det: {p99: 1s}}\n",
    "time to ready": "cold_start: {time_to_ready: {max: 30s, source: server}}\n",
    "first request": "cold_start: {first_request: {max: 3s, source: server}}\n",
}
SUPPORTED = {  # what each shipped mapping backs, from the stacks' metrics (SERVING_APIS.md)
    "reference": set(SERVER_OBJECTIVES),
    "kserve": {"percentiles", "mean"},
    "mlserver": {"percentiles", "mean", "throughput", "error rate"},
    "triton": {"mean", "throughput", "error rate"},
    "bentoml": {"percentiles", "mean", "throughput", "error rate"},
    "ray_serve": {"percentiles", "mean", "throughput", "error rate"},
}
REASONS = {  # what a refusal says, by objective
    "percentiles": ("no latency histogram, only a mean", "no request latency", ),
    "mean": ("no request latency",),
    "throughput": ("no request counter",),
    "error rate": ("count no failed requests",),
    "stages": ("no stage histogram",),
    "time to ready": ("no ready timestamp",),
    "first request": ("no first-request gauge",),
}


def supports(mapping: MetricsMapping, objective: str, tmp_path: Path) -> tuple[bool, str]:
    path = tmp_path / "sla.yaml"
    path.write_text(SERVER_OBJECTIVES[objective])
    try:
        load_sla(path, {"steady": None}, "s", "v2", mapping)
        return True, ""
    except FileProblems as exc:
        assert len(exc.problems) == 1, exc.problems
        return False, exc.problems[0]


def test_every_stack_the_issue_names_has_a_mapping_and_each_is_consistent():
    assert set(MAPPINGS) == set(SUPPORTED)
    assert all(m.problems() == [] for m in MAPPINGS.values())


@pytest.mark.parametrize("name", sorted(SUPPORTED))
def test_each_mapping_backs_what_its_stack_exposes_and_refuses_the_rest_with_the_reason(name, tmp_path):
    mapping = MAPPINGS[name]
    for objective in SERVER_OBJECTIVES:
        ok, why = supports(mapping, objective, tmp_path)
        assert ok == (objective in SUPPORTED[name]), (name, objective, why)
        if not ok:
            assert "source: server:" in why and f"the {name} metrics" in why, why
            assert any(reason in why for reason in REASONS[objective]), (objective, why)


def test_a_mean_only_stack_points_percentiles_to_the_load_generator(tmp_path):
    _, why = supports(MAPPINGS["triton"], "percentiles", tmp_path)
    assert "nv_inference_request_duration_us / nv_inference_request_success" in why and "source: loadgen" in why


def test_the_docs_table_of_stacks_says_what_the_mappings_support(tmp_path):
    """The table of docs/own-service.md (one row per mapping, a column per objective) agrees with the code."""
    readme = (ROOT / "docs" / "own-service.md").read_text()
    header = next(line for line in readme.splitlines() if line.startswith("| mapping |"))
    columns = [c.strip() for c in header.strip("|").split("|")]
    assert columns[1:-2] == list(SERVER_OBJECTIVES) and columns[-2] == "run here"
    for name in SUPPORTED:
        row = next(line for line in readme.splitlines() if line.startswith(f"| `{name}` |"))
        cells = [c.strip() for c in row.replace("\\|", "/").strip("|").split("|")][1:-1]
        # a stack with a saved scrape ran here: its row names the version (or this repo's server)
        assert (ROOT / "tests" / "targets" / "scrapes" / f"{name}.txt").exists() == (cells[-1] != "from documentation only"), name
        assert cells[-1] == "this repo's server" or re.search(r"\d+\.\d+", cells[-1]), (name, cells[-1])
        cells = cells[:-1]
        shown = {objective for objective, cell in zip(SERVER_OBJECTIVES, cells) if cell == "yes"}
        assert shown == {o for o in SERVER_OBJECTIVES if supports(MAPPINGS[name], o, tmp_path)[0]}, name


# -- a scenario's target.metrics ---------------------------------------------------------------

SCENARIO = """
name: s
target:
  api: v2
  command: [srv, "{{port}}"]
  metrics: {metrics}
payloads: {{mix: {{small-plain-png: 1}}}}
phases:
  - {{name: steady, kind: users, duration: 5s, users: 1}}
"""


def scenario(tmp_path: Path, metrics: str):
    path = tmp_path / "s.yaml"
    path.write_text(SCENARIO.format(metrics=metrics))
    return load_scenario(path)


def test_a_shipped_mapping_is_picked_by_name(tmp_path):
    assert scenario(tmp_path, "mlserver").target.metrics is MAPPINGS["mlserver"]


def test_a_stack_that_is_not_shipped_is_written_as_a_mapping(tmp_path):
    torchserve = ("{name: torchserve, duration_sum: ts_inference_latency_microseconds, duration_count: ts_inference_requests_total, "
                  "unit: us, requests_counter: ts_inference_requests_total, port: 8082}")
    m = scenario(tmp_path, torchserve).target.metrics
    assert (m.name, m.unit, m.port, m.percentiles, m.mean, m.failures) == ("torchserve", 1e-6, 8082, False, True, False)
    like = scenario(tmp_path, "{like: mlserver, port: 9100, request_histogram: 'rest_server_request_duration_seconds{path=\"/infer\"}'}")
    assert like.target.metrics.port == 9100 and like.target.metrics.status_label == "status_code"  # the rest from mlserver
    k8s = scenario(tmp_path, "{like: kserve, cadvisor: '{namespace=\"ocr\",container=\"kserve-container\"}'}")
    assert k8s.target.metrics.cadvisor == '{namespace="ocr",container="kserve-container"}'  # its throttling, read from cAdvisor


@pytest.mark.parametrize(("metrics", "fragment"), [
    ("prometheus", "'prometheus' is not a shipped server metrics mapping; shipped: kserve, mlserver"),
    ("{like: nope}", "target.metrics.like: 'nope' is not a shipped mapping"),
    ("{request_histogram: 'bad name'}", "request_histogram: 'bad name' is not a metric name"),
    ("{duration_sum: x_us}", "duration_sum and duration_count go together"),
    ("{requests_counter: x_total, status_label: code}", "status_label needs success_values"),
    ("{unit: hours}", "target.metrics.unit: got 'hours', not a unit (s, ms, us"),
    ("{port: http}", "target.metrics.port:"),
    ("{like: kserve, cadvisor: 'container=server'}", "cadvisor: 'container=server' is not label matchers such as"),
    ("{like: ray_serve}", "pass {metrics_port} to its command (for Ray: ray start --metrics-export-port {metrics_port})"),
    ("{queue_duration: q_us}", "they need duration_sum and duration_count"),
    ("{like: reference, process_start: null}", "ready_timestamp needs process_start"),
    ("{like: kserve, own_port: yes please}", "target.metrics.own_port: got 'yes please', not true or false"),
    ("{colour: blue}", "target.metrics.colour: unknown key; accepted keys here: like, name, request_histogram"),
])
def test_a_bad_mapping_is_refused_with_the_key_and_what_is_accepted(tmp_path, metrics, fragment):
    with pytest.raises(FileProblems) as exc:
        scenario(tmp_path, metrics)
    assert any(fragment in p for p in exc.value.problems), exc.value.problems


def test_mapping_round_trips_through_run_json():
    for m in MAPPINGS.values():
        assert MetricsMapping.from_json(m.to_json()) == m
