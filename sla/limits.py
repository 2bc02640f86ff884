"""CPU limits of a service the gate starts: a CFS quota (`target.cpus`) and pinning (`target.cpuset`).

`cpus: N` runs the service in a cgroup of its own whose CFS quota is N cores' worth per period, as
Docker's `--cpus` and a Kubernetes CPU limit do: cgroup v2 `cpu.max` where the unified hierarchy
has the cpu controller, else the v1 cpu controller (`cpu.cfs_quota_us` / `cpu.cfs_period_us`).
The child joins its group before it execs, so every thread and child it starts is limited too.
`cpuset: [1]` pins it to those cores (the affinity is inherited the same way); the load generator
then runs on the other cores, so that the two never compete on a small machine.

Each group is sampled while it lives (`cpu.stat`: periods, throttled periods, throttled time), so
the throttling of every phase can be told afterwards, and removed when its process has stopped,
however the run ended. A gate killed outright cannot remove its groups: the next gate removes any
empty group whose gate is gone (the gate's pid is in the group's name).
"""

from __future__ import annotations

import os
import re
import threading
import time
from bisect import bisect_left
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sla.errors import SlaError

CGROUP_ROOT_ENV = "SLA_CGROUP_ROOT"  # where the cgroup hierarchies are mounted (default /sys/fs/cgroup)
# Test-only: a quota for every service the gate starts whose scenario sets none, so that the whole
# suite can run as on a slower CPU (`SLA_TEST_CPUS=0.33 make test`); see docs/getting-started.md.
TEST_CPUS_ENV = "SLA_TEST_CPUS"
DEFAULT_CGROUP_ROOT = "/sys/fs/cgroup"
PERIOD_US = 100_000  # the CFS period Docker and Kubernetes use
MIN_CPUS = 0.01  # a quota under 1 ms per period is refused by the kernel
SAMPLE_EVERY_S = 0.25
GROUP_PREFIX = "sla-gate-"
_GROUP_NAME = re.compile(GROUP_PREFIX + r"(\d+)-")


class CpuLimitError(SlaError):
    """A CPU limit that cannot be applied on this machine; says why and what would work."""


@dataclass(frozen=True)
class CpuLimit:
    """What limits a started service: a quota in cores and/or the cores it may run on."""

    cpus: float | None = None
    cpuset: tuple[int, ...] = ()

    def __bool__(self) -> bool:
        return self.cpus is not None or bool(self.cpuset)

    def describe(self) -> dict[str, Any]:
        return {"cpus": self.cpus, "cpuset": list(self.cpuset) or None}

    def __str__(self) -> str:  # as the start line shows it: "cpus 0.5, cpuset 1"
        return ", ".join(filter(None, [f"cpus {self.cpus:g}" if self.cpus is not None else "",
                                       f"cpuset {','.join(map(str, self.cpuset))}" if self.cpuset else ""]))


def machine_cpus() -> int:
    """The machine's cores (what a limit is checked against). Not this process's affinity: the
    scenario is read again by a load generator that is itself pinned off the service's cores."""
    return os.cpu_count() or 1


def cpu_list(text: str) -> tuple[int, ...]:
    """A Linux cpu list ("1", "0-1", "0,2-3") or a YAML list of ints as cores, sorted and unique."""
    cores: set[int] = set()
    for part in filter(None, (p.strip() for p in text.split(","))):
        low, _, high = part.partition("-")
        if not low.isdigit() or (high and not high.isdigit()):
            raise ValueError(f"{part!r} is not a core number or a range such as 0-1")
        first, last = int(low), int(high or low)
        if last < first:
            raise ValueError(f"{part!r}: a range runs from low to high")
        cores.update(range(first, last + 1))
    if not cores:
        raise ValueError("no cores named")
    return tuple(sorted(cores))


def cpu_list_text(cores: Iterable[int]) -> str:
    """Cores as Linux writes a cpu list (the inverse of cpu_list): [0, 1, 2, 5] -> "0-2,5"."""
    runs: list[list[int]] = []
    for core in sorted(set(cores)):
        if runs and runs[-1][1] == core - 1:
            runs[-1][1] = core
        else:
            runs.append([core, core])
    return ",".join(f"{low}-{high}" if high > low else str(low) for low, high in runs)


