"""The Locust plugin, as parts of one object per process (`Plugin`), each hung on one of Locust's
documented events (locust.event.Events), so that plain `locust -f` and `--processes` or
master/worker runs behave as Locust users expect:

- arguments (`init_command_line_parser`): --scenario, --metrics-port, --run-dir, --run-id, ...;
- setup (`init`), on the master or a lone local runner: the state from the scenario, `--plan`
  (print and exit), the default host, the loopback policy, the metrics endpoint;
- phases (`sla_phase` message): the master tells workers the phase now; workers take the scenario
  at `test_start`;
- observation (`request`), on workers or the local runner: each request into the histograms;
- merging (`report_to_master` / `worker_report`): each worker's deltas ride on Locust's own stats
  message, so the master's totals equal Locust's;
- the end (`test_stopping`, `quitting`): drain the arrivals, close the phase windows, write
  run.json, hdr.json and a final metrics snapshot, and keep the endpoint up for
  `--metrics-linger` seconds so Prometheus can take a last scrape.

Every error that stops a run ends the same way (`state.fail`): a message on stderr, exit code 3.
"""

from __future__ import annotations

import logging
import os
import sys
import time
from itertools import count
from pathlib import Path
from typing import Any

import locust
from locust.runners import MasterRunner, WorkerRunner

from sla.environment import host_environment
from sla.errors import SlaError
from sla.loadgen.dispatcher import Dispatcher
from sla.loadgen.exposition import MetricsServer, exposition
from sla.loadgen.state import (
    DEFAULT_HOST, DEFAULT_METRICS_PORT, DEFAULT_SCENARIO, EXIT_COULD_NOT_RUN, PHASE_MESSAGE, LoadgenState, fail, make_state,
)
from sla.manifest import HDR_NAME, RunManifest, write_json
from sla.scenario import format_plan
from sla.targets import check_host

log = logging.getLogger("sla.loadgen")


def prepare_sender(environment: Any, state: LoadgenState) -> None:
    """What a process that sends requests needs before its first phase: payloads, a dispatcher."""
    state.load_corpus()
    if state.dispatcher is None:
        state.dispatcher = Dispatcher(environment, state)


class Plugin:
    """Everything the plugin keeps in one Locust process (`environment.sla_plugin`)."""

    def __init__(self) -> None:
        self.environment: Any = None
        self.state: LoadgenState | None = None  # None on a worker until its first test starts
        self.http: MetricsServer | None = None  # the metrics endpoint (master or local runner)
        self.user_seq = count(1)  # seeds of the users' payload choice
        self.phase_message: dict[str, Any] | None = None  # a worker's last phase message

    @property
    def scrapes(self) -> int:
        return self.http.scrapes if self.http else 0

    # -- setup -----------------------------------------------------------------------------
    def on_init(self, environment: Any, **_: Any) -> None:
        self.environment = environment
        environment.sla_plugin = self
        runner = environment.runner
        if isinstance(runner, WorkerRunner):
            runner.register_message(PHASE_MESSAGE, self.on_phase_message)
            return  # the scenario arrives with the master's options, at test_start
        options = environment.parsed_options
        try:
            self.state = make_state(options)
            if not isinstance(runner, MasterRunner):
                prepare_sender(environment, self.state)
            if options.plan:
                print(format_plan(self.state.scenario))
                sys.exit(0)
            environment.host = environment.host or self.state.scenario.target.host or DEFAULT_HOST
            check_host(environment.host, options.allow_remote)
            self.serve_metrics(options.metrics_port)
        except SlaError as exc:
            fail(environment, str(exc))
            sys.exit(EXIT_COULD_NOT_RUN)

    def serve_metrics(self, port: int) -> None:
        self.http = MetricsServer(self.environment, port)
        try:
            self.http.start()
        except OSError as exc:
            raise SlaError(f"--metrics-port {port}: cannot listen on 127.0.0.1:{port} ({exc.strerror or exc}); pick a free port") from None
        log.info("load-generator metrics on http://127.0.0.1:%d/metrics, run %s", port, self.state.run_id if self.state else "-")

    def take_scenario(self) -> LoadgenState:
        """The state for the scenario in the options now: built again when it changed (a new
        --scenario in the web UI, or a worker's first test)."""
        options = self.environment.parsed_options
        if self.state is None or str(self.state.scenario.path) != options.scenario:
            self.state = make_state(options)
        if not isinstance(self.environment.runner, MasterRunner):
            prepare_sender(self.environment, self.state)
        return self.state

    # -- phases ----------------------------------------------------------------------------
    def on_phase_message(self, environment: Any, msg: Any, **_: Any) -> None:
        self.phase_message = msg.data  # may come before test_start has built the worker's state
        if self.state is not None:
            self.state.set_phase(msg.data)

    def on_test_start(self, environment: Any, **_: Any) -> None:
        """Workers take the scenario from the master's options (they arrive with the spawn message)."""
        if isinstance(environment.runner, MasterRunner):
            return
        state = self.take_scenario()
        if self.phase_message is not None:
            state.set_phase(self.phase_message)

    # -- observation and merging -------------------------------------------------------------
    def on_request(self, response_time: float, name: str, exception: Any = None, context: Any = None, **_: Any) -> None:
        state = self.state
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

    def on_report_to_master(self, data: dict, **_: Any) -> None:
        state = self.state
        if state is None:
            return
        data["sla_hist"] = state.hist.take()
        data["sla_lag"] = state.lag.take()
        data["sla_arrivals"] = state.arrivals.take()
        data["sla_answers"] = state.answers.take()
        data["sla_hdr"] = state.hdr.take()
        if state.first_request is not None and not state.first_reported:
            data["sla_first"] = list(state.first_request)
            state.first_reported = True

    def on_worker_report(self, client_id: str, data: dict, **_: Any) -> None:
        state = self.state
        if state is None:
            return
        state.workers.add(client_id)
        state.hist.merge(data.get("sla_hist", {}))
        state.lag.merge(data.get("sla_lag", {}))
        state.arrivals.merge(data.get("sla_arrivals", {}))
        state.answers.merge(data.get("sla_answers", {}))
        state.hdr.merge(data.get("sla_hdr", {}))
        first = data.get("sla_first")
        if first and (state.first_request is None or first[0] - first[1] < state.first_request[0] - state.first_request[1]):
            state.first_request = (first[0], first[1])  # the earliest-started first request across workers

    # -- the end -------------------------------------------------------------------------------
    def on_test_stopping(self, environment: Any, **_: Any) -> None:
        if self.state is not None and self.state.dispatcher is not None:
            self.state.dispatcher.stop(drain_s=self.state.scenario.timeout)

    def on_quitting(self, environment: Any, **_: Any) -> None:
        state = self.state
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
        if self.http:
            self.http.stop()


