"""The logic of a series of runs, on fake step runners (pure: no run is started): the capacity
search's bracketing, refinement, knee and unstable steps, and compare's choice of the best."""

from __future__ import annotations

import io
import math

import pytest
from pathlib import Path

from sla.analysis.verdict import FAIL, INCONCLUSIVE, PASS
from sla.capacity import UNSTABLE, CapacityOptions, CapacitySearch, Step
from sla.compare import Row, mark_best

ROOT = Path(__file__).resolve().parents[2]


class ModelSearch(CapacitySearch):
    """A search whose steps come from a model of a service with a known capacity, not from runs."""

    def __init__(self, opts: CapacityOptions, capacity: float, knee_at: float, unstable_once: set[float] = frozenset(),
                 inconclusive: dict[float, int] | None = None, step_s: float = 0.0) -> None:
        super().__init__(opts, out=io.StringIO())
        self.capacity, self.knee_at, self.unstable_once = capacity, knee_at, set(unstable_once)
        self.inconclusive = dict(inconclusive or {})  # rate -> how many of its steps end INCONCLUSIVE
        self.step_s = step_s  # how long each step takes (the clock of --max-time moves by it)
        self.calls: list[tuple[float, float]] = []

    def run_step(self, rate: float, scale: float = 1.0, direction: str = "") -> Step:
        self._may_start(rate, 10.0 * scale)
        self.calls.append((rate, scale))
        self.progress.started -= self.step_s
        p99 = 0.1 if rate <= self.knee_at else 0.5
        unstable = rate in self.unstable_once and scale == 1.0
        inconclusive = self.inconclusive.get(rate, 0) > 0
        self.inconclusive[rate] = self.inconclusive.get(rate, 0) - 1
        verdict = UNSTABLE if unstable else INCONCLUSIVE if inconclusive else PASS if rate <= self.capacity else FAIL
        step = Step(rate, rate, 0.05, p99, 0.0, verdict, not unstable, "", 10.0 * scale, direction=direction,
                    why="steady.latency.p99: 40 requests, too few" if inconclusive else "", took=10.0 * scale + 20.0)
        self.result.steps.append(step)
        return step


def options(tmp_path: Path, **kw) -> CapacityOptions:
    return CapacityOptions(ROOT / "scenarios/smoke.yaml", ROOT / "sla/thresholds/smoke.yaml", out=tmp_path, **kw)


def test_the_search_brackets_then_refines_to_its_resolution(tmp_path):
    search = ModelSearch(options(tmp_path, start_rate=2.0, factor=1.5, resolution=0.10), capacity=50.0, knee_at=1000.0)
    r = search.run()
    assert r.capacity <= 50.0 < r.first_failing and r.first_failing / r.capacity <= 1.10
    rates = [rate for rate, _ in search.calls]
    assert rates[:3] == [2.0, 3.0, 4.5]  # bracketing: each passing rate times the factor
    assert max(rates) < 50.0 * 1.5 + 1e-9  # the first failing rate ends the bracketing


def test_the_knee_is_the_last_rate_before_p99_more_than_doubles(tmp_path):
    r = ModelSearch(options(tmp_path, start_rate=2.0), capacity=50.0, knee_at=20.0).run()
    assert r.knee is not None and r.knee <= 20.0 and all(s.p99 == 0.1 for s in r.steps if s.asked <= r.knee)


def test_an_unstable_step_is_run_again_twice_as_long_once(tmp_path):
    search = ModelSearch(options(tmp_path, start_rate=2.0), capacity=50.0, knee_at=1000.0, unstable_once={4.5})
    search.run()
    assert (4.5, 1.0) in search.calls and (4.5, 2.0) in search.calls
    assert search.calls.index((4.5, 2.0)) == search.calls.index((4.5, 1.0)) + 1


