"""The Locust plugin: custom arguments, load-generator metrics, phase tracking, the run manifest.

Hooks only on Locust's documented events (locust.event.Events), so that plain `locust -f` and
`--processes`/master-worker runs behave as Locust users expect:
- `init_command_line_parser`: --scenario, --metrics-port, --run-dir, --run-id, --metrics-linger, --plan.
- `init`: on the master (or a lone local runner) load the scenario, start the metrics endpoint.
- `request`: on workers (or the local runner) observe each request into the histogram set.
- `report_to_master` / `worker_report`: carry each worker's histogram deltas on Locust's own stats
  message, so the master's totals equal Locust's.
- `quitting`: close the phase windows, write run.json and a final metrics snapshot, keep the
  endpoint up for `--metrics-linger` seconds so Prometheus can take a last scrape.
The master tells workers the current phase with a custom message (`sla_phase`).
"""

from __future__ import annotations

import json
import logging
import os
import sys
import time
from itertools import count
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import locust
from locust.runners import MasterRunner, WorkerRunner

from sla.buckets import latency_buckets
from sla.errors import SlaError
from sla.loadgen.dispatcher import Dispatcher
from sla.loadgen.exposition import REQUEST_LABELS, MetricsServer, exposition
from sla.loadgen.histograms import CounterSet, HdrSet, HistogramSet
from sla.manifest import HDR_NAME, PhaseWindow, RunManifest, new_run_id
from sla.payloads import Payload
from sla.scenario import Scenario, format_plan, load_scenario
from sla.targets import check_host
from sla.validation import NAME_RULE, is_safe_name

log = logging.getLogger("sla.loadgen")

DEFAULT_SCENARIO = "scenarios/ramp_up.yaml"
DEFAULT_METRICS_PORT = 9646
DEFAULT_HOST = "http://127.0.0.1:8866"
OUTCOMES = ("success", "failure", "shed")  # shed: a failure by load shedding (the target API's rule)
TIMINGS = ("actual", "intended")  # from the actual send time; from the intended (arrival clock) send time
ARRIVAL_RESULTS = ("sent", "dropped")
PHASE_MESSAGE = "sla_phase"
PAYLOAD_CACHE = Path(".cache/payloads")
EXIT_COULD_NOT_RUN = 3


@dataclass
class LoadgenState:
    """Per-process plugin state, kept on the Locust environment (`environment.sla`)."""

    scenario: Scenario
    run_id: str
    run_dir: Path
    hist: HistogramSet  # request durations by REQUEST_LABELS
    lag: HistogramSet  # arrival-clock lag (actual - intended send time) by phase
    arrivals: CounterSet = field(default_factory=CounterSet)  # (phase, sent|dropped)
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
        self.windows.append(PhaseWindow(phase.name, phase.kind, now, 0.0, phase.duration, phase.asked_rate))
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
        self.workers = set()
        self.started_at = now

    def close(self, now: float) -> None:
        if self.windows and self.windows[-1].end == 0.0:
            self.windows[-1].end = now
        self.phase = ""


def add_arguments(parser: Any) -> None:
    group = parser  # Locust's include_in_web_ui works on the parser itself, not on argument groups
    group.add_argument("--scenario", default=DEFAULT_SCENARIO, help="scenario YAML file (phases, payload mix)")
    group.add_argument("--metrics-port", type=int, default=DEFAULT_METRICS_PORT, help="loopback port of the load generator's Prometheus endpoint")
    group.add_argument("--run-dir", default="", help="where run.json goes (default runs/<run id>)")
    group.add_argument("--run-id", default="", help="run id (default: time and scenario name)")
    group.add_argument("--metrics-linger", type=float, default=0.0, include_in_web_ui=False, help="seconds to keep the metrics endpoint up after the run, for a last scrape")
    group.add_argument("--extra-buckets", default="", include_in_web_ui=False, help="extra histogram boundaries in seconds, comma-separated (SLA thresholds)")
    group.add_argument("--wait-scrapes", type=int, default=0, include_in_web_ui=False, help="before the first phase, wait until the metrics endpoint has been scraped this many times")
    group.add_argument("--keep-raw", action="store_true", include_in_web_ui=False, help="also write every response time (phase, name, outcome, seconds) to raw_latencies-<pid>.tsv in the run directory, for accuracy checks")
    group.add_argument("--allow-remote", action="store_true", include_in_web_ui=False, help="allow a target that is not a loopback address (your explicit consent to load another host)")
    group.add_argument("--plan", action="store_true", include_in_web_ui=False, help="print the scenario's phase plan (users over time) and exit without sending traffic")


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
    if getattr(options, "keep_raw", False):
        state.raw = []
    return state


