"""`sla capacity`: the highest arrival rate one replica takes while meeting the SLA.

Each step is an `sla run` (the one orchestration path) of a scenario derived from the user's
(Scenario.derive): its target, payloads and request settings, a short warm-up, then one
`arrival_rate` phase `step` at the step's rate, judged by the user's SLA objectives for one phase
(step_sla). Both are objects handed to the gate, which writes them into the step's run directory.
From a start rate that passes, rates go up by `factor` until a step does not pass; from one that
fails, they go down, halving, until a step passes (or the floor: `min_rate`, or a rate whose
longest step cannot gather the requests the SLA's claims need). Then a binary search (geometric)
refines between the last passing and the first failing rate until they are within `resolution`.
A step counts only when it passes and its measurement is stable (the last three windows within
10 % on throughput and on P99, or P99s that their requests cannot tell apart: analyzer.stable);
an unstable step is run once more, twice as long, and otherwise
reported UNSTABLE (not passing). An INCONCLUSIVE step is neither a pass nor a failure: it is run
once more, twice as long, and INCONCLUSIVE again ends the search, saying so. No step starts that
would end past `max_time_s`. Why the search ended is reported (CapacityResult.ended).
"""

from __future__ import annotations

import math
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TextIO

import yaml

from sla.tables import markdown_table, ms
from sla.analysis.analyzer import STABLE_WINDOWS, WINDOW_MIN_REQUESTS, WINDOW_MIN_S
from sla.analysis.verdict import INCONCLUSIVE, PASS
from sla.errors import SlaError
from sla.gate import RunOptions, run_gate_once_more_on_failure
from sla.html.pages import write_capacity_page
from sla.manifest import json_value, new_run_id, write_json
from sla.progress import SeriesProgress
from sla.inputs import Inputs, load_inputs
from sla.slafile import SlaSpec, derived_sla
from sla.units import format_duration

STEP_PHASE = "step"
MIN_STEP_S, MAX_STEP_S = 15.0, 300.0
STEP_OVERHEAD_S = 15.0  # a step's start and analysis beyond its phases (the first estimate for --max-time)
UNSTABLE = "UNSTABLE"


@dataclass
class CapacityOptions:
    scenario: Path
    sla: Path
    phase: str | None = None  # which phase of the SLA file holds the objectives (default: its only one)
    target_peak: float | None = None  # requests/s the service must take at peak
    headroom: float = 0.30  # share of each replica's capacity kept free
    start_rate: float = 2.0
    factor: float = 1.5
    resolution: float = 0.10  # stop refining when the bracket (first failing / last passing) is this narrow
    max_steps: int = 16
    min_rate: float = 0.1  # the floor of a search down: a rate this low failing ends it
    max_time_s: float | None = None  # no step starts that would end past this (None: no bound)
    warmup_s: float = 10.0  # each step's warm-up at 2 users (0: none)
    out: Path = Path("runs")
    prometheus: str | None = None


@dataclass
class Step:
    asked: float
    achieved: float | None
    p50: float | None
    p99: float | None
    error_rate: float | None
    verdict: str
    stable: bool
    run_dir: str
    duration: float
    note: str = ""  # e.g. run again after a failure to run
    direction: str = ""  # start, up (the start passed), down (the start failed), refine (between the two), again (longer)
    why: str = ""  # an INCONCLUSIVE step: what its verdict lacked
    took: float = 0.0  # seconds the step took, start to verdict (warm-up and analysis included)

    @property
    def passed(self) -> bool:
        return self.verdict == PASS and self.stable


@dataclass
class Bracket:
    """What the steps so far tell: the highest passing rate and the lowest failing one above it."""

    last_pass: float | None = None
    first_fail: float | None = None


@dataclass
class CapacityResult:
    steps: list[Step] = field(default_factory=list)
    capacity: float | None = None  # highest passing asked rate
    first_failing: float | None = None
    knee: float | None = None
    per_replica_target: float | None = None
    replicas: int | None = None
    ended: str = ""  # why the search ended
    refined: bool = False  # the bracket was narrowed to the resolution
    floor: bool = False  # every rate tried failed, down to the floor: no rate meets the SLA