def test_replicas_for_a_peak_keep_the_headroom(tmp_path):
    r = ModelSearch(options(tmp_path, target_peak=200.0, headroom=0.3), capacity=50.0, knee_at=1000.0).run()
    assert r.per_replica_target == r.capacity * 0.7 and r.replicas == math.ceil(200.0 / (r.capacity * 0.7))


@pytest.mark.parametrize("start", [200.0, 5.0, 50.0, 49.0])
def test_from_any_start_rate_the_search_finds_the_capacity_within_its_resolution(tmp_path, start):
    """Up from a start that passes, down (halving) from one that fails, then refined between."""
    search = ModelSearch(options(tmp_path, start_rate=start, resolution=0.10), capacity=50.0, knee_at=1000.0)
    r = search.run()
    assert 50.0 / 1.10 <= r.capacity <= 50.0 < r.first_failing <= r.capacity * 1.10 + 1e-9 and r.refined
    directions = [s.direction for s in r.steps]
    assert directions[0] == "start" and set(directions[1:]) <= {"up", "down", "refine"}
    if start > 50.0:
        assert [s.asked for s in r.steps if s.direction == "down"][:2] == [start / 2, start / 4]
        assert "up" not in directions
    else:
        assert "down" not in directions
    assert "within --resolution 10%" in r.ended


def test_a_sla_nothing_meets_ends_at_the_floor_naming_the_rates_tried(tmp_path):
    search = ModelSearch(options(tmp_path, start_rate=8.0, min_rate=1.0), capacity=0.0, knee_at=1000.0)
    r = search.run()
    assert r.capacity is None and r.floor and r.first_failing == 1.0
    assert [s.asked for s in r.steps] == [8.0, 4.0, 2.0, 1.0]
    assert r.ended == "no rate met the SLA: tried 8/s, 4/s, 2/s, 1/s; the next, 0.5/s, is below the floor --min-rate 1/s"


def test_below_the_rate_whose_step_cannot_gather_the_claims_requests_the_search_stops(tmp_path):
    search = ModelSearch(options(tmp_path, start_rate=2.0), capacity=0.0, knee_at=1000.0)
    r = search.run()
    lowest = min(s.asked for s in r.steps)
    assert r.floor and lowest * 300 >= search.need > lowest / 2 * 300
    assert f"gathers fewer than the {search.need} requests the SLA's claims need" in r.ended


def test_an_inconclusive_step_is_run_again_longer_and_twice_inconclusive_ends_the_search_saying_so(tmp_path):
    once = ModelSearch(options(tmp_path, start_rate=20.0), capacity=50.0, knee_at=1000.0, inconclusive={30.0: 1})
    r = once.run()
    assert (30.0, 1.0) in once.calls and (30.0, 2.0) in once.calls and r.refined and 45.0 <= r.capacity <= 50.0
    twice = ModelSearch(options(tmp_path, start_rate=20.0), capacity=50.0, knee_at=1000.0, inconclusive={30.0: 2})
    r = twice.run()
    assert not r.refined and r.capacity == 20.0 and r.first_failing is None and not r.floor
    assert r.ended == ("the step at 30/s was INCONCLUSIVE twice (steady.latency.p99: 40 requests, too few): "
                       "neither a pass nor a failure")


def test_the_search_stops_before_a_step_that_would_end_past_max_time(tmp_path):
    # each step: 10 s of load, the warm-up (10 s) and at least 15 s around it; the model's clock moves 35 s a step
    search = ModelSearch(options(tmp_path, start_rate=2.0, max_time_s=120.0), capacity=50.0, knee_at=1000.0, step_s=35.0)
    r = search.run()
    assert len(r.steps) == 3 and r.capacity == 4.5 and not r.refined
    assert r.ended.startswith("--max-time 2m reached: the step at 6.75/s (10 s) would end past it")


def row(verdict: str, throughput: float, p99: float | None) -> Row:
    return Row({"threads": throughput}, verdict, 0.05, p99, throughput, 0.0, 1.0, 0.1, "")