def other_cores(cpuset: Iterable[int]) -> tuple[int, ...]:
    """The cores of this process's affinity outside `cpuset` (where the load generator runs)."""
    return tuple(sorted(set(os.sched_getaffinity(0)) - set(cpuset)))


# -- the cgroup controller ----------------------------------------------------------------------


@dataclass(frozen=True)
class Controller:
    """A writable cpu controller: where groups are made and how their quota is written."""

    path: Path
    version: int  # 1 or 2

    def quota_files(self, cpus: float) -> list[tuple[str, str]]:
        quota = max(int(round(cpus * PERIOD_US)), 1000)
        if self.version == 2:
            return [("cpu.max", f"{quota} {PERIOD_US}")]
        return [("cpu.cfs_period_us", str(PERIOD_US)), ("cpu.cfs_quota_us", str(quota))]


def cgroup_root(environ: dict[str, str] | None = None) -> Path:
    return Path((environ if environ is not None else os.environ).get(CGROUP_ROOT_ENV) or DEFAULT_CGROUP_ROOT)


def find_controller(root: Path | None = None) -> Controller:
    """The writable cpu controller under `root`: cgroup v2 (root itself, or its `unified` mount in a
    hybrid layout) when it delegates `cpu`, else v1's `cpu` hierarchy. CpuLimitError says what was
    looked at and why none would do."""
    root = root or cgroup_root()
    tried: list[str] = []
    for v2 in (root, root / "unified"):
        controllers = v2 / "cgroup.controllers"
        if not controllers.is_file():
            continue
        if "cpu" not in controllers.read_text().split():
            tried.append(f"{v2} (cgroup v2) has no cpu controller (it is bound to cgroup v1 here)")
        elif not os.access(v2, os.W_OK):
            tried.append(f"{v2} (cgroup v2) is not writable by this user")
        else:
            subtree = v2 / "cgroup.subtree_control"
            if "cpu" not in subtree.read_text().split():
                try:
                    subtree.write_text("+cpu")
                except OSError as exc:
                    tried.append(f"{subtree}: cannot enable the cpu controller for child groups ({exc.strerror or exc})")
                    continue
            _remove_stale(v2)
            return Controller(v2, 2)
    for v1 in (root / "cpu", root / "cpu,cpuacct"):
        if not (v1 / "cpu.cfs_quota_us").is_file():
            continue
        if not os.access(v1, os.W_OK):
            tried.append(f"{v1} (cgroup v1 cpu controller) is not writable by this user")
            continue
        _remove_stale(v1)
        return Controller(v1, 1)
    if not tried:
        tried.append(f"no cgroup cpu controller under {root} (neither cgroup v2 with cpu nor a v1 cpu hierarchy)")
    raise CpuLimitError("target.cpus needs a writable cgroup cpu controller (run as root, or in a container with cgroup "
                        "delegation): " + "; ".join(tried) + f". Remove target.cpus, or set {CGROUP_ROOT_ENV} to where cgroups are mounted")


def _remove_stale(controller: Path) -> None:
    """Groups left by a gate that was killed outright: its pid is gone and the group is empty."""
    for group in controller.glob(GROUP_PREFIX + "*"):
        match = _GROUP_NAME.match(group.name)
        if match and not _alive(int(match.group(1))):
            try:
                group.rmdir()
            except OSError:
                pass  # still holds a process (it will go when that one does) or not ours to remove


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


# -- one group ----------------------------------------------------------------------------------


def read_cpu_stat(path: Path) -> dict[str, float]:
    """`cpu.stat` as periods, throttled periods and throttled seconds (v1 ns or v2 µs counters)."""
    raw: dict[str, float] = {}
    for line in path.read_text().splitlines():
        key, _, value = line.partition(" ")
        if value.strip().lstrip("-").isdigit():
            raw[key] = float(value)
    throttled_s = raw["throttled_usec"] / 1e6 if "throttled_usec" in raw else raw.get("throttled_time", 0.0) / 1e9
    out = {"nr_periods": raw.get("nr_periods", 0.0), "nr_throttled": raw.get("nr_throttled", 0.0), "throttled_s": throttled_s}
    if "usage_usec" in raw:
        out["usage_s"] = raw["usage_usec"] / 1e6
    return out


