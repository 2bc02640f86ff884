"""What a test sees of the processes a harness started: read without racing their exits.

A child can exit between being listed and being read (Paddle and Locust start short-lived helpers),
so every read of another process tolerates it being gone.
"""

from __future__ import annotations

import os

import psutil

from sla.limits import TEST_CPUS_ENV


def env_without_slowdown() -> dict[str, str]:
    """This environment without the suite's slowdown (SLA_TEST_CPUS), for a run whose subject a CPU
    quota distorts where a slower CPU would not: the quota stops a server for the rest of each 100 ms
    period it overruns its share, so a few requests wait far longer than the rest."""
    return {k: v for k, v in os.environ.items() if k != TEST_CPUS_ENV}


def children(pid: int, recursive: bool = True) -> dict[int, str]:
    """pid -> command line of the processes under `pid` now (those that exit while read are left out)."""
    found = {}
    for child in psutil.Process(pid).children(recursive=recursive):
        try:
            found[child.pid] = " ".join(child.cmdline())
        except psutil.Error:
            continue
    return found


def left_running(pids: set[int]) -> list[int]:
    """The pids still running (zombies, which are only waiting for their parent's wait, excluded)."""
    alive = []
    for pid in pids:
        try:
            if psutil.Process(pid).status() != psutil.STATUS_ZOMBIE:
                alive.append(pid)
        except psutil.Error:
            continue
    return alive


def interrupt_when_up(argv: list[str], cwd, up, timeout_s: float = 120.0, what: str = "the run never had all its parts up"):
    """Run `argv` as in a terminal's foreground (SIGINT at its default, whatever this test runs
    under), wait until `up(children)` holds for its processes, Ctrl-C it, and return
    (returncode, stderr, every child pid seen)."""
    import signal
    import subprocess
    import time

    import pytest

    proc = subprocess.Popen(argv, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    seen: set[int] = set()
    try:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            kids = children(proc.pid)
            seen |= set(kids)
            if up(proc.pid, kids):
                break
            time.sleep(0.3)
        else:
            pytest.fail(what)
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    return proc.returncode, err, seen
