"""Processes the harness starts: started in their own session, stopped by pid on every exit path.

Every process is stopped with SIGTERM, then SIGKILL after a grace period, and only by the pid we
started (never by name). The process group is signalled so children go too; a descendant that
left the group for a session of its own (BentoML's workers, Ray's) and outlives the stop is
killed by its pid, taken from /proc before the stop. Each child also asks the kernel for SIGTERM
when the harness dies, so a harness killed with SIGKILL leaves nothing.
"""

from __future__ import annotations

import functools
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import requests

from sla.errors import SlaError
from sla.limits import CpuGroup, join_in_child

LOOPBACK = "127.0.0.1"


def _child_setup(procs_file: str | None = None, cores: tuple[int, ...] = ()) -> None:
    """Run in the child before exec. SIGINT back to its default: a harness started as a background
    job of a script inherits SIGINT ignored, and a child started with it ignored would ignore the
    SIGINT the gate stops Locust with. And SIGTERM when the harness dies, even by SIGKILL (Linux's
    PR_SET_PDEATHSIG), so nothing outlives a harness that could not clean up. Then its CPU limit:
    the cgroup of its quota and the cores it may run on (sla/limits.py), inherited by all it starts."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    join_in_child(procs_file, cores)
    try:
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # 1 = PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass  # not Linux: the harness's own stop() is all there is


_HANDED_OUT: set[int] = set()  # ports this process gave its children: never handed out twice
_PORT_LOCK = threading.Lock()


def free_port(host: str = LOOPBACK) -> int:
    """A port free now that this process has not handed out before. A port is released before the
    child binds it, so the kernel may offer it again to the next caller; without this memory the
    gate once gave Prometheus the port it had just given Locust."""
    with _PORT_LOCK:
        for _ in range(1000):
            with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
                s.bind((host, 0))
                port = s.getsockname()[1]
            if port not in _HANDED_OUT:
                _HANDED_OUT.add(port)
                return port
    raise SlaError("no free loopback port found that was not already handed out")


# How servers say their port was taken: Python and Java, Go (Prometheus: "bind: address already in
# use"), Node (EADDRINUSE), and errno 98 on Linux.
_PORT_TAKEN = re.compile(r"address already in use|EADDRINUSE|errno 98", re.IGNORECASE)


class PortClash(SlaError):
    """A child exited at start because another process took the port it was handed: the start is
    run again on a new port (the port is free when picked and bound by the child later)."""


class ManagedProcess:
    """A child process with a log file; a context manager that always stops it."""

    def __init__(self, name: str, argv: Sequence[str], log_path: Path, env: dict[str, str] | None = None,
                 cwd: Path | None = None, stop_signal: int = signal.SIGTERM) -> None:
        self.name = name
        self.stop_signal = stop_signal
        self.argv = list(argv)
        self.log_path = log_path
        self.env = env
        self.cwd = cwd
        self.options: dict[str, object] | None = None  # the reference server's options, when it is one
        self.proc: subprocess.Popen | None = None
        self.started_at = 0.0
        self.log_from = 0
        self.group: CpuGroup | None = None  # its CPU quota's cgroup (target.cpus), removed after it stops
        self.cores: tuple[int, ...] = ()  # the cores it may run on (target.cpuset); () = any

    def limited(self, group: CpuGroup | None, cores: tuple[int, ...] = ()) -> "ManagedProcess":
        """Start it under a CPU quota (a created group) and/or pinned to `cores`."""
        self.group, self.cores = group, tuple(cores)
        return self

    def start(self) -> "ManagedProcess":
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        log = open(self.log_path, "ab")
        self.log_from = log.tell()  # this start's lines only, when the log is appended to
        try:
            self.started_at = time.time()
            self.proc = subprocess.Popen(
                self.argv, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                env=self.env, cwd=self.cwd, start_new_session=True,
                preexec_fn=functools.partial(_child_setup, self.group.procs_file if self.group else None, self.cores),
            )
        except (OSError, subprocess.SubprocessError) as exc:
            self._release()
            where = f" in {self.cwd}" if self.cwd else ""
            raise SlaError(f"could not start the {self.name} ({self.argv[0]}{where}): {getattr(exc, 'strerror', None) or exc}") from None
        finally:
            log.close()
        if self.group is not None:
            self.group.start_sampling()
        return self

    def _release(self) -> None:
        if self.group is not None:
            self.group.remove()

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc else None

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def log_tail(self, lines: int = 15) -> str:
        try:
            with open(self.log_path, "rb") as log:
                log.seek(self.log_from)
                return "\n".join(log.read().decode(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def lost_its_port(self) -> bool:
        """It exited, and its log says its port was taken."""
        return not self.alive() and bool(_PORT_TAKEN.search(self.log_tail(40)))

    def stop(self, grace_s: float = 10.0) -> None:
        """Stop it (its whole process group), then remove its cgroup, if it has one."""
        try:
            self._stop(grace_s)
        finally:
            self._release()

    def _stop(self, grace_s: float) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        others = descendants(self.proc.pid)  # taken now: once their parent is gone, they are init's
        try:
            for sig, wait in ((self.stop_signal, grace_s), (signal.SIGKILL, 5.0)):
                try:
                    os.killpg(self.proc.pid, sig)  # its own session: the group id is its pid
                except ProcessLookupError:
                    return
                try:
                    self.proc.wait(wait)
                    return
                except subprocess.TimeoutExpired:
                    continue
        finally:
            _kill_survivors(others)

    def __enter__(self) -> "ManagedProcess":
        return self.start() if self.proc is None else self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _proc_stat(pid: int) -> tuple[int, int] | None:
    """(parent pid, start time in clock ticks) of a live process, from /proc; None if it is gone."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    except (OSError, ValueError):
        return None
    return (int(fields[1]), int(fields[19])) if fields[0] != "Z" else None


