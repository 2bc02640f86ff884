"""Bad input gets a clear refusal (exit 3 and a message naming file, key and what is accepted),
never a traceback or a wrong verdict; the loaders are fuzzed with generated documents."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sla.analysis.promql import loadgen_buckets
from sla.cli import main
from sla.scenario import load_scenario
from sla.slafile import load_sla
from sla.validation import FileProblems

ROOT = Path(__file__).resolve().parents[2]
PAYLOADS = "payloads: {mix: {small-plain-png: 1}}\n"


def scenario_file(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "s.yaml"
    path.write_text(body)
    return path


@pytest.mark.parametrize("verb", ["plan", "run"])
def test_a_file_that_is_not_text_exits_3_with_a_message(tmp_path, capsys, verb):
    path = tmp_path / "binary.yaml"
    path.write_bytes(b"\x89PNG\r\n\x1a\n\x00\xff\xfe binary")
    assert main([verb, str(path)]) == 3
    err = capsys.readouterr().err
    assert str(path) in err and "not a text file" in err and "Traceback" not in err


def test_an_sla_file_that_is_not_text_exits_3(tmp_path, capsys):
    path = tmp_path / "sla.yaml"
    path.write_bytes(b"\xff\xfe\x00phases")
    assert main(["run", str(ROOT / "scenarios" / "smoke.yaml"), "--sla", str(path), "--out", str(tmp_path)]) == 3
    assert "not a text file" in capsys.readouterr().err


@pytest.mark.parametrize(("body", "fragment"), [
    ('name: ok\n' + PAYLOADS + 'phases: [{name: "a\\"}[5m]) or vector(1) #", kind: users, duration: 5s, users: 1}]\n',
     "phases[0].name: 'a\"}[5m]) or vector(1) #' is not a safe name"),
    ("name: ../../etc/x\n" + PAYLOADS + "phases: [{name: a, kind: users, duration: 5s, users: 1}]\n",
     "name: '../../etc/x' is not a safe name"),
    ("name: ok\n" + PAYLOADS + "phases: [{name: a, kind: users, duration: 99999999999h, users: 1}]\n",
     "phases[0].duration: '99999999999h' is over the most this harness plans (24h per phase)"),
    ("name: ok\n" + PAYLOADS + "phases: [{name: a, kind: users, duration: 5s, users: 1000000000}]\n",
     "phases[0].users: 1000000000 is over the most this harness plans (10,000 users)"),
    ("name: ok\n" + PAYLOADS + "phases: [{name: a, kind: arrival_rate, duration: 5s, rate: 1e9/s}]\n",
     "phases[0].rate: '1e9/s'"),
])
def test_unsafe_names_and_insane_bounds_are_refused(tmp_path, body, fragment):
    with pytest.raises(FileProblems) as exc:
        load_scenario(scenario_file(tmp_path, body))
    assert fragment in str(exc.value)


def test_an_unsafe_sla_phase_name_and_run_id_are_refused(tmp_path, capsys):
    sla = tmp_path / "sla.yaml"
    sla.write_text('phases:\n  "x\\"} or vector(1)": {latency: {p50: 1s}}\n')
    with pytest.raises(FileProblems, match="is not a safe phase name"):
        load_sla(sla)
    assert main(["run", str(ROOT / "scenarios" / "smoke.yaml"), "--run-id", "../escape", "--out", str(tmp_path)]) == 3
    assert "--run-id '../escape': not a safe name" in capsys.readouterr().err


def test_promql_label_values_are_escaped_anyway():
    query = loadgen_buckets('r"1', 'a"}[5m]) or vector(1) #', 1.0)
    assert 'phase="a\\"}[5m]) or vector(1) #"' in query and 'run_id="r\\"1"' in query


def test_a_user_file_with_an_unsafe_name_is_refused(tmp_path):
    from sla.payloads import make_payload

    (tmp_path / "bad name!.png").write_bytes(make_payload("small-plain-png").data)
    with pytest.raises(FileProblems, match="is not a safe request name"):
        load_scenario(scenario_file(tmp_path, "name: ok\npayloads: {files: '*.png'}\nphases: [{name: a, kind: users, duration: 5s, users: 1}]\n"))


# -- fuzzing: generated documents and bytes; only the harness's own error may escape ----------

KEYS = ["name", "phases", "payloads", "target", "request", "mix", "kind", "duration", "users", "rate", "to", "latency",
        "p99", "p50", "error_rate", "throughput", "cold_start", "time_to_ready", "api", "options", "command", "files",
        "manifest", "at_rate", "stages", "det", "source", "max", "generator", "baseline", "steady", "spawn_rate",
        "connections", "max_in_flight", "seed", "arrivals", "server", "preset", "threads", "small-plain-png", "users"]
SCALARS = st.one_of(st.none(), st.booleans(), st.integers(-10**12, 10**12), st.floats(allow_nan=True, allow_infinity=True),
                    st.text(max_size=12), st.sampled_from(["5s", "1h", "-3/s", "1e309s", "0", "ms", "10%", "users", "arrival_rate",
                                                            "steady", "p99", "http", "paddlex", "*.png", "/x", "{port}"]))
DOCS = st.recursive(SCALARS, lambda children: st.one_of(st.lists(children, max_size=4),
                                                       st.dictionaries(st.sampled_from(KEYS), children, max_size=6)), max_leaves=30)


def _loads_or_refuses(load, path: Path) -> None:
    try:
        load(path)
    except FileProblems:
        pass


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(doc=DOCS)
def test_fuzzed_scenarios_and_slas_load_or_are_refused_never_crash(tmp_path, doc):
    path = tmp_path / "fuzz.yaml"
    path.write_text(yaml.safe_dump(doc))
    _loads_or_refuses(load_scenario, path)
    _loads_or_refuses(load_sla, path)
    _loads_or_refuses(lambda p: load_sla(p, ["steady", "warmup"], "fuzz"), path)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.binary(max_size=200) | st.text(max_size=200).map(str.encode))
def test_fuzzed_bytes_load_or_are_refused_never_crash(tmp_path, data):
    path = tmp_path / "fuzz.yaml"
    path.write_bytes(data)
    _loads_or_refuses(load_scenario, path)
    _loads_or_refuses(load_sla, path)
