"""The load generator's state in one Locust process, and how it is built from the options.

One object per process (`Plugin` in plugin.py) holds it; the shape, the users, the dispatcher and
the metrics endpoint reach it with `state_of(environment)`.
"""

from __future__ import annotations

import logging
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sla.buckets import latency_buckets
from sla.errors import SlaError
from sla.loadgen.histograms import CounterSet, HdrSet, HistogramSet
from sla.manifest import PhaseWindow, new_run_id
from sla.payloads import Payload
from sla.scenario import Scenario, load_scenario
from sla.validation import NAME_RULE, is_safe_name

log = logging.getLogger("sla.loadgen")

DEFAULT_SCENARIO = "scenarios/ramp_up.yaml"
DEFAULT_METRICS_PORT = 9646
DEFAULT_HOST = "http://127.0.0.1:8866"
OUTCOMES = ("success", "failure", "shed")  # shed: a failure by load shedding (the target API's rule)
TIMINGS = ("actual", "intended")  # from the actual send time; from the intended (arrival clock) send time
ARRIVAL_RESULTS = ("sent", "dropped")
# What the answers to payloads with an expected text read (sla/payloads/scoring.py), counted per phase and payload.
ANSWER_MEASURES = ("answers", "lines", "exact_lines", "chars", "char_errors")
PHASE_MESSAGE = "sla_phase"
PAYLOAD_CACHE = Path(".cache/payloads")
EXIT_COULD_NOT_RUN = 3


@dataclass
class LoadgenState:
    """Per-process state of a run: the scenario, the phase now, what was observed."""

    scenario: Scenario
    run_id: str
    run_dir: Path
    hist: HistogramSet  # request durations by REQUEST_LABELS
    lag: HistogramSet  # arrival-clock lag (actual - intended send time) by phase
    arrivals: CounterSet = field(default_factory=CounterSet)  # (phase, sent|dropped)
    answers: CounterSet = field(default_factory=CounterSet)  # (phase, name, ANSWER_MEASURES): how right the answers were
    answer_sample: float = 1.0  # the share of answers with an expected text that are scored
    hdr: HdrSet = field(default_factory=HdrSet)  # (phase, timing), successful requests
    phase: str = ""
    phase_start: float = 0.0  # Unix time the current phase started (the arrival clock's zero)
    workers_total: int = 1  # load-generator processes sharing an arrival schedule
    dispatcher: Any = None  # sends arrival_rate phases on this process (not on the master)
    windows: list[PhaseWindow] = field(default_factory=list)
    first_request: tuple[float, float] | None = None  # (Unix time it ended, seconds)
    first_reported: bool = False
    corpus: list[Payload] = field(default_factory=list)
    weights: list[float] = field(default_factory=list)
    started_at: float = 0.0
    workers: set[str] = field(default_factory=set)  # ids of workers that reported (master)
    connected: set[str] = field(default_factory=set)  # ids of workers seen connected during the test (master)
    lost_workers: list[dict[str, Any]] = field(default_factory=list)  # [{id, at, phase}]: gone mid-test (master)
    raw: list[tuple[str, str, str, str, float]] | None = None  # every observation, with --keep-raw

    def load_corpus(self) -> None:
        """The payloads, read once per load-generator process."""
        if self.corpus:
            return
        try:
            self.corpus, self.weights = self.scenario.payloads.load(PAYLOAD_CACHE)
        except OSError as exc:
            raise SlaError(f"{self.scenario.path}: cannot read payload file {exc.filename}: {exc.strerror or exc}") from None

    def enter_phase(self, index: int, now: float, workers: int = 1) -> None:
        """Close the open window (if any) and open the window of phase `index`, as executed."""
        if self.windows and self.windows[-1].end == 0.0:
            self.windows[-1].end = now
        phase = self.scenario.phases[index]
        self.windows.append(PhaseWindow(phase.name, phase.kind, now, 0.0, phase.duration, phase.asked_rate,
                                        getattr(phase, "rate", None), getattr(phase, "to_rate", None), getattr(phase, "poisson", None)))
        self.set_phase({"name": phase.name, "start": now, "workers": workers})

    def set_phase(self, message: dict[str, Any]) -> None:
        self.phase, self.phase_start, self.workers_total = message["name"], message["start"], message["workers"]
        phase = self.current_phase()
        if self.dispatcher is not None and phase is not None and phase.asked_rate is not None:
            runner = self.dispatcher.environment.runner
            self.dispatcher.start(phase, self.phase_start, runner.worker_index, self.workers_total)

    def current_phase(self):
        return self.scenario.phase(self.phase) if self.phase else None

    def begin(self, now: float) -> None:
        """A new test starts (headless: once; web UI: each time Start is pressed)."""
        self.windows, self.phase, self.first_request, self.first_reported = [], "", None, False
        self.workers, self.connected, self.lost_workers = set(), set(), []
        self.started_at = now

    def watch_workers(self, connected: set[str], now: float) -> None:
        """A worker seen connected and gone since (Locust's heartbeat marked it missing, or it quit)
        is lost: its unreported observations and its share of the load are missing from then on."""
        for worker in sorted(self.connected - connected - {w["id"] for w in self.lost_workers}):
            self.lost_workers.append({"id": worker, "at": now, "phase": self.phase})
            log.warning("load-generator worker %s lost during phase %s: the phases from then on cannot be judged", worker, self.phase)
        self.connected |= connected

    def close(self, now: float) -> None:
        if self.windows and self.windows[-1].end == 0.0:
            self.windows[-1].end = now
        self.phase = ""