def step_sla(inputs: Inputs, phase: str | None) -> SlaSpec:
    """What each step must meet: the objectives of one phase of the SLA, on the step's phase (its
    at_rate, baselines and throughput floor left out: a step's rate is the search's)."""
    sla, scenario = inputs.sla, inputs.scenario
    phases = sla.doc.get("phases")
    if not isinstance(phases, dict) or not phases:
        raise SlaError(f"{sla.path}: phases: capacity needs the objectives of one phase (latency, error_rate, ...)")
    name = phase or (next(iter(phases)) if len(phases) == 1 else None)
    if name is None or name not in phases:
        raise SlaError(f"{sla.path}: pick the phase whose objectives each step must meet with --phase; its phases: {', '.join(phases)}")
    objectives = {k: v for k, v in phases[name].items() if k not in ("at_rate", "baseline", "throughput")}
    doc = {"name": f"{sla.name}-per-step", "phases": {STEP_PHASE: objectives},
           **({"generator": sla.doc["generator"]} if "generator" in sla.doc else {})}
    return derived_sla(doc, sla.path, ["warmup", STEP_PHASE], f"{scenario.name}-capacity", scenario.target.api_name,
                       scenario.target.metrics, scenario.accuracy_problem)


def step_duration(rate: float, need: int) -> float:
    window = max(WINDOW_MIN_S, WINDOW_MIN_REQUESTS / rate)
    return min(MAX_STEP_S, max(MIN_STEP_S, 1.25 * need / rate, STABLE_WINDOWS * window + window))


def requests_needed(sla: SlaSpec) -> int:
    """Requests a step needs for the SLA's claims to be decidable with none over the limit."""
    return max([100, *(o.kind_of.needs(o) for o in sla.objectives)])


