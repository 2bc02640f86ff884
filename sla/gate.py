"""`sla run` and `sla check`: the one orchestration path of the gate.

run:   validate scenario + SLA -> Prometheus (started, or the given one) -> Locust headless (it waits
       for the target) -> reference server (started fresh, unless --host) -> progress while the
       phases run -> the final scrape -> analysis -> reports -> exit code.
check: the manifest of an earlier run + its kept Prometheus data (or the given Prometheus) ->
       analysis against the SLA (the run's, or another) and an optional baseline -> reports.
Everything started is stopped on success, failure and Ctrl-C (an ExitStack of managed processes).
"""

from __future__ import annotations

import signal
import sys
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import asdict, dataclass, replace
from datetime import datetime, timezone
from itertools import count
from pathlib import Path
from typing import TextIO

import yaml

from sla.analysis.analyzer import Analysis, Analyzer, load_baseline, load_hdr
from sla.prometheus.client import PromReader
from sla.analysis.timeline import Timeline, collect_timeline
from sla.analysis.verdict import EXIT_CODES
from sla.analysis.promql import HAPROXY_JOB
from sla.claims import claim_problems, generator_problems
from sla.environment import read_target_environment
from sla.errors import SlaError
from sla.explain import Explanation, explain_run, short_block
from sla.history.record import History
from sla.limits import Limiter, suite_slowdown
from sla.manifest import MANIFEST_NAME, RunManifest, json_value, new_run_id
from sla.processes import LOOPBACK, ManagedProcess, PortClash, free_port
from sla.prometheus.server import PORT_TRIES, scrape_config, start_prometheus
from sla.supervise import exit_info, wait_until_scraped, watch
from sla.rundir import final_scrape_time, open_run, run_prometheus
from sla.replicas import ReplicaSet
from sla.reports import summary_table, write_reports
from sla.inputs import Inputs, load_inputs
from sla.scenario import Scenario
from sla.service import replica_set, running_host, server_record, start_watched
from sla.slafile import SlaSpec
from sla.targets.hosts import scrape_address
from sla.targets.metrics import MetricsMapping
from sla.validation import NAME_RULE, is_safe_name

ROOT = Path(__file__).resolve().parent.parent
LOCUSTFILE = ROOT / "locustfiles" / "ocr.py"
METRICS_LINGER_S = 3.0  # at least two scrapes of the final counts after the run
WAIT_SCRAPES = 2  # Locust holds the first phase until Prometheus has scraped it this often
LOCUST_EXIT_OK = (0, 1)  # 1: the run had failed requests, which the SLA judges


@dataclass
class RunOutcome:
    run_dir: Path
    manifest: RunManifest
    analysis: Analysis

    @property
    def exit_code(self) -> int:
        return EXIT_CODES[self.analysis.verdict]


@dataclass
class RunOptions:
    scenario: Path
    sla: Path | None = None
    host: str | None = None
    prometheus: str | None = None
    out: Path = Path("runs")
    run_id: str | None = None
    metrics_port: int | None = None
    keep_raw: bool = False
    processes: int = 1  # Locust worker processes (Locust's --processes); 1: a single local runner
    server_options: dict[str, object] | None = None  # override the scenario's target.server (sla compare)
    locustfile: Path | None = None  # the user's locustfile (default locustfiles/ocr.py)
    allow_remote: bool = False  # the user's consent to load a host that is not loopback
    expect_workers: int = 0  # >0: run the Locust master and wait for this many workers started elsewhere
    master_bind_host: str = LOOPBACK  # where that master listens for its workers
    master_bind_port: int = 5557  # Locust's default
    workers_wait_s: float = 120.0  # how long to wait for them
    history: str | None = None  # the history store's URL: baselines of runs: N, and the run appended
    any_environment: bool = False  # compare with stored runs of any environment fingerprint
    inputs: Inputs | None = None  # loaded already (compare, capacity steps); `scenario` and `sla` then say where from

    @property
    def generators(self) -> int:
        """Load-generator processes sharing the arrival schedules."""
        return self.expect_workers or self.processes

    def locust_mode(self) -> list[str]:
        """Locust's arguments for how the load is spread: external workers, local processes, or one runner."""
        if self.expect_workers:
            return ["--master", "--expect-workers", str(self.expect_workers), "--master-bind-host", self.master_bind_host,
                    "--master-bind-port", str(self.master_bind_port), "--expect-workers-max-wait", f"{self.workers_wait_s:g}"]
        return ["--processes", str(self.processes)] if self.processes > 1 else []