def install(events: Any) -> Plugin:
    """Hang the plugin on a Locust `events` object (the locustfile calls this once)."""
    plugin = Plugin()
    events.init_command_line_parser.add_listener(add_arguments)
    events.init.add_listener(plugin.on_init)
    events.test_start.add_listener(plugin.on_test_start)
    events.test_stopping.add_listener(plugin.on_test_stopping)
    events.request.add_listener(plugin.on_request)
    events.report_to_master.add_listener(plugin.on_report_to_master)
    events.worker_report.add_listener(plugin.on_worker_report)
    events.quitting.add_listener(plugin.on_quitting)
    return plugin


def add_arguments(parser: Any) -> None:
    group = parser  # Locust's include_in_web_ui works on the parser itself, not on argument groups
    group.add_argument("--scenario", default=DEFAULT_SCENARIO, help="scenario YAML file (phases, payload mix)")
    group.add_argument("--metrics-port", type=int, default=DEFAULT_METRICS_PORT, help="loopback port of the load generator's Prometheus endpoint")
    group.add_argument("--run-dir", default="", help="where run.json goes (default runs/<run id>)")
    group.add_argument("--run-id", default="", help="run id (default: time and scenario name)")
    group.add_argument("--metrics-linger", type=float, default=0.0, include_in_web_ui=False, help="seconds to keep the metrics endpoint up after the run, for a last scrape")
    group.add_argument("--extra-buckets", default="", include_in_web_ui=False, help="extra histogram boundaries in seconds, comma-separated (SLA thresholds)")
    group.add_argument("--wait-scrapes", type=int, default=0, include_in_web_ui=False, help="before the first phase, wait until the metrics endpoint has been scraped this many times")
    group.add_argument("--answer-sample", type=float, default=1.0, include_in_web_ui=False, help="share of the answers to payloads with an expected text that are scored for accuracy (default 1: every one)")
    group.add_argument("--keep-raw", action="store_true", include_in_web_ui=False, help="also write every response time (phase, name, outcome, seconds) to raw_latencies-<pid>.tsv in the run directory, for accuracy checks")
    group.add_argument("--allow-remote", action="store_true", include_in_web_ui=False, help="allow a target that is not a loopback address (your explicit consent to load another host)")
    group.add_argument("--plan", action="store_true", include_in_web_ui=False, help="print the scenario's phase plan (users over time) and exit without sending traffic")


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
        scenario={"path": str(Path(state.scenario.path).resolve()), "name": state.scenario.name, "sha256": state.scenario.sha256},
        target=environment.host,
        target_api=state.scenario.target.api_name,
        server_metrics=state.scenario.target.metrics.to_json() if state.scenario.target.metrics else None,
        phases=state.windows,
        environment={"loadgen": host_environment()},
        started_at=state.started_at,
        ended_at=now,
        loadgen={
            "locust_version": locust.__version__,
            "workers": len(state.workers) if isinstance(runner, MasterRunner) else 1,
            "lost_workers": state.lost_workers,
            "metrics_port": environment.parsed_options.metrics_port,
            "first_request_end": first[0] if first else None,
            "first_request_seconds": first[1] if first else None,
            "requests": sum(state.hist.count(k) for k in state.hist.series if k[-1] == "actual"),  # = Locust's count
        },
    )
    path = manifest.write(state.run_dir)
    (state.run_dir / "loadgen_metrics.prom").write_bytes(exposition(environment))
    write_json(state.run_dir / HDR_NAME, {"phases": state.hdr.summary()})
    log.info("run manifest written to %s", path)