def descendants(pid: int) -> list[tuple[int, int]]:
    """Every live descendant of `pid` (pid, start time), from /proc."""
    children: dict[int, list[tuple[int, int]]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and (stat := _proc_stat(int(entry.name))) is not None:
            children.setdefault(stat[0], []).append((int(entry.name), stat[1]))
    out, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            out.append(child)
            todo.append(child[0])
    return out


def _kill_survivors(processes: list[tuple[int, int]], grace_s: float = 5.0) -> None:
    """Stop those of `processes` (pid, start time) still alive: SIGTERM, then SIGKILL after a grace.
    Only the same process (its start time unchanged), never a pid the kernel gave to another since."""
    def alive(group: list[tuple[int, int]]) -> list[tuple[int, int]]:
        return [(pid, start) for pid, start in group if (_proc_stat(pid) or (0, -1))[1] == start]

    for sig, wait in ((signal.SIGTERM, grace_s), (signal.SIGKILL, 0.0)):
        survivors = alive(processes)
        for pid, _ in survivors:
            try:
                os.kill(pid, sig)
            except ProcessLookupError:
                pass
        deadline = time.monotonic() + wait
        while survivors and time.monotonic() < deadline:
            time.sleep(0.1)
            survivors = alive(survivors)
        processes = survivors


def wait_http_ok(process: ManagedProcess, url: str, timeout_s: float, what: str) -> float:
    """Poll `url` until it answers 200; returns the Unix time it did. Fails fast if the process dies."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if not process.alive():
            error = PortClash if process.lost_its_port() else SlaError
            raise error(f"{process.name} exited before it was {what}; its log ({process.log_path}) ends:\n{process.log_tail()}")
        try:
            if requests.get(url, timeout=2).status_code == 200:
                return time.time()
        except requests.RequestException:
            pass
        time.sleep(0.05)
    raise SlaError(f"{process.name} was not {what} within {timeout_s:.0f} s ({url}); its log ({process.log_path}) ends:\n{process.log_tail()}")


def reference_server(
    port: int, log_path: Path, options: dict[str, object] | None = None, host: str = LOOPBACK
) -> ManagedProcess:
    """The reference server as a managed process; `options` are its flags, e.g. {"threads": 2}."""
    argv = [sys.executable, "-m", "reference_server", "--host", host, "--port", str(port)]
    for key, value in (options or {}).items():
        if isinstance(value, bool):
            value = "on" if value else "off"
        elif isinstance(value, (list, tuple)):
            value = ",".join(f"{v:g}" for v in value)
        argv += ["--" + key.replace("_", "-"), str(value)]
    return ManagedProcess("reference server", argv, log_path)


def command_process(target: Any, port: int, run_dir: Path, log_path: Path, host: str = LOOPBACK,
                    metrics_port: int | None = None) -> ManagedProcess:
    """The scenario's `target.command` as a managed process: {port}, {host}, {run_dir} and
    {metrics_port} substituted in its arguments and `env` values; run in `target.cwd` with the
    harness's environment plus `env`."""
    values = {"port": str(port), "host": host, "run_dir": str(run_dir.resolve()),
              **({"metrics_port": str(metrics_port)} if metrics_port is not None else {})}

    def fill(text: str) -> str:
        for key, value in values.items():
            text = text.replace("{" + key + "}", value)
        return text

    env = {**os.environ, **{k: fill(v) for k, v in target.env.items()}}
    return ManagedProcess("service under test", [fill(a) for a in target.command], log_path, env, target.cwd)