def locust_argv(opts: RunOptions, scenario: Scenario, sla: SlaSpec, locustfile: Path, host: str, metrics_port: int, run_dir: Path,
                run_id: str) -> list[str]:
    """Locust's command line for a run: headless, the harness's plugin options (the scenario, the
    metrics port, the run directory, the SLA's limits as extra histogram buckets, the share of
    answers to score) and how the load is spread (workers or local processes)."""
    buckets = ",".join(f"{t:g}" for t in sla.thresholds_s())
    return [
        sys.executable, "-m", "locust", "-f", str(locustfile), "--headless", "--scenario", str(scenario.path),
        "--host", host, "--metrics-port", str(metrics_port), "--run-dir", str(run_dir), "--run-id", run_id,
        "--metrics-linger", str(METRICS_LINGER_S), "--wait-scrapes", str(WAIT_SCRAPES), "--csv", str(run_dir / "locust"), "--html", str(run_dir / "locust.html"),
        *(["--extra-buckets", buckets] if buckets else []), *(["--keep-raw"] if opts.keep_raw else []),
        *(["--answer-sample", f"{sla.answer_sample:g}"] if sla.answer_sample < 1 else []),
        *opts.locust_mode(),
        *(["--allow-remote"] if opts.allow_remote else []),
    ]


def run_gate(opts: RunOptions, out: TextIO | None = None) -> RunOutcome:
    out = out or sys.stdout  # sys.stdout as it is at the call (a default would keep the one at import)
    inputs = opts.inputs or load_inputs(opts.scenario, opts.sla)
    scenario, sla = inputs.scenario, inputs.sla
    if scenario.balanced and opts.prometheus:
        raise SlaError(f"{scenario.path}: target.replicas / scale_to: the gate's own Prometheus follows the replicas as they start "
                       "and stop (file_sd); leave out --prometheus")
    if opts.expect_workers and opts.processes > 1:
        raise SlaError("--processes forks workers on this machine, --expect-workers waits for workers started elsewhere: give one")
    for problem in generator_problems(scenario, opts.generators) + claim_problems(scenario, sla):
        print(f"warning: {problem} (the verdict may be INCONCLUSIVE)", file=out)
    running = running_host(opts.host, opts.allow_remote, scenario)
    # refused here, before any traffic, where no cgroup is writable
    limiter = Limiter(suite_slowdown(scenario.target.cpu) if running is None else scenario.target.cpu)
    locustfile = opts.locustfile or LOCUSTFILE
    if not locustfile.is_file():
        raise SlaError(f"-f {locustfile}: no such locustfile")
    run_id = opts.run_id or new_run_id(scenario.name)
    if not is_safe_name(run_id):
        raise SlaError(f"--run-id {run_id!r}: not a safe name ({NAME_RULE})")
    run_dir = opts.out / run_id
    if (run_dir / MANIFEST_NAME).exists():
        raise SlaError(f"{run_dir} already holds a run; choose another --run-id or --out")
    history = History.open(opts.history, opts.any_environment)  # refused here, before any traffic
    clashes: list[str] = []
    while True:
        try:
            return _drive(opts, scenario, sla, limiter, running, locustfile, run_id, run_dir, out, clashes, history)
        except PortClash as exc:
            if len(clashes) + 1 >= PORT_TRIES or opts.prometheus:
                raise  # a given Prometheus keeps the attempt's series under this run id: not started again
            # Nothing was measured yet (a clash ends the start). The attempt's files, Prometheus
            # data included, move aside so that the next attempt's series are its own.
            aside = next(p for n in count(1) if not (p := run_dir.with_name(f"{run_id}-port-clash-{n}")).exists())
            run_dir.rename(aside)
            first = str(exc).splitlines()[0]
            clashes.append(f"started again on new ports after a port clash ({first}); that attempt's files: {aside}")
            print(f"port clash: {first}; starting again on new ports (attempt's files moved to {aside})", file=out, flush=True)


