"""Phase kinds, registered by their YAML `kind`. Adding a load pattern is adding one parser here.

Each phase can plan itself (users over time) without running anything, so `sla plan` and the
tests see exactly what Locust's shape will be told.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sla.validation import Reader, integer, non_negative, positive
from sla.units import parse_duration, parse_rate

COMMON_KEYS = {"name": "phase name (SLA files refer to it)", "kind": "phase kind", "duration": "how long, e.g. 30s"}


@dataclass(frozen=True)
class Phase:
    name: str
    kind: str
    duration: float  # seconds

    def shape_tick(self) -> tuple[int, float]:
        """What Locust's LoadTestShape returns during this phase: (users, spawn rate per second)."""
        raise NotImplementedError


@dataclass(frozen=True)
class UsersPhase(Phase):
    """Ramp to, or hold, a number of concurrent (closed-model) users at a spawn rate."""

    users: int
    spawn_rate: float  # users per second; a ramp from the previous count takes |delta| / spawn_rate

    def shape_tick(self) -> tuple[int, float]:
        return self.users, self.spawn_rate


PhaseParser = Callable[[Reader, dict[str, Any], str, str, float], Phase | None]
PHASE_KINDS: dict[str, tuple[dict[str, str], PhaseParser]] = {}


def register(kind: str, keys: dict[str, str]) -> Callable[[PhaseParser], PhaseParser]:
    def add(parser: PhaseParser) -> PhaseParser:
        PHASE_KINDS[kind] = ({**COMMON_KEYS, **keys}, parser)
        return parser

    return add


@register("users", {"users": "concurrent users to reach and hold", "spawn_rate": "users started (or stopped) per second, e.g. 2/s; default: all at once"})
def _users(reader: Reader, doc: dict[str, Any], path: str, name: str, duration: float) -> Phase | None:
    users = reader.get(doc, path, "users", non_negative(integer), "a whole number of users, 0 or more")
    default_rate = float(max(users, 1)) if isinstance(users, int) else 1.0
    rate = reader.get(doc, path, "spawn_rate", positive(parse_rate), "users per second, such as 2/s or 2", default_rate)
    if users is None or rate is None:
        return None
    return UsersPhase(name, "users", duration, users, rate)


def _ramp(start: float, target: float, rate: float, t: float) -> float:
    """Users `t` seconds into a move from `start` toward `target` at `rate` users per second."""
    moved = min(abs(target - start), rate * t)
    return start + (moved if target >= start else -moved)


def users_over_time(phases: list[Phase] | tuple[Phase, ...], step_s: float = 1.0) -> list[tuple[float, float]]:
    """Planned (time, users) from start to end, as Locust would spawn them at each phase's rate."""
    points = []
    users, t0 = 0.0, 0.0
    for phase in phases:
        target, rate = phase.shape_tick()
        t = 0.0
        while t < phase.duration - 1e-9:
            points.append((round(t0 + t, 6), _ramp(users, target, rate, t)))
            t += step_s
        users = _ramp(users, target, rate, phase.duration)
        t0 += phase.duration
    points.append((round(t0, 6), users))
    return points


def format_plan(scenario: "Scenario") -> str:  # noqa: F821 - avoids an import cycle
    lines = [f"scenario {scenario.name} ({scenario.path}): {len(scenario.phases)} phases, {scenario.duration:.0f} s"]
    t = 0.0
    for phase in scenario.phases:
        users, rate = phase.shape_tick()
        lines.append(f"  {t:7.0f}s -> {t + phase.duration:7.0f}s  {phase.name:<16} {phase.kind:<8} {users} users at {rate:g}/s")
        t += phase.duration
    step = max(1.0, round(scenario.duration / 20))
    lines.append("  users over time:")
    for at, users in users_over_time(scenario.phases, step):
        lines.append(f"  {at:7.0f}s {users:6.1f} " + "#" * int(round(users)))
    return "\n".join(lines)