def make_state(options: Any) -> LoadgenState:
    scenario = load_scenario(options.scenario)
    extra = [float(x) for x in options.extra_buckets.split(",") if x.strip()] if options.extra_buckets else []
    try:
        buckets = latency_buckets(extra)
    except ValueError as exc:
        raise SlaError(f"--extra-buckets {options.extra_buckets!r}: {exc}") from None
    run_id = options.run_id or new_run_id(scenario.name)
    if not is_safe_name(run_id):
        raise SlaError(f"--run-id {run_id!r}: not a safe name ({NAME_RULE})")
    run_dir = Path(options.run_dir) if options.run_dir else Path("runs") / run_id
    state = LoadgenState(scenario, run_id, run_dir, HistogramSet(buckets), HistogramSet(buckets))
    for phase in scenario.phases:  # every label combination exists at 0 from the start
        for name in scenario.payloads.names():
            for outcome in OUTCOMES:
                for timing in TIMINGS:
                    state.hist.ensure((phase.name, name, outcome, timing))
        state.lag.ensure((phase.name,))
        for result in ARRIVAL_RESULTS:
            state.arrivals.ensure((phase.name, result))
        for name in scenario.payloads.checked_names():
            for measure in ANSWER_MEASURES:
                state.answers.ensure((phase.name, name, measure))
    sample = getattr(options, "answer_sample", 1.0)
    if not 0 < sample <= 1:
        raise SlaError(f"--answer-sample {sample:g}: a share of the answers above 0 and at most 1 (1 = every answer)")
    state.answer_sample = sample
    if getattr(options, "keep_raw", False):
        state.raw = []
    return state


def state_of(environment: Any) -> LoadgenState | None:
    """The process's state (None on a worker before its first test starts)."""
    plugin = getattr(environment, "sla_plugin", None)
    return plugin.state if plugin is not None else None


def running_state(environment: Any) -> LoadgenState:
    """The state of a process whose test has started (users and the metrics endpoint run only then)."""
    state = state_of(environment)
    if state is None:
        raise RuntimeError("the sla plugin has no run state: a test has not started in this Locust process")
    return state


def fail(environment: Any, message: str) -> None:
    """The one way the plugin reports what stops a run: on stderr, and exit code 3 (could not run)."""
    print(f"sla: error: {message}", file=sys.stderr, flush=True)
    environment.process_exit_code = EXIT_COULD_NOT_RUN