def prepare_sender(environment: Any, state: LoadgenState) -> None:
    """What a process that sends requests needs before its first phase: payloads, a dispatcher."""
    state.load_corpus()
    if state.dispatcher is None:
        state.dispatcher = Dispatcher(environment)


def _fail(environment: Any, message: str) -> None:
    print(f"sla: error: {message}", file=sys.stderr)
    environment.process_exit_code = EXIT_COULD_NOT_RUN
    sys.exit(EXIT_COULD_NOT_RUN)


def install(events: Any) -> None:
    """Hang the plugin on a Locust `events` object (the locustfile calls this once).

    A Locust process has one environment; `init` keeps it here so the listeners that are not
    handed it (request, report_to_master, worker_report) find the plugin state.
    """
    process: dict[str, Any] = {}

    def current() -> LoadgenState | None:
        env = process.get("environment")
        return getattr(env, "sla", None) if env is not None else None

    @events.init_command_line_parser.add_listener
    def _(parser: Any) -> None:
        add_arguments(parser)

    @events.init.add_listener
    def on_init(environment: Any, **_: Any) -> None:
        process["environment"] = environment
        environment.sla = None
        environment.sla_user_seq = count(1)  # seeds of the users' payload choice
        runner = environment.runner
        if isinstance(runner, WorkerRunner):
            runner.register_message(PHASE_MESSAGE, on_phase_message)
            return  # the scenario arrives with the master's options, at test_start
        options = environment.parsed_options
        try:
            state = make_state(options)
        except SlaError as exc:
            _fail(environment, str(exc))
            return
        environment.sla = state
        if not isinstance(runner, MasterRunner):
            try:
                prepare_sender(environment, state)
            except SlaError as exc:
                _fail(environment, str(exc))
        if options.plan:
            print(format_plan(state.scenario))
            sys.exit(0)
        if not environment.host:
            environment.host = state.scenario.target.host or DEFAULT_HOST
        try:
            check_host(environment.host, options.allow_remote)
        except SlaError as exc:
            _fail(environment, str(exc))
        environment.sla_scrapes = 0
        try:
            environment.sla_http = MetricsServer(environment, options.metrics_port)
            environment.sla_http.start()
        except OSError as exc:
            _fail(environment, f"--metrics-port {options.metrics_port}: cannot listen on 127.0.0.1:{options.metrics_port} ({exc.strerror or exc}); pick a free port")
        log.info("load-generator metrics on http://127.0.0.1:%d/metrics, run %s", options.metrics_port, state.run_id)

    def on_phase_message(environment: Any, msg: Any, **_: Any) -> None:
        process["phase"] = msg.data  # may come before test_start has built the worker's state
        if environment.sla is not None:
            environment.sla.set_phase(msg.data)

    @events.test_start.add_listener
    def on_test_start(environment: Any, **_: Any) -> None:
        """Workers take the scenario from the master's options (they arrive with the spawn message)."""
        if isinstance(environment.runner, MasterRunner):
            return
        state: LoadgenState | None = environment.sla
        if state is None or str(state.scenario.path) != environment.parsed_options.scenario:
            environment.sla = state = make_state(environment.parsed_options)
        prepare_sender(environment, state)
        if "phase" in process:
            state.set_phase(process["phase"])

    @events.test_stopping.add_listener
    def on_test_stopping(environment: Any, **_: Any) -> None:
        state: LoadgenState | None = environment.sla
        if state is not None and state.dispatcher is not None:
            state.dispatcher.stop(drain_s=state.scenario.timeout)

    @events.request.add_listener
    def on_request(response_time: float, name: str, exception: Any = None, context: Any = None, **_: Any) -> None:
        state = current()
        if state is None:
            return
        seconds = response_time / 1000.0
        context = context or {}
        phase = context.get("phase", state.phase)  # arrival requests carry the phase they were sent in
        outcome = ("shed" if context.get("shed") else "failure") if exception else "success"
        timings = [("actual", seconds)]
        if "lag" in context:  # sent on an arrival clock: latency from the intended send time too
            timings.append(("intended", seconds + max(0.0, context["lag"])))
        for timing, value in timings:
            state.hist.observe((phase, name, outcome, timing), value)
            if outcome == "success":
                state.hdr.record((phase, timing), value)
            if state.raw is not None:
                state.raw.append((phase, name, outcome, timing, value))
        if state.first_request is None:
            state.first_request = (time.time(), seconds)

    @events.report_to_master.add_listener
    def on_report_to_master(data: dict, **_: Any) -> None:
        state = current()
        if state is None:
            return
        data["sla_hist"] = state.hist.take()
        data["sla_lag"] = state.lag.take()
        data["sla_arrivals"] = state.arrivals.take()
        data["sla_hdr"] = state.hdr.take()
        if state.first_request is not None and not state.first_reported:
            data["sla_first"] = list(state.first_request)
            state.first_reported = True

    @events.worker_report.add_listener
    def on_worker_report(client_id: str, data: dict, **_: Any) -> None:
        state = current()
        if state is None:
            return
        state.workers.add(client_id)
        state.hist.merge(data.get("sla_hist", {}))
        state.lag.merge(data.get("sla_lag", {}))
        state.arrivals.merge(data.get("sla_arrivals", {}))
        state.hdr.merge(data.get("sla_hdr", {}))
        first = data.get("sla_first")
        if first and (state.first_request is None or first[0] - first[1] < state.first_request[0] - state.first_request[1]):
            state.first_request = (first[0], first[1])  # the earliest-started first request across workers

    @events.quitting.add_listener
    def on_quitting(environment: Any, **_: Any) -> None:
        state: LoadgenState | None = environment.sla
        if state is not None and state.raw:
            write_raw(state)
        if state is None or isinstance(environment.runner, WorkerRunner):
            return
        now = time.time()
        state.close(now)
        if state.windows:
            write_run_files(environment, state, now)
        linger = environment.parsed_options.metrics_linger
        if linger > 0:
            time.sleep(linger)
        http = getattr(environment, "sla_http", None)
        if http:
            http.stop()


