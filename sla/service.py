"""The service under test: a running one aimed at (--host, target.host: checked against the
scenario's limits), or one the gate starts fresh for the run (target.command or the reference
server, under target.cpus / target.cpuset; several behind HAProxy with target.replicas), and what
run.json records of it."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path
from typing import TextIO

from sla.balancer import slot_name
from sla.errors import SlaError
from sla.limits import Limiter
from sla.manifest import RunManifest, json_value
from sla.probe import ReadyWatch
from sla.processes import LOOPBACK, ManagedProcess, command_process, reference_server
from sla.replicas import ReplicaSet
from sla.scenario import Scenario
from sla.slafile import SlaSpec
from sla.targets import DEFAULT_API, check_host


def running_host(given: str | None, allow_remote: bool, scenario: Scenario) -> str | None:
    """The URL of a running service to aim at (--host, else target.host), or None: the gate starts one."""
    host = given or scenario.target.host
    if scenario.balanced:
        t = scenario.target
        if host is not None:
            raise SlaError(f"{scenario.path}: target.replicas / scale_to: the gate starts the replicas behind HAProxy, so --host cannot be given")
        if t.metrics_port_given or (t.metrics is not None and t.metrics.port is not None):
            raise SlaError(f"{scenario.path}: target.replicas / scale_to: each replica is scraped on its own inference port; "
                           "a metrics port apart ({metrics_port}, or the mapping's port) is not supported with replicas")
    if host is None:
        if not scenario.target.command and scenario.target.api_name != DEFAULT_API:
            raise SlaError(f"{scenario.path}: target.api is {scenario.target.api_name}: give target.command (the gate starts "
                           "the service for the run) or target.host / --host (a running service)")
        return None
    check_host(host, allow_remote)
    if scenario.target.cpu:
        raise SlaError(f"{scenario.path}: target.cpus / target.cpuset limit a service the gate starts; {host} is a running "
                       "service the gate did not start: remove the limit, or run without --host / target.host")
    if scenario.target.fresh:
        raise SlaError(f"{scenario.path}: target.fresh is true (a cold start): run without --host/target.host so the gate starts a fresh server")
    return host.rstrip("/")



def start_target(scenario: Scenario, server_options: dict[str, object] | None, sla: SlaSpec, limiter: Limiter, port: int, metrics_port: int | None,
                  run_dir: Path, out: TextIO, log_name: str = "server.log") -> ManagedProcess:
    """Start the service under test fresh for the run: target.command, or the reference server,
    under the scenario's CPU limit (target.cpus, target.cpuset)."""
    target = scenario.target
    log_path = run_dir / log_name
    if target.command:
        server = command_process(target, port, run_dir, log_path, metrics_port=metrics_port)
        shown = " ".join(server.argv)
    else:
        options = {**target.server, **(server_options or {})}
        options["extra_buckets"] = tuple(sorted({*options.get("extra_buckets", ()), *sla.thresholds_s()}))
        server = reference_server(port, log_path, options)
        server.options = options
        shown = ", ".join(f"{k}={v}" for k, v in options.items() if k != "extra_buckets") or "defaults"
    if limiter:
        limiter.apply(server, f"{Path(log_name).stem}-{port}")
        shown += f"; {limiter.limit}"
    server.start()
    print(f"{target.started_by_gate} on http://{LOOPBACK}:{port} ({shown}); log {log_path}", file=out)
    return server



def replica_set(scenario: Scenario, server_options: dict[str, object] | None, sla: SlaSpec, limiter: Limiter, run_dir: Path, out: TextIO) -> ReplicaSet:
    """The replicas behind HAProxy (target.replicas, scale_to), each started as the service under test."""
    t = scenario.target
    return ReplicaSet(
        t.replicas, scenario.max_replicas,
        lambda i, port: start_target(scenario, server_options, sla, limiter, port, None, run_dir, out, f"server-{slot_name(i)}.log"),
        run_dir, t.probe_path(), t.routing, t.slowstart, t.ready_timeout, out)



def start_watched(stack: ExitStack, scenario: Scenario, server_options: dict[str, object] | None, sla: SlaSpec, limiter: Limiter, port: int,
                   metrics_port: int | None, run_dir: Path, host: str, out: TextIO) -> tuple[ManagedProcess, ReadyWatch]:
    """The service under test started fresh, and a probe timing it to ready (both stopped with
    `stack`). Started while Prometheus discovers its targets (up to ~5 s): Locust holds the first
    request until it has been scraped, and the cold start is timed from the process start."""
    server = start_target(scenario, server_options, sla, limiter, port, metrics_port, run_dir, out)
    stack.callback(server.stop)
    ready = ReadyWatch(host, scenario.target.probe_path(), server.alive, scenario.target.ready_timeout).start()
    stack.callback(ready.stop)
    return server, ready



def server_record(scenario: Scenario, server: ManagedProcess, ready: ReadyWatch | None, replicas: ReplicaSet | None,
                   port: int | None, died: dict | None, limiter: Limiter) -> Callable[[RunManifest], dict]:
    """run.json's `server` of a manifest (whose phases the CPU figures are cut by): what the gate
    started, when it was ready, how it was limited, whether it died."""
    return lambda manifest: {
        "started_by_gate": True, "start": server.started_at, "port": replicas.port if replicas else port,
        "ready": ready.ready_at if ready else None, "ready_path": scenario.target.probe_path(),
        **({"options": json_value(server.options)} if server.options else {"command": server.argv}),
        **({"exited": died} if died else {}),
        **({"replicas": replicas.describe(lambda p: limiter.describe(p.group, manifest.phases) if limiter else None)} if replicas else {}),
        **({"cpu": limiter.describe(server.group, manifest.phases)} if limiter and not replicas else {})}
