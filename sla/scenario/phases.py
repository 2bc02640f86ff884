"""Phase kinds, registered by their YAML `kind`. Adding a load pattern is adding one parser here.

Each phase can plan itself (users over time) without running anything, so `sla plan` and the
tests see exactly what Locust's shape will be told.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sla.validation import Reader, at_most, integer, non_negative, one_of, positive
from sla.units import parse_rate

# Sane bounds: a typo such as 99999999999h or 1e9 users is refused, not planned.
MAX_PHASE_S = 24 * 3600.0
MAX_USERS = 10_000
MAX_RATE = 100_000.0  # arrivals or users per second
MAX_CONNECTIONS = 10_000
MAX_IN_FLIGHT = 100_000
COMMON_KEYS = {"name": "phase name (SLA files refer to it)", "kind": "phase kind", "duration": "how long, e.g. 30s"}


@dataclass(frozen=True)
class Phase:
    name: str
    kind: str
    duration: float  # seconds

    def shape_tick(self) -> tuple[int, float]:
        """What Locust's LoadTestShape returns during this phase: (users, spawn rate per second)."""
        raise NotImplementedError

    def describe(self) -> str:
        raise NotImplementedError

    @property
    def asked_rate(self) -> float | None:
        """Requests per second asked of the load generator (None for closed-model users)."""
        return None


@dataclass(frozen=True)
class UsersPhase(Phase):
    """Ramp to, or hold, a number of concurrent (closed-model) users at a spawn rate."""

    users: int
    spawn_rate: float  # users per second; a ramp from the previous count takes |delta| / spawn_rate

    def shape_tick(self) -> tuple[int, float]:
        return self.users, self.spawn_rate

    def describe(self) -> str:
        return f"{self.users} users at {self.spawn_rate:g}/s"


@dataclass(frozen=True)
class ArrivalRatePhase(Phase):
    """Open model: requests sent on an arrival clock (constant rate, or a ramp to `to_rate`),
    evenly spaced or Poisson from `seed`, over `connections` connections per load-generator
    process; at most `max_in_flight` pending or running (arrivals beyond it are dropped and
    counted). One dispatcher per Locust process."""

    rate: float  # arrivals per second at the start
    to_rate: float  # at the end (= rate for a constant rate)
    poisson: bool
    seed: int
    max_in_flight: int
    connections: int

    def shape_tick(self) -> tuple[int, float]:
        return 0, 100.0  # no users: each load-generator process's dispatcher sends the arrivals

    def describe(self) -> str:
        rates = f"{self.rate:g}/s" if self.rate == self.to_rate else f"{self.rate:g}/s -> {self.to_rate:g}/s"
        return f"arrivals {rates} ({'poisson' if self.poisson else 'even'}, {self.connections} connections, at most {self.max_in_flight} in flight)"

    @property
    def asked_rate(self) -> float:
        return (self.rate + self.to_rate) / 2.0


PhaseParser = Callable[[Reader, dict[str, Any], str, str, float], Phase | None]
PHASE_KINDS: dict[str, tuple[dict[str, str], PhaseParser]] = {}


def register(kind: str, keys: dict[str, str]) -> Callable[[PhaseParser], PhaseParser]:
    def add(parser: PhaseParser) -> PhaseParser:
        PHASE_KINDS[kind] = ({**COMMON_KEYS, **keys}, parser)
        return parser

    return add


@register("users", {"users": "concurrent users to reach and hold", "spawn_rate": "users started (or stopped) per second, e.g. 2/s; default: all at once"})
def _users(reader: Reader, doc: dict[str, Any], path: str, name: str, duration: float) -> Phase | None:
    users = reader.get(doc, path, "users", at_most(MAX_USERS, f"{MAX_USERS:,} users", non_negative(integer)), f"a whole number of users, 0 to {MAX_USERS:,}")
    default_rate = float(max(users, 1)) if isinstance(users, int) else 1.0
    rate = reader.get(doc, path, "spawn_rate", at_most(MAX_RATE, f"{MAX_RATE:,.0f}/s", positive(parse_rate)), "users per second, such as 2/s or 2", default_rate)
    if users is None or rate is None:
        return None
    return UsersPhase(name, "users", duration, users, rate)


ARRIVALS = ("even", "poisson")


@register("arrival_rate", {
    "rate": "arrivals per second, e.g. 20/s (the start of a ramp)",
    "to": "arrivals per second at the end: a linear ramp from rate (default: constant)",
    "arrivals": f"spacing: {' or '.join(ARRIVALS)} (default even)",
    "seed": "seed of the Poisson arrivals (default 1)",
    "max_in_flight": "requests pending or running at most, per load-generator process (default 256); more are dropped",
    "connections": "connections per load-generator process (default 32); requests wait for one (wrk2's model)",
})
def _arrival_rate(reader: Reader, doc: dict[str, Any], path: str, name: str, duration: float) -> Phase | None:
    rate = reader.get(doc, path, "rate", at_most(MAX_RATE, f"{MAX_RATE:,.0f}/s", positive(parse_rate)), f"a positive rate such as 20/s, at most {MAX_RATE:,.0f}/s")
    to_rate = reader.get(doc, path, "to", at_most(MAX_RATE, f"{MAX_RATE:,.0f}/s", positive(parse_rate)), f"a positive rate such as 40/s, at most {MAX_RATE:,.0f}/s", rate)
    spacing = reader.get(doc, path, "arrivals", one_of(ARRIVALS), " or ".join(ARRIVALS), "even")
    seed = reader.get(doc, path, "seed", integer, "a whole number", 1)
    in_flight = reader.get(doc, path, "max_in_flight", at_most(MAX_IN_FLIGHT, f"{MAX_IN_FLIGHT:,}", positive(integer)), f"a whole number, 1 to {MAX_IN_FLIGHT:,}", 256)
    connections = reader.get(doc, path, "connections", at_most(MAX_CONNECTIONS, f"{MAX_CONNECTIONS:,}", positive(integer)), f"a whole number, 1 to {MAX_CONNECTIONS:,}", 32)
    if None in (rate, to_rate, spacing, seed, in_flight, connections):
        return None
    return ArrivalRatePhase(name, "arrival_rate", duration, rate, to_rate, spacing == "poisson", seed, in_flight, connections)


def _ramp(start: float, target: float, rate: float, t: float) -> float:
    """Users `t` seconds into a move from `start` toward `target` at `rate` users per second."""
    moved = min(abs(target - start), rate * t) if math.isfinite(rate) else abs(target - start)
    return start + (moved if target >= start else -moved)


def users_over_time(phases: list[Phase] | tuple[Phase, ...], step_s: float = 1.0) -> list[tuple[float, float]]:
    """Planned (time, users) from start to end, as Locust would spawn them at each phase's rate."""
    points = []
    users, t0 = 0.0, 0.0
    for phase in phases:
        target, rate = phase.shape_tick()
        if phase.asked_rate is not None:  # open model: one dispatcher, no ramp of users
            target, rate = 1, math.inf
        t = 0.0
        while t < phase.duration - 1e-9:
            points.append((round(t0 + t, 6), _ramp(users, target, rate, t)))
            t += step_s
        users = _ramp(users, target, rate, phase.duration)
        t0 += phase.duration
    points.append((round(t0, 6), users))
    return points