class CpuGroup:
    """A cgroup with a CPU quota for one started service: made, joined by the child before exec,
    sampled while it runs, removed after its process has stopped."""

    def __init__(self, controller: Controller, name: str, cpus: float) -> None:
        self.controller, self.cpus = controller, cpus
        self.path = controller.path / f"{GROUP_PREFIX}{os.getpid()}-{name}"
        self.samples: list[tuple[float, dict[str, float]]] = []
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def create(self) -> "CpuGroup":
        try:
            self.path.mkdir()
            for file, value in self.controller.quota_files(self.cpus):
                (self.path / file).write_text(value)
        except OSError as exc:
            self.remove()
            raise CpuLimitError(f"could not make the cgroup {self.path} with a quota of {self.cpus:g} cores: "
                                f"{exc.strerror or exc}") from None
        return self

    @property
    def procs_file(self) -> str:
        return str(self.path / "cgroup.procs")

    def stat(self) -> dict[str, float]:
        return read_cpu_stat(self.path / "cpu.stat")

    def start_sampling(self) -> None:
        def sample() -> None:
            while not self._stop.is_set():
                try:
                    self.samples.append((time.time(), self.stat()))
                except OSError:
                    return  # removed
                self._stop.wait(SAMPLE_EVERY_S)

        self._thread = threading.Thread(target=sample, name=f"cpu-stat-{self.path.name}", daemon=True)
        self._thread.start()

    def over(self, start: float, end: float) -> dict[str, float] | None:
        """Periods, throttled periods and throttled seconds between two instants (counters read at
        the samples nearest inside them), or None when the group was not sampled then."""
        times = [t for t, _ in self.samples]
        i, j = bisect_left(times, start), bisect_left(times, end) - 1
        if i >= len(times) or j < i:
            return None
        first, last = self.samples[i][1], self.samples[j][1]
        return {k: round(last[k] - first[k], 6) for k in last if k in first}

    def remove(self, timeout_s: float = 10.0) -> None:
        """Stop sampling and remove the group once its processes are gone (they are stopped first)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(2)
        deadline = time.monotonic() + timeout_s
        while self.path.exists():
            try:
                self.path.rmdir()
                return
            except FileNotFoundError:
                return
            except OSError:
                if time.monotonic() > deadline:
                    return  # a process outlived its stop: the next gate removes the group (_remove_stale)
                time.sleep(0.05)


def own_cpu_quota(root: Path | None = None, proc_cgroup: str | None = None) -> float | None:
    """The CFS quota, in cores, that holds this process: the smallest over its cgroup and the
    groups above it (v2 `cpu.max`, or v1 `cpu.cfs_quota_us` / `cpu.cfs_period_us`); None when
    nothing limits it or the hierarchy cannot be read. `proc_cgroup` is /proc/self/cgroup's text."""
    root = root or cgroup_root()
    if proc_cgroup is None:
        try:
            proc_cgroup = Path("/proc/self/cgroup").read_text()
        except OSError:
            return None
    quotas: list[float] = []
    for line in proc_cgroup.splitlines():
        _, controllers, group = (line.split(":", 2) + ["", ""])[:3]
        if controllers == "":  # v2: "0::/path" (in a hybrid layout, under unified/)
            bases = [root, root / "unified"]
        elif "cpu" in controllers.split(","):
            bases = [root / "cpu", root / controllers]
        else:
            continue
        for base in bases:
            here = base / group.strip().lstrip("/")
            while True:
                quotas.extend(_quota_at(here))
                if here == base or base not in here.parents:
                    break
                here = here.parent
    return min(quotas) if quotas else None


def _quota_at(group: Path) -> list[float]:
    try:
        if (group / "cpu.max").is_file():
            limit, _, period = (group / "cpu.max").read_text().partition(" ")
            return [] if limit == "max" else [int(limit) / int(period)]
        if (group / "cpu.cfs_quota_us").is_file():
            quota = int((group / "cpu.cfs_quota_us").read_text())
            return [] if quota < 0 else [quota / int((group / "cpu.cfs_period_us").read_text())]
    except (OSError, ValueError):
        pass
    return []