def _drive(opts: RunOptions, scenario: Scenario, sla: SlaSpec, limiter: Limiter, running: str | None, locustfile: Path,
           run_id: str, run_dir: Path, out: TextIO, clashes: list[str], history: History | None) -> RunOutcome:
    """One attempt: start the parts, drive the phases, judge. PortClash when a child lost its port."""
    scenario, sla = _inputs_in(run_dir, scenario, sla)
    metrics_port = opts.metrics_port or free_port()
    server_port = None if running else free_port()
    host = running or f"http://{LOOPBACK}:{server_port}"
    loadgen_target = f"{LOOPBACK}:{metrics_port}"
    mapping = scenario.target.metrics
    server_metrics_port = free_port() if server_port is not None and scenario.target.metrics_port_given else None
    server_target = scrape_address(host, server_metrics_port or mapping.port) if mapping else None
    metrics_path = mapping.path if mapping else None
    replicas = replica_set(scenario, opts.server_options, sla, limiter, run_dir, out) if server_port is not None and scenario.balanced else None
    if replicas is not None:
        host, server_target = replicas.url, None

    with ExitStack() as stack:
        prom, reader = _prometheus(opts, stack, run_dir, loadgen_target, server_target, metrics_path, replicas, out)
        balancer = None
        if replicas is not None:
            stack.callback(replicas.stop)
            balancer = replicas.start_balancer()

        locust = ManagedProcess("locust", locust_argv(opts, scenario, sla, locustfile, host, metrics_port, run_dir, run_id),
                                run_dir / "locust.log", stop_signal=signal.SIGINT)  # Locust 2.47 headless with a shape handles
        locust.limited(None, limiter.loadgen_cores)           # SIGTERM only after the shape ends; SIGINT at once
        stack.callback(locust.stop)                           # (and off the cores the service is pinned to)
        locust.start()
        server, ready = (None, None) if server_port is None or replicas is not None else \
            start_watched(stack, scenario, opts.server_options, sla, limiter, server_port, server_metrics_port, run_dir, host, out)
        wait_until_scraped(reader, locust, loadgen_target, clash_retried=opts.metrics_port is None)
        if replicas is not None and balancer is not None:
            wait_until_scraped(reader, balancer.process, f"{LOOPBACK}:{replicas.metrics_port}", False, HAPROXY_JOB, "HAProxy")
            replicas.start_replicas()
            server = replicas.first
        _announce(opts, scenario, run_id, locustfile, out)
        scale = dict(scenario.scale)
        on_phase = (lambda phase: replicas.scale_to(phase, scale[phase]) if phase in scale else None) if replicas else None
        died = watch(locust, server, ready, prom, scenario, f"http://{loadgen_target}/metrics", out, opts.expect_workers, on_phase)
        code = locust.proc.returncode if locust.proc else None
        if (code not in LOCUST_EXIT_OK and died is None) or not (run_dir / MANIFEST_NAME).exists():
            how = exit_info(locust, locust.started_at)["how"]
            raise SlaError(f"Locust (the load generator) did not complete the run ({how}); {locust.log_path} ends:\n{locust.log_tail()}")
        record = server_record(scenario, server, ready, replicas, server_port, died, limiter) if server is not None else None
        manifest = _complete_manifest(run_dir, reader, sla, mapping, record)
        analysis, timeline, explanation = _judge(reader, manifest, sla, None, run_dir, history)
        analysis.notes.extend(clashes)
        return _finish(run_dir, manifest, analysis, sla.path, out, timeline, explanation, history=history)


