"""Progress of a running scenario, read from the load generator's metrics endpoint: phase, time
left, users, requests/s and P99 over the last interval, failures. One line per update (CI logs)."""

from __future__ import annotations

import time
from typing import TextIO

from prometheus_client.parser import text_string_to_metric_families

from sla.analysis.stats import Buckets
from sla.scenario import Scenario
from sla.units import format_duration


# The lines a progress line reads: the endpoint holds thousands more (every phase's and timing's
# buckets), and parsing them all took a fifth of a second of the slower CPU every two seconds.
READ = ("loadgen_request_duration_seconds_count", "loadgen_phase", "loadgen_users", "loadgen_workers")
BUCKET = "loadgen_request_duration_seconds_bucket"


def _read(line: str) -> bool:
    if line.startswith(BUCKET):
        return 'outcome="success"' in line and 'timing="intended"' not in line
    return line.startswith(READ)


def parse(exposition: str) -> tuple[dict[float, float], float, float, str, float, float]:
    """(success buckets summed over all series, successes, failures, current phase, users, workers)."""
    buckets: dict[float, float] = {}
    ok = failed = users = workers = 0.0
    phase = ""
    for family in text_string_to_metric_families("\n".join(filter(_read, exposition.splitlines()))):
        for s in family.samples:
            if s.labels.get("timing", "actual") != "actual":
                continue  # each arrival-rate request is also counted from its intended send time
            if s.name == "loadgen_request_duration_seconds_bucket" and s.labels.get("outcome") == "success":
                le = float(s.labels["le"])
                buckets[le] = buckets.get(le, 0.0) + s.value
            elif s.name == "loadgen_request_duration_seconds_count":
                if s.labels.get("outcome") == "success":  # failure and shed both count as failed
                    ok += s.value
                else:
                    failed += s.value
            elif s.name == "loadgen_phase" and s.value == 1:
                phase = s.labels["phase"]
            elif s.name == "loadgen_users":
                users = s.value
            elif s.name == "loadgen_workers":
                workers = s.value
    return buckets, ok, failed, phase, users, workers


def current_phase(exposition: str) -> str:
    """The phase running now ("" before the first and after the last)."""
    for family in text_string_to_metric_families(exposition):
        if family.name == "loadgen_phase":
            return next((s.labels["phase"] for s in family.samples if s.value == 1), "")
    return ""


class Progress:
    def __init__(self, scenario: Scenario, out: TextIO, expect_workers: int = 0) -> None:
        self.scenario = scenario
        self.out = out
        self.expect_workers = expect_workers  # external Locust workers the master waits for
        self.workers_shown: float | None = None
        self.shown_at = 0.0
        self.started: float | None = None
        self.last: tuple[float, dict[float, float], float] | None = None

    def due(self, every_s: float = 2.0) -> bool:
        """A progress line is due (when the endpoint is read more often than lines are printed)."""
        if time.monotonic() - self.shown_at < every_s:
            return False
        self.shown_at = time.monotonic()
        return True

    def update(self, exposition: str, now: float | None = None) -> None:
        now = time.monotonic() if now is None else now
        buckets, ok, failed, phase, users, workers = parse(exposition)
        if not phase:
            if self.expect_workers and self.started is None and workers != self.workers_shown:
                print(f"waiting for load-generator workers: {workers:.0f} of {self.expect_workers} connected", file=self.out, flush=True)
                self.workers_shown = workers
            return  # waiting for workers or the target, or lingering after the run
        if self.started is None:
            self.started = now
        rate, p99 = 0.0, None
        if self.last is not None and now > self.last[0]:
            dt = now - self.last[0]
            rate = (ok - self.last[2]) / dt
            delta = {le: c - self.last[1].get(le, 0.0) for le, c in buckets.items()}
            window = Buckets.from_pairs(delta)
            p99 = window.quantile(0.99) if window.total > 0 else None
        self.last = (now, buckets, ok)
        elapsed = now - self.started
        left = max(0.0, self.scenario.duration - elapsed)
        print(
            f"[{elapsed:5.0f}s, {left:4.0f}s left] phase {phase:<14} users {users:3.0f}  {rate:7.1f} req/s  "
            f"P99 {format_duration(p99) if p99 is not None else '-':>7}  ok {ok:.0f}  failed {failed:.0f}",
            file=self.out, flush=True,
        )

    def done(self) -> None:
        print("load finished; analysing", file=self.out, flush=True)


class SeriesProgress:
    """Progress of a series of gate runs (capacity steps, compared configurations): which step of
    how many, the time elapsed, and an estimate of the time left from the steps done so far."""

    def __init__(self, what: str, out: TextIO) -> None:
        self.what, self.out = what, out
        self.started = time.monotonic()
        self.done: list[float] = []  # seconds each finished step took
        self._step_started = self.started

    def begin(self, index: int, total: int | None, label: str, left: int | None = None) -> None:
        """Step `index` (1-based) of `total` (None: not known in advance; `left`: steps still
        expected after this one, when the caller can tell)."""
        self._step_started = time.monotonic()
        if left is not None:
            of, remaining = f", {left} more expected", left + 1
        elif total is not None:
            of, remaining = f" of {total}", total - index + 1
        else:
            of, remaining = "", None
        mean = sum(self.done) / len(self.done) if self.done else None
        eta = f"about {format_duration(mean * remaining)} left" if mean is not None and remaining is not None else "time left: unknown yet"
        elapsed = format_duration(self._step_started - self.started)
        print(f"\n=== {self.what} {index}{of}: {label} (elapsed {elapsed}, {eta}) ===", file=self.out, flush=True)

    def end(self) -> float:
        """The seconds the step took."""
        self.done.append(time.monotonic() - self._step_started)
        return self.done[-1]
