"""`target:` of a scenario file, parsed: where the load goes, the service the gate starts (the
reference server's options or the user's command), its replicas and its CPU limits."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sla.limits import MIN_CPUS, CpuLimit, cpu_list, cpuset_problems, machine_cpus
from sla.targets import API_REGISTRY, DEFAULT_API, MetricsMapping, TargetApi
from sla.targets.metrics import MAPPINGS, parse_mapping
from sla.targets.reference import SERVER_OPTIONS, ReferenceApi
from sla.units import parse_duration
from sla.validation import Reader, at_most, integer, one_of, positive, text

MAX_REPLICAS = 8  # replicas behind HAProxy (target.replicas, scale_to)
ROUTINGS = ("ready", "immediate", "slowstart")  # sla/balancer.py
START_WHEN = ("ready", "alive", "readyz", "healthz")  # readyz/healthz: the reference server's names of ready/alive

TARGET_KEYS = {
    "api": f"the target's API: {', '.join(API_REGISTRY)} (default {DEFAULT_API})",
    "options": "options of the target's API (see its module in sla/targets/)",
    "host": "base URL of a running server, e.g. http://127.0.0.1:8866",
    "start_when": "when the first request may go: ready (the readiness endpoint answers 200; default) or alive",
    "fresh": "start a fresh server for this run (cold start), true/false",
    "server": "settings of the reference server when the harness starts it",
    "metrics": f"its server metrics: a shipped mapping ({', '.join(MAPPINGS)}) or your stack's (see docs/own-service.md); default the API's",
    "command": "start the service under test for the run: an argv list, {port} {host} {run_dir} {metrics_port} substituted",
    "env": "environment variables for command (values substituted like command)",
    "cwd": "working directory of command, relative to the scenario file (default: the scenario's folder)",
    "ready_path": "readiness endpoint, overriding the API's (GET answers 200 once the service can serve)",
    "ready_timeout": "how long the service may take to get ready, e.g. 2m (default 5m)",
    "replicas": f"instances the gate starts behind HAProxy, 1 to {MAX_REPLICAS} (default 1: no balancer)",
    "routing": "how the balancer takes a new replica into the pool: ready (after its readiness check; default), "
               "immediate (at once), or slowstart (after the check, its weight ramped up over target.slowstart)",
    "slowstart": "with routing slowstart: the ramp, e.g. 10s (default 10s)",
    "cpus": "a CPU quota for the service the gate starts, in cores (e.g. 0.5 or 1.5), as Docker's --cpus and a "
            "Kubernetes CPU limit: each replica gets its own",
    "cpuset": "the cores the service the gate starts may run on, e.g. [1] or \"0-1\"; the load generator then runs on the others",
}
SERVER_KEYS = {name: "reference server option" for name in SERVER_OPTIONS}
DEFAULT_READY_TIMEOUT = 300.0


@dataclass(frozen=True)
class Target:
    host: str | None = None
    start_when: str = "ready"
    fresh: bool = False
    server: dict[str, Any] = field(default_factory=dict)
    api: TargetApi = field(default_factory=ReferenceApi)
    command: tuple[str, ...] = ()
    env: dict[str, str] = field(default_factory=dict)
    cwd: Path | None = None
    ready_path: str | None = None  # overrides the API's
    ready_timeout: float = DEFAULT_READY_TIMEOUT
    metrics: MetricsMapping | None = None  # where its server metrics are and what they are called
    replicas: int = 1  # instances behind HAProxy (1 and no scale_to: the instance itself, no balancer)
    routing: str = "ready"  # how HAProxy takes a new replica into the pool (sla/balancer.py)
    slowstart: float = 10.0
    cpu: CpuLimit = CpuLimit()  # the quota and cores of each service the gate starts (sla/limits.py)

    @property
    def metrics_port_given(self) -> bool:
        """The command takes {metrics_port}: the gate picks that port and scrapes the server there."""
        return any("{metrics_port}" in a for a in (*self.command, *self.env.values()))

    @property
    def api_name(self) -> str:
        return self.api.name

    @property
    def waits_until_ready(self) -> bool:
        return self.start_when in ("ready", "readyz")

    def probe_path(self, ready: bool = True) -> str | None:
        """GET path that answers 200 when the target is ready (or alive); None: the port accepts connections."""
        if self.ready_path is not None and (ready or self.api.alive_path is None):
            return self.ready_path
        return self.api.probe_path(ready)

    @property
    def started_by_gate(self) -> str:
        """What the gate starts when no --host is given: a command, or the reference server."""
        return "service under test (target.command)" if self.command else "reference server"


def _boolean(value: Any) -> bool:
    if not isinstance(value, bool):
        raise ValueError(f"got {value!r}, not true/false")
    return value


def server_value(key: str):
    """The converter of one reference-server option, by its type (SERVER_OPTIONS)."""
    kind = SERVER_OPTIONS[key]

    def convert(value: Any) -> Any:
        if kind is bool:
            return _boolean(value)
        if kind is int:
            return integer(value)
        if kind is tuple:
            if not isinstance(value, list) or not all(isinstance(v, (int, float)) for v in value):
                raise ValueError(f"got {value!r}, not a list of seconds")
            return tuple(float(v) for v in value)
        return str(value)

    return convert


def _argv(value: Any) -> tuple[str, ...]:
    if not isinstance(value, list) or not value or not all(isinstance(v, (str, int, float)) and not isinstance(v, bool) for v in value):
        raise ValueError(f"got {value!r}, not a non-empty list of arguments")
    return tuple(str(v) for v in value)


def _env(value: Any) -> dict[str, str]:
    if not isinstance(value, dict) or not all(isinstance(k, str) and isinstance(v, (str, int, float)) and not isinstance(v, bool) for k, v in value.items()):
        raise ValueError(f"got {value!r}, not a mapping of variable name to value")
    return {k: str(v) for k, v in value.items()}


def _cpus(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"got {value!r}, not a number of cores")
    if value < MIN_CPUS:
        raise ValueError(f"got {value!r}: a quota must be at least {MIN_CPUS:g} cores")
    if value > (have := machine_cpus()):
        raise ValueError(f"got {value!r}: more than the {have} cores this machine has")
    return float(value)


def _cpuset(value: Any) -> tuple[int, ...]:
    if isinstance(value, list) and value and all(isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in value):
        return tuple(sorted(set(value)))
    if isinstance(value, (str, int)) and not isinstance(value, bool):
        return cpu_list(str(value))
    raise ValueError(f"got {value!r}, not a list of core numbers")


def _url_path(value: Any) -> str:
    if not isinstance(value, str) or not value.startswith("/"):
        raise ValueError(f"got {value!r}, not a path starting with /")
    return value


def _api(reader: Reader, doc: dict[str, Any]) -> TargetApi:
    name = doc.get("api", DEFAULT_API)
    cls = API_REGISTRY.get(name) if isinstance(name, str) else None
    options = doc.get("options") or {}
    if cls is None:
        reader.problem("target.api", f"{name!r} is not a target API; accepted: {', '.join(API_REGISTRY)}")
        return ReferenceApi()
    options = reader.mapping(options, "target.options", cls.options or {"(none)": f"the {name} API takes no options"})
    return cls.parse(reader, {k: v for k, v in options.items() if k in cls.options}, "target.options")


def parse_target(reader: Reader, doc: Any, base: Path) -> Target:
    doc = reader.mapping(doc, "target", TARGET_KEYS)
    api = _api(reader, doc)
    host = reader.get(doc, "target", "host", text, "a base URL such as http://127.0.0.1:8866", None)
    start_when = reader.get(doc, "target", "start_when", one_of(START_WHEN), "ready or alive", "ready")
    fresh = reader.get(doc, "target", "fresh", _boolean, "true or false", False)
    command = reader.get(doc, "target", "command", _argv, "an argv list such as [my-server, --port, \"{port}\"]", ())
    env = reader.get(doc, "target", "env", _env, "a mapping of variable name to value", {})
    cwd = reader.get(doc, "target", "cwd", text, "a directory, relative to the scenario file", None)
    ready_path = reader.get(doc, "target", "ready_path", _url_path, "a path such as /health", None)
    ready_timeout = reader.get(doc, "target", "ready_timeout", positive(parse_duration), "a duration such as 2m", DEFAULT_READY_TIMEOUT)
    if (env or cwd) and not command:
        reader.problem("target.env" if env else "target.cwd", "applies to target.command, which is not set")
    server_doc = reader.mapping(doc.get("server") or {}, "target.server", SERVER_KEYS)
    if server_doc and (command or api.name != ReferenceApi.name):
        reader.problem("target.server", "options of the reference server, which the gate starts only for api reference "
                       "without a command; set your service's options in target.command")
        server_doc = {}
    server = {}
    for key in server_doc:
        if key in SERVER_KEYS:
            value = reader.get(server_doc, "target.server", key, server_value(key), f"a value like the server's --{key.replace('_', '-')}")
            if value is not None:
                server[key] = value
    metrics = parse_mapping(reader, doc.get("metrics"), "target.metrics", api.server_metrics())
    takes_port = any("{metrics_port}" in a for a in (*(command or ()), *(env or {}).values()))
    if metrics is not None and metrics.own_port and metrics.port is None and not takes_port:
        reader.problem("target.metrics", f"the {metrics.name} metrics are on a port of their own that the stack picks at random "
                       "unless told: pass {metrics_port} to its command (for Ray: ray start --metrics-export-port "
                       "{metrics_port}), or give the port, e.g. metrics: {like: " + metrics.name + ", port: 8080}")
    replicas = reader.get(doc, "target", "replicas", at_most(MAX_REPLICAS, str(MAX_REPLICAS), positive(integer)),
                          f"a whole number of instances, 1 to {MAX_REPLICAS}", 1)
    routing = reader.get(doc, "target", "routing", one_of(ROUTINGS), " or ".join(ROUTINGS), "ready")
    slowstart = reader.get(doc, "target", "slowstart", positive(parse_duration), "a duration such as 10s", 10.0)
    if (replicas or 1) > 1 and host is not None:
        reader.problem("target.replicas", "the gate starts the replicas, so it cannot aim at a running target.host as well")
    cpu = CpuLimit(reader.get(doc, "target", "cpus", _cpus, "a number of cores such as 0.5 or 1.5", None),
                   reader.get(doc, "target", "cpuset", _cpuset, "cores such as [1] or \"0-1\"", None) or ())
    if cpu and host is not None:
        reader.problem("target.cpus" if cpu.cpus is not None else "target.cpuset",
                       "limits a service the gate starts; target.host is a running one, which the gate does not start")
    elif cpu.cpuset:
        for problem in cpuset_problems(cpu.cpuset, cpu.cpus):
            reader.problem("target.cpuset", problem)
    return Target(host, start_when or "ready", bool(fresh), server, api, command or (), env or {},
                  (base / cwd).resolve() if cwd else (base if command else None), ready_path, ready_timeout or DEFAULT_READY_TIMEOUT,
                  metrics, replicas or 1, routing or "ready", slowstart or 10.0, cpu)

