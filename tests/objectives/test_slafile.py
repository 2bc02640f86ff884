from pathlib import Path

import pytest

from sla.slafile import load_sla
from sla.validation import FileProblems

ROOT = Path(__file__).resolve().parents[2]
SMOKE_PHASES = ["warmup", "steady"]


@pytest.mark.parametrize("name", ["ocr.yaml", "strict.yaml", "lax.yaml"])
def test_shipped_sla_files_validate_against_the_smoke_scenario(name):
    import hashlib

    path = ROOT / "sla" / "thresholds" / name
    sla = load_sla(path, SMOKE_PHASES, "smoke")
    assert {o.phase for o in sla.objectives} <= {None, *SMOKE_PHASES}
    assert any(o.id == "steady.latency.p99" or o.id.startswith("steady.latency.") for o in sla.objectives)
    assert sla.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()  # the digest history compares by


def test_units_as_people_write_them_and_thresholds_become_buckets():
    sla = load_sla(ROOT / "sla" / "thresholds" / "strict.yaml", SMOKE_PHASES, "smoke")
    by_id = {o.id: o for o in sla.objectives}
    assert by_id["steady.latency.p99"].limit == pytest.approx(0.15)
    assert by_id["steady.latency.p99.9"].source == "server" and by_id["steady.latency.p99.9"].percentile == 99.9
    assert by_id["steady.throughput"].limit == 50 and by_id["steady.error_rate"].limit == pytest.approx(0.001)
    assert by_id["steady.stage.det.p99"].stage == "det"
    assert by_id["cold_start.time_to_ready"].limit == 1.0
    assert 0.15 in sla.thresholds_s() and 0.02 in sla.thresholds_s()


def test_every_problem_at_once_with_key_path_and_what_is_accepted(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text(
        "name: x\ncolour: red\nphases:\n  steddy: {latency: {p99: 1s}}\n  steady:\n"
        "    latency: {p99: fast, p100: 1s, p50: {max: 1s, source: gpu}}\n    throughput: {min: -3/s}\n"
        "    error_rate: 150%\n    stages: {gpu: {p99: 1s}}\ncold_start: {warm: 2s}\n"
    )
    with pytest.raises(FileProblems) as exc:
        load_sla(path, SMOKE_PHASES, "smoke")
    expected = [
        "colour: unknown key",
        "phases.steddy: the scenario smoke has no phase 'steddy'; its phases: warmup, steady",
        "phases.steady.latency.p99: 'fast' is not a duration",
        "phases.steady.latency.p100: 'p100' is not a percentile",
        "phases.steady.latency.p50.source: 'gpu' is not a source; accepted: loadgen, server",
        "phases.steady.throughput.min: '-3/s' must be positive",
        "phases.steady.error_rate: '150%' is outside 0% to 100%",
        "phases.steady.stages.gpu: unknown key",
        "cold_start.warm: unknown key",
    ]
    for fragment in expected:
        assert fragment in str(exc.value)
    assert len(exc.value.problems) == len(expected)


@pytest.mark.parametrize(("text", "fragment"), [("", "the file is empty"), ("a: [", "not valid YAML"), ("name: x\n", "no objectives"),
                                                 ("phases: {steady: {latency: {p99: 0.5}}}\n", None)])
def test_empty_non_yaml_and_objective_less_files_are_rejected(tmp_path, text, fragment):
    path = tmp_path / "s.yaml"
    path.write_text(text)
    if fragment is None:  # a bare number is seconds
        assert load_sla(path, SMOKE_PHASES).objectives[0].limit == 0.5
        return
    with pytest.raises(FileProblems, match=fragment):
        load_sla(path, SMOKE_PHASES)