def write_raw(state: LoadgenState) -> None:
    state.run_dir.mkdir(parents=True, exist_ok=True)
    path = state.run_dir / f"raw_latencies-{os.getpid()}.tsv"
    with open(path, "w") as fh:
        fh.writelines(f"{phase}\t{name}\t{outcome}\t{timing}\t{seconds:.6f}\n" for phase, name, outcome, timing, seconds in state.raw or [])


def write_run_files(environment: Any, state: LoadgenState, now: float) -> None:
    runner = environment.runner
    first = state.first_request
    manifest = RunManifest(
        run_id=state.run_id,
        scenario={"path": str(state.scenario.path), "name": state.scenario.name, "sha256": state.scenario.sha256},
        target=environment.host,
        target_api=state.scenario.target.api_name,
        phases=state.windows,
        started_at=state.started_at,
        ended_at=now,
        loadgen={
            "locust_version": locust.__version__,
            "workers": len(state.workers) if isinstance(runner, MasterRunner) else 1,
            "metrics_port": environment.parsed_options.metrics_port,
            "first_request_end": first[0] if first else None,
            "first_request_seconds": first[1] if first else None,
            "requests": sum(state.hist.count(k) for k in state.hist.series if k[-1] == "actual"),  # = Locust's count
        },
    )
    path = manifest.write(state.run_dir)
    (state.run_dir / "loadgen_metrics.prom").write_bytes(exposition(environment))
    (state.run_dir / HDR_NAME).write_text(json.dumps(state.hdr.summary(), indent=1) + "\n")
    log.info("run manifest written to %s", path)