def _announce(opts: RunOptions, scenario: Scenario, run_id: str, locustfile: Path, out: TextIO) -> None:
    print(f"running {scenario.name}: {len(scenario.phases)} phases, {scenario.duration:.0f} s; run {run_id}", file=out)
    if opts.expect_workers:
        print(f"Locust master on {opts.master_bind_host}:{opts.master_bind_port} waits up to {opts.workers_wait_s:.0f} s for "
              f"{opts.expect_workers} workers; start each with: locust -f {locustfile} --worker --master-host "
              f"<this host> --master-port {opts.master_bind_port}", file=out, flush=True)


def _prometheus(opts: RunOptions, stack: ExitStack, run_dir: Path, loadgen_target: str, server_target: str | None,
                metrics_path: str | None, replicas: ReplicaSet | None, out: TextIO) -> tuple[ManagedProcess | None, PromReader]:
    """The run's Prometheus: the given one (printing the scrape config it needs), else one started
    for the run with its data in the run directory (stopped with `stack`). `metrics_path` is None
    when the target has no server metrics mapping (behind HAProxy, nothing of the replicas is scraped)."""
    if opts.prometheus:
        reader = PromReader(opts.prometheus)
        reader.check_ready()
        print("using Prometheus at", opts.prometheus, "; it must scrape these jobs every second:", file=out)
        print(yaml.safe_dump(scrape_config(loadgen_target, server_target, metrics_path)["scrape_configs"], sort_keys=False), file=out)
        return None, reader
    prom, url = start_prometheus(
        run_dir / "prometheus", loadgen_target, server_target, server_path=metrics_path,
        server_file=replicas.targets_file if replicas and metrics_path is not None else None,
        haproxy=f"{LOOPBACK}:{replicas.metrics_port}" if replicas else None)
    stack.callback(prom.stop)
    print(f"Prometheus {url} (data in {run_dir / 'prometheus'})", file=out)
    return prom, PromReader(url)


def _inputs_in(run_dir: Path, scenario: Scenario, sla: SlaSpec) -> tuple[Scenario, SlaSpec]:
    """The run directory made, the inputs derived for this run written into it: Locust reads a
    scenario file, and `sla check` of the run reads its SLA again."""
    run_dir.mkdir(parents=True, exist_ok=True)
    return (scenario.written(run_dir / "scenario.yaml") if scenario.derived else scenario,
            sla.written(run_dir / "sla.yaml") if sla.derived else sla)


def _complete_manifest(run_dir: Path, reader: PromReader, sla: SlaSpec, mapping: MetricsMapping | None,
                       server: Callable[[RunManifest], dict] | None) -> RunManifest:
    """run.json as Locust wrote it, completed with what only the gate knows (its Prometheus, the SLA,
    the server it started, the final scrape, what the target reported of itself), written once."""
    manifest = RunManifest.read(run_dir)
    manifest.prometheus_url = reader.url
    manifest.sla = {"path": str(sla.path.resolve()), "sha256": sla.sha256}
    if server is not None:
        manifest.server = server(manifest)
    manifest.loadgen["final_scrape_at"] = final_scrape_time(reader, manifest)
    manifest.environment["target"] = read_target_environment(reader, mapping, manifest.loadgen["final_scrape_at"] or manifest.ended_at)
    manifest.write(run_dir)
    return manifest