def join_in_child(procs_file: str | None, cores: tuple[int, ...]) -> None:
    """Run in a child before exec: join its group (0 is the writer itself) and take its cores."""
    if procs_file:
        fd = os.open(procs_file, os.O_WRONLY)
        try:
            os.write(fd, b"0")
        finally:
            os.close(fd)
    if cores:
        os.sched_setaffinity(0, cores)


def cpuset_problems(cpuset: tuple[int, ...], cpus: float | None) -> list[str]:
    """What is wrong with pinning to `cpuset` (with a quota of `cpus`) on this machine."""
    allowed = list(range(machine_cpus()))
    bad = [c for c in cpuset if c not in allowed]
    if bad:
        return [f"{list(cpuset)}: no core {', '.join(map(str, bad))} here; the cores here are {allowed}"]
    if cpus is not None and cpus > len(cpuset):
        return [f"{list(cpuset)}: {len(cpuset)} core(s), fewer than target.cpus {cpus:g}"]
    return []


def suite_slowdown(limit: CpuLimit, environ: dict[str, str] | None = None) -> CpuLimit:
    """`limit`, with the quota of SLA_TEST_CPUS where it sets none (the suite's slowdown)."""
    value = (environ if environ is not None else os.environ).get(TEST_CPUS_ENV)
    if not value or limit.cpus is not None:
        return limit
    try:
        cpus = float(value)
    except ValueError:
        raise CpuLimitError(f"{TEST_CPUS_ENV}={value!r}: not a number of cores such as 0.33") from None
    return CpuLimit(cpus, limit.cpuset)


class Limiter:
    """Applies one scenario's CPU limit to every service the gate starts (the server, each replica).
    The controller is found when the limiter is made, so a machine that cannot limit is refused
    before any traffic."""

    def __init__(self, limit: CpuLimit, root: Path | None = None) -> None:
        self.limit = limit
        self.controller = find_controller(root) if limit.cpus is not None else None

    def __bool__(self) -> bool:
        return bool(self.limit)

    def apply(self, process: Any, name: str) -> Any:
        """`process` (a ManagedProcess not yet started) under its own group and on its cores."""
        group = CpuGroup(self.controller, name, self.limit.cpus).create() if self.controller and self.limit.cpus else None
        return process.limited(group, self.limit.cpuset)

    @property
    def loadgen_cores(self) -> tuple[int, ...]:
        """Where the load generator runs: the cores the service was not pinned to (none: anywhere)."""
        return other_cores(self.limit.cpuset) if self.limit.cpuset else ()

    def describe(self, group: CpuGroup | None, phases: Iterable[Any]) -> dict[str, Any]:
        """What run.json keeps of one service's limit: the limit, its group, and per phase the
        periods, throttled periods and throttled seconds (`cpu.stat` over the phase's window)."""
        doc: dict[str, Any] = {**self.limit.describe(), "loadgen_cores": list(self.loadgen_cores) or None}
        if group is not None:
            doc.update(cgroup=str(group.path), cgroup_version=group.controller.version, period_us=PERIOD_US,
                       phases={p.name: group.over(p.start, p.end) for p in phases})
        return doc


def cpu_rows(server: dict[str, Any]) -> list[dict[str, Any]]:
    """The CPU limit of each service the gate started, per phase, from run.json's `server`
    section (the service's own `cpu`, or each replica's): for report.md and report.html."""
    services = [("server", server.get("cpu"))] + [(r["replica"], r.get("cpu")) for r in (server.get("replicas") or {}).get("replicas", [])]
    rows = []
    for name, cpu in services:
        if not cpu:
            continue
        limit = ", ".join(filter(None, [f"{cpu['cpus']:g} cores" if cpu.get("cpus") else "",
                                        f"cores {','.join(map(str, cpu['cpuset']))}" if cpu.get("cpuset") else ""]))
        for phase, stat in (cpu.get("phases") or {None: None}).items():
            rows.append({"service": name, "limit": limit, "phase": phase, "loadgen_cores": cpu.get("loadgen_cores"),
                         "periods": stat.get("nr_periods") if stat else None, "throttled": stat.get("nr_throttled") if stat else None,
                         "throttled_s": stat.get("throttled_s") if stat else None})
    return rows