def test_compare_picks_the_passing_configuration_with_most_throughput_then_lowest_p99():
    rows = [row(FAIL, 30.0, 0.1), row(PASS, 10.0, 0.2), row(PASS, 12.0, 0.4), row(PASS, 12.0, 0.3), row(INCONCLUSIVE, 50.0, 0.1)]
    best = mark_best(rows)
    assert best is rows[3] and [r.best for r in rows] == [False, False, False, True, False]
    assert mark_best([row(FAIL, 30.0, 0.1)]) is None


@pytest.mark.parametrize(("verdicts", "code"), [({1: PASS, 2: FAIL}, 0), ({1: FAIL, 2: INCONCLUSIVE}, 1), ({1: INCONCLUSIVE, 2: INCONCLUSIVE}, 2)])
def test_compare_ends_with_0_when_a_configuration_passes_else_1_on_a_fail_else_2(tmp_path, monkeypatch, verdicts, code):
    import io

    import sla.compare as compare
    from sla.analysis.analyzer import Analysis, PhaseSummary

    def fake_run(opts, out):  # one configuration's run, without running it
        opts.out.mkdir(parents=True, exist_ok=True)  # as a run would
        threads = opts.server_options["threads"]
        summary = PhaseSummary(200, 10.0 * threads, 0.0, 0.0, 20.0, {"p50": 0.05, "p99": 0.2})
        analysis = Analysis(verdicts[threads], [], {"steady": summary}, [], {"time_to_ready": 2.0, "first_request": 0.05})
        return type("Outcome", (), {"analysis": analysis, "run_dir": tmp_path})(), ""

    monkeypatch.setattr(compare, "run_gate_once_more_on_failure", fake_run)
    assert compare.run_compare(ROOT / "scenarios/smoke.yaml", None, ["threads=1,2"], tmp_path, out=io.StringIO()) == code
    doc = __import__("json").loads(next(tmp_path.glob("*/compare.json")).read_text())
    assert [r["best"] for r in doc["rows"]] == [verdicts[1] == PASS, False]


def test_each_step_is_judged_by_one_phase_of_the_users_sla_without_its_rate_floor_or_baselines(tmp_path):
    """The step SLA: the chosen phase's objectives on the step's phase, validated against the
    target; at_rate, throughput and baseline (a step's rate is the search's) left out; written into
    the step's run directory it loads as the same SLA."""
    from sla.capacity import STEP_PHASE, step_sla
    from sla.errors import SlaError
    from sla.inputs import load_inputs
    from sla.slafile import load_sla

    (tmp_path / "sla.yaml").write_text(
        "name: two\nphases:\n  steady:\n    at_rate: 5/s\n    latency: {p99: 2s}\n    throughput: 4/s\n    error_rate: 1%\n"
        "    baseline: {p99: +10%}\n  ramp:\n    latency: {p50: 1s}\n")
    (tmp_path / "s.yaml").write_text(
        "name: two\npayloads: {mix: {small-plain-png: 1}}\nphases:\n  - {name: ramp, kind: users, duration: 5s, users: 1}\n"
        "  - {name: steady, kind: arrival_rate, duration: 20s, rate: 5/s}\n")
    inputs = load_inputs(tmp_path / "s.yaml", tmp_path / "sla.yaml")
    sla = step_sla(inputs, "steady")
    assert sla.derived and sla.name == "two-per-step" and sla.at_rate == {}
    assert [o.id for o in sla.objectives] == [f"{STEP_PHASE}.latency.p99", f"{STEP_PHASE}.error_rate"]
    (tmp_path / "run").mkdir()
    written = sla.written(tmp_path / "run" / "sla.yaml")
    assert load_sla(written.path, ["warmup", STEP_PHASE]).objectives == sla.objectives
    with pytest.raises(SlaError, match="pick the phase whose objectives each step must meet with --phase; its phases: steady, ramp"):
        step_sla(inputs, None)