def run_gate_once_more_on_failure(opts: RunOptions, out: TextIO | None = None) -> tuple[RunOutcome, str]:
    """One run of a series (a capacity step, a compare configuration): a run that could not run
    (a port lost to a race, a part that did not start) is run again once, so one failure does not
    throw away the series. Returns the outcome and, when it was run again, why."""
    out = out or sys.stdout
    try:
        return run_gate(opts, out), ""
    except SlaError as exc:
        first = str(exc).splitlines()[0]
        print(f"the run could not run ({first}); running it again once", file=out, flush=True)
        again = replace(opts, run_id=f"{opts.run_id}-again" if opts.run_id else None)
        return run_gate(again, out), f"run again after: {first}"


def _judge(reader: PromReader, manifest: RunManifest, sla: SlaSpec, baseline: dict | None,
           run_dir: Path, history: History | None = None) -> tuple[Analysis, Timeline, Explanation | None]:
    """The analysis of a run, what its page draws, and why it measured what it did (all read
    while Prometheus is up). With a history store, baselines of `runs: N` are its comparable runs."""
    comparable = history.comparable(json_value(asdict(manifest)), sla.history_runs) if history else None
    analyzer = Analyzer(reader, manifest, baseline, load_hdr(run_dir), comparable)
    analysis = analyzer.run(sla)
    try:
        explanation: Explanation | None = explain_run(analyzer, sla, analysis.cold_start)
    except Exception as exc:  # noqa: BLE001 - the verdict stands without its explanation
        analysis.notes.append(f"the explanation could not be made ({type(exc).__name__}: {exc}); `sla explain {run_dir}` tries again")
        explanation = None
    return analysis, collect_timeline(analyzer, run_dir), explanation


def _finish(out_dir: Path, manifest: RunManifest, analysis: Analysis, sla_path: Path, out: TextIO, timeline: Timeline,
            explanation: Explanation | None, run_dir: Path | None = None, history: History | None = None) -> RunOutcome:
    paths = write_reports(out_dir, manifest, analysis, sla_path, timeline, run_dir, explanation)
    if history is not None:  # after the reports: a run is stored with the result and page it has
        history.record(paths["result"], json_value(asdict(manifest)), load_hdr(run_dir or out_dir), paths["html"], out)
    print("\n" + summary_table(analysis), file=out)
    failed = {r.phase for r in analysis.results if r.verdict == "FAIL" and r.phase}
    if analysis.verdict == "FAIL" and explanation is not None and (why := short_block(explanation, failed)):
        print(why + f"\n(all of it: sla explain {out_dir if run_dir is None else run_dir}, or {paths['explain']})", file=out)
    print(f"reports: {paths['html']}, {paths['result']}, {paths['report']}, {paths['junit']}", file=out)
    return RunOutcome(out_dir, manifest, analysis)


def check_run(run_dir: Path, sla_path: Path | None, baseline: Path | None, prometheus: str | None,
              out_dir: Path | None = None, out: TextIO | None = None, history_url: str | None = None,
              any_environment: bool = False) -> RunOutcome:
    """Judge a run again. Its reports go to `out_dir` (default `<run>/check-<time>`): the run's
    own result.json stays as it was, since it may be somebody's baseline. With a history store, the
    run is judged against the runs stored before it, and stored when it is not there yet."""
    out = out or sys.stdout
    manifest, sla = open_run(run_dir, sla_path)
    manifest.sla = {"path": str(sla.path.resolve()), "sha256": sla.sha256}  # the SLA judging it now (history compares by it)
    base = load_baseline(baseline) if baseline else None
    history = History.open(history_url, any_environment)
    with ExitStack() as stack:
        reader, manifest = run_prometheus(run_dir, manifest, prometheus, stack)
        url = reader.url
        analysis, timeline, explanation = _judge(reader, manifest, sla, base, run_dir, history)
        manifest.prometheus_url = url  # the one this check queried
        out_dir = out_dir or run_dir / f"check-{datetime.now(timezone.utc).strftime('%Y%m%dT%H%M%SZ')}"
        return _finish(out_dir, manifest, analysis, sla.path, out, timeline, explanation, run_dir, history)

