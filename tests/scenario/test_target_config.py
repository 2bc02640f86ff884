"""`target` in a scenario: its API and the API's options, a command the gate starts, readiness;
and SLA objectives that the target's server metrics cannot support, refused at validation."""

from __future__ import annotations

from pathlib import Path

import pytest

from sla.inputs import load_inputs
from sla.scenario import load_scenario
from sla.validation import FileProblems

ROOT = Path(__file__).resolve().parents[2]
REST = "payloads: {mix: {small-plain-png: 1}}\nphases: [{name: steady, kind: users, duration: 5s, users: 1}]\n"


def scenario(tmp_path, target: str) -> Path:
    path = tmp_path / "s.yaml"
    path.write_text(f"name: s\ntarget: {target}\n{REST}")
    return path


def test_the_default_target_is_the_reference_server_as_before(tmp_path):
    target = load_scenario(scenario(tmp_path, "{server: {preset: tiny}}")).target
    assert target.api_name == "reference" and target.probe_path() == "/readyz" and target.probe_path(ready=False) == "/healthz"
    assert target.server == {"preset": "tiny"} and not target.command


def test_a_command_target_substitutes_nothing_at_load_and_resolves_cwd_against_the_scenario(tmp_path):
    target = load_scenario(scenario(tmp_path, "{api: paddlex, command: [srv, --port, '{port}'], cwd: sub, env: {A: 1}}")).target
    assert target.command == ("srv", "--port", "{port}") and target.cwd == (tmp_path / "sub").resolve()
    assert target.env == {"A": "1"} and target.probe_path() == "/health"


@pytest.mark.parametrize(("target", "fragment"), [
    ("{api: triton}", "target.api: 'triton' is not a target API; accepted: http, paddle_serving, paddlehub, paddlex, reference"),
    ("{api: paddlex, options: {module: x}}", "target.options.module: unknown key; accepted keys here: path, params"),
    ("{api: reference, options: {encoding: hex}}", "target.options.encoding"),
    ("{api: paddlex, server: {threads: 2}}", "target.server: options of the reference server"),
    ("{env: {A: 1}}", "target.env: applies to target.command, which is not set"),
    ("{command: srv}", "target.command: got 'srv', not a non-empty list"),
    ("{start_when: soon}", "target.start_when"),
    ("{ready_path: health}", "target.ready_path"),
])
def test_target_problems_name_the_key_and_what_is_accepted(tmp_path, target, fragment):
    with pytest.raises(FileProblems) as exc:
        load_scenario(scenario(tmp_path, target))
    assert fragment in str(exc.value)


def test_server_objectives_are_refused_for_a_target_without_server_metrics(tmp_path):
    path = scenario(tmp_path, "{api: paddlex, command: [srv]}")
    sla = tmp_path / "sla.yaml"
    sla.write_text("phases:\n  steady:\n    latency: {p99: {max: 1s, source: server}, p50: 1s}\n"
                   "    error_rate: {max: 1%, source: server}\n    stages: {det: {p99: 1s}}\n"
                   "cold_start: {time_to_ready: 30s, first_request: {max: 3s, source: server}}\n")
    with pytest.raises(FileProblems) as exc:
        load_inputs(path, sla)
    problems = exc.value.problems
    for key in ("phases.steady.latency.p99", "phases.steady.error_rate", "phases.steady.stages.det.p99", "cold_start.first_request"):
        assert any(p.startswith(f"{key}: source: server needs server metrics, and the paddlex target has none") for p in problems), key
    assert len(problems) == 4  # p50 (load generator) and time_to_ready (the gate's probe) are fine


def test_time_to_ready_comes_from_the_server_where_it_can_else_from_the_gates_probe(tmp_path):
    sla = tmp_path / "sla.yaml"
    sla.write_text("cold_start: {time_to_ready: 30s}\n")
    _, reference = load_inputs(scenario(tmp_path, "{}"), sla)
    _, paddlex = load_inputs(scenario(tmp_path, "{api: paddlex, command: [srv]}"), sla)
    assert reference.objectives[0].source == "server" and paddlex.objectives[0].source == "loadgen"


def test_the_shipped_paddlex_scenario_and_sla_agree():
    scenario_, sla = load_inputs(ROOT / "scenarios" / "paddlex.yaml", None)
    assert scenario_.target.api_name == "paddlex" and sla.name == "paddlex-ocr"
    assert {o.source for o in sla.objectives} == {"loadgen"}
