"""What a test sees of the processes a harness started: read without racing their exits.

A child can exit between being listed and being read (Paddle and Locust start short-lived helpers),
so every read of another process tolerates it being gone.
"""

from __future__ import annotations

import psutil


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