class CapacitySearch:
    def __init__(self, opts: CapacityOptions, out: TextIO | None = None) -> None:
        self.opts = opts
        self.out = out = out or sys.stdout
        inputs = load_inputs(opts.scenario, opts.sla)
        self.scenario, self.sla = inputs.scenario, step_sla(inputs, opts.phase)
        self.dir = opts.out / new_run_id(f"capacity-{self.scenario.name}")
        self.dir.mkdir(parents=True, exist_ok=True)
        self.need = requests_needed(self.sla)
        self.result = CapacityResult()
        self.progress = SeriesProgress("capacity step", out)
        self.bracket = Bracket()

    def steps_left(self) -> int | None:
        """Refinement steps still expected after the one starting (None: no rate has failed yet)."""
        last_pass, first_fail = self.bracket.last_pass, self.bracket.first_fail
        if last_pass is None or first_fail is None:
            return None
        ratio = first_fail / last_pass
        if ratio <= 1 + self.opts.resolution:
            return 0
        halvings = math.ceil(math.log2(math.log(ratio) / math.log(1 + self.opts.resolution)))
        return max(0, min(halvings - 1, self.opts.max_steps - len(self.result.steps) - 1))

    def run_step(self, rate: float, scale: float = 1.0, direction: str = "") -> Step:
        duration = round(step_duration(rate, self.need) * scale)
        self._may_start(rate, duration)
        index = len(self.result.steps) + 1
        warmup = [{"name": "warmup", "kind": "users", "duration": f"{self.opts.warmup_s:g}s", "users": 2}] if self.opts.warmup_s else []
        scenario = self.scenario.derive(f"{self.scenario.name}-capacity", [*warmup, {
            "name": STEP_PHASE, "kind": "arrival_rate", "duration": f"{duration}s", "rate": f"{rate:.4g}/s", "connections": 64,
            "max_in_flight": 1024}])
        self.progress.begin(index, None, f"{rate:.3g}/s for {duration} s, {direction or 'a step'}{self._time_left()}",
                            self.steps_left())
        outcome, note = run_gate_once_more_on_failure(RunOptions(
            scenario=self.opts.scenario, sla=self.opts.sla, prometheus=self.opts.prometheus, out=self.dir / "steps",
            run_id=f"step{index:02d}-{rate:.4g}", inputs=Inputs(scenario, self.sla)), self.out)
        took = self.progress.end()
        s = outcome.analysis.phases.get(STEP_PHASE)
        stable = bool(s and s.stable)
        verdict = outcome.analysis.verdict if stable or outcome.analysis.verdict != PASS else UNSTABLE
        achieved, p50, p99, error_rate = (s.achieved_rate, s.p50, s.p99, s.error_rate) if s else (None, None, None, None)
        why = next((f"{x.id}: {x.detail}" for x in outcome.analysis.results if x.verdict == INCONCLUSIVE), "")
        step = Step(rate, achieved, p50, p99, error_rate, verdict, stable, str(outcome.run_dir.resolve()), duration, note, direction,
                    why if verdict == INCONCLUSIVE else "", took)
        self.result.steps.append(step)
        return step

    def _may_start(self, rate: float, duration: float) -> None:
        """Stop before a step past --max-steps, or one that would end past --max-time."""
        o, done = self.opts, len(self.result.steps)
        if done >= o.max_steps:
            raise SearchEnded(f"--max-steps {o.max_steps} reached")
        if o.max_time_s is not None:
            overhead = max([o.warmup_s + STEP_OVERHEAD_S, *(s.took - s.duration for s in self.result.steps)])
            if time.monotonic() - self.progress.started + duration + overhead > o.max_time_s:
                raise SearchEnded(f"--max-time {format_duration(o.max_time_s)} reached: the step at {rate:.3g}/s "
                                  f"({duration:.0f} s) would end past it")

    def _time_left(self) -> str:
        if self.opts.max_time_s is None:
            return ""
        return f"; {format_duration(max(0.0, self.opts.max_time_s - (time.monotonic() - self.progress.started)))} of --max-time left"

    def measure(self, rate: float, direction: str) -> bool:
        """Whether `rate` meets the SLA, kept in the bracket. A step UNSTABLE or INCONCLUSIVE is run
        once more, twice as long; INCONCLUSIVE again, the search cannot go on (SearchEnded)."""
        step = self.run_step(rate, 1.0, direction)
        if step.verdict in (UNSTABLE, INCONCLUSIVE):
            step = self.run_step(rate, 2.0, "again")
        if step.verdict == INCONCLUSIVE:
            raise SearchEnded(f"the step at {rate:.3g}/s was INCONCLUSIVE twice ({step.why}): neither a pass nor a failure")
        if step.passed:
            self.bracket.last_pass = rate
        else:
            self.bracket.first_fail = rate
        return step.passed

    def _floor(self, rate: float) -> str | None:
        """Why `rate` is below what a search down may try (None: it may)."""
        if rate < self.opts.min_rate:
            return f"the floor --min-rate {self.opts.min_rate:.3g}/s"
        if rate * MAX_STEP_S < self.need:
            return (f"a rate whose step ({MAX_STEP_S:.0f} s at most) gathers fewer than the {self.need} requests "
                    "the SLA's claims need")
        return None

    def _find_bracket(self) -> None:
        """A passing and a failing rate: up from a start that passes, down (halving) from one that fails."""
        rate = self.opts.start_rate
        if self.measure(rate, "start"):
            while self.measure(rate := rate * self.opts.factor, "up"):
                pass
            return
        while (floor := self._floor(rate / 2)) is None:
            if self.measure(rate := rate / 2, "down"):
                return
        tried = ", ".join(f"{s.asked:.3g}/s" for s in self.result.steps)
        self.result.floor = True
        raise SearchEnded(f"no rate met the SLA: tried {tried}; the next, {rate / 2:.3g}/s, is below {floor}")

    def run(self) -> CapacityResult:
        o, r, b = self.opts, self.result, self.bracket
        try:
            self._find_bracket()
            assert b.last_pass is not None and b.first_fail is not None  # both found, or SearchEnded
            while b.first_fail / b.last_pass > 1 + o.resolution:
                self.measure(math.sqrt(b.last_pass * b.first_fail), "refine")
            r.refined, r.ended = True, f"the passing and failing rates are within --resolution {o.resolution:.0%}"
        except SearchEnded as stop:  # what the steps so far tell
            r.ended = str(stop)
        r.capacity, r.first_failing = b.last_pass, b.first_fail
        r.knee = knee(r.steps)
        if r.capacity is not None:
            r.per_replica_target = r.capacity * (1 - o.headroom)
            if o.target_peak:
                r.replicas = math.ceil(o.target_peak / r.per_replica_target)
        return r


class SearchEnded(Exception):
    """The search cannot go on (why: its message)."""


def knee(steps: list[Step]) -> float | None:
    """The last asked rate before the P99 more than doubles over the P99 at the lowest rate tested."""
    ordered = sorted((s.asked, s.p99) for s in steps if s.p99)
    if not ordered:
        return None
    (last, base), rest = ordered[0], ordered[1:]
    for asked, p99 in rest:
        if p99 > 2 * base:
            return last
        last = asked
    return last


def hpa_yaml(per_replica: float, replicas: int | None) -> str:
    doc = {
        "apiVersion": "autoscaling/v2",
        "kind": "HorizontalPodAutoscaler",
        "metadata": {"name": "ocr"},
        "spec": {
            "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "ocr"},
            "minReplicas": replicas or 1,
            "maxReplicas": max(2 * (replicas or 1), (replicas or 1) + 2),
            "metrics": [{"type": "Pods", "pods": {
                "metric": {"name": "requests_per_second"},  # the service's successful requests/s per pod, via prometheus-adapter
                "target": {"type": "AverageValue", "averageValue": f"{per_replica:.3g}"},
            }}],
        },
    }
    return yaml.safe_dump(doc, sort_keys=False)


def write_outputs(search: CapacitySearch) -> dict[str, Path]:
    r, o, d = search.result, search.opts, search.dir
    paths = {"json": d / "capacity.json", "md": d / "capacity.md"}
    write_json(paths["json"], {"options": json_value(asdict(o)), **json_value(asdict(r))})
    lines = ["## Capacity of one replica", "", *markdown_table(
        ("Direction", "Asked", "Achieved", "P50", "P99", "Error rate", "Stable", "Verdict", "Run"),
        ((s.direction, f"{s.asked:.3g}/s", f"{s.achieved or 0:.3g}/s", ms(s.p50), ms(s.p99), f"{(s.error_rate or 0) * 100:.2f}%",
          "yes" if s.stable else "no", f"**{s.verdict}**",
          f"`{Path(s.run_dir).name}`" + "".join(f" ({x})" for x in (s.note, s.why) if x))
         for s in r.steps)), "", f"The search ended: {r.ended}.", ""]
    if r.capacity is None:
        lines.append("No tested rate met the SLA." if r.floor else "No rate is known to meet the SLA.")
    else:
        bound = f" (the first failing rate was {r.first_failing:.3g}/s)" if r.first_failing else " (no failing rate found)"
        bound += "" if r.refined else f", a lower bound: not refined to --resolution {o.resolution:.0%}"
        lines.append(f"- Highest rate that meets the SLA: **{r.capacity:.3g}/s**{bound}.")
        lines.append(f"- Knee (last rate before P99 doubles over the lowest rate's): {r.knee:.3g}/s." if r.knee else "- Knee: -")
        lines.append(f"- Per-replica target with {o.headroom * 100:g}% headroom: {r.per_replica_target:.3g}/s.")
        if r.replicas is not None:
            lines.append(f"- Replicas for a peak of {o.target_peak:g}/s: **{r.replicas}**.")
        assert r.per_replica_target is not None  # set with the capacity
        hpa = hpa_yaml(r.per_replica_target, r.replicas)
        paths["hpa"] = d / "hpa.yaml"
        paths["hpa"].write_text(hpa)
        lines += ["", "Kubernetes HorizontalPodAutoscaler targeting that per-replica rate:", "", "```yaml", hpa.rstrip(), "```"]
    paths["md"].write_text("\n".join(lines) + "\n")
    limits = [(f"P{ob.percentile:g}", ob.limit) for ob in search.sla.objectives if ob.kind_of.request_latency and ob.percentile]
    paths["html"] = write_capacity_page(d, r, o, limits)
    return paths


def run_capacity(opts: CapacityOptions, out: TextIO | None = None) -> int:
    out = out or sys.stdout
    search = CapacitySearch(opts, out)
    result = search.run()
    paths = write_outputs(search)
    print("\n" + paths["md"].read_text(), file=out)
    print(f"capacity report: {paths['html']}, {paths['md']}, {paths['json']}", file=out)
    if result.capacity is not None:
        return 0
    return 1 if result.floor else 2  # 2: not known (a step INCONCLUSIVE twice, or --max-time/--max-steps before any pass)
