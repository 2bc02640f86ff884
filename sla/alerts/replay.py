"""Replay: would the generated alerts have fired during a run?

The rules are built inline (each alert's expression holds the recorded expressions, since the
run's Prometheus never evaluated the recording rules) and asked of the Prometheus that holds the
run's data, as range queries at the rules' evaluation interval over the run's times. An alert
fires where its expression has held at every evaluation for its `for:` duration, as Prometheus'
rule manager decides (pending from the first evaluation it holds, firing once `for` has passed).

Evaluations start where the longest range the alert reads lies inside the run: earlier, a window
would reach back before the data and read a rate over less than its length. An alert whose window
and `for` do not fit in the run cannot decide, and says so; it is never reported as quiet.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from sla.tables import markdown_table
from sla.alerts.model import Rule, RuleSet, prom_duration
from sla.prometheus.client import PromReader
from sla.manifest import RunManifest

FIRES, QUIET, UNDECIDED = "fires", "does not fire", "cannot decide"


@dataclass
class Replayed:
    alert: str
    severity: str
    objective: str | None
    outcome: str  # FIRES, QUIET or UNDECIDED
    at: float | None = None  # Unix time it would have started firing
    detail: str = ""
    gate: str | None = None  # the gate's verdict of its objective in that run

    def to_json(self, started: float) -> dict[str, Any]:
        return {"alert": self.alert, "severity": self.severity, "objective": self.objective, "outcome": self.outcome,
                "at": self.at, "after_start_s": None if self.at is None else round(self.at - started, 3),
                "detail": self.detail, "gate": self.gate}


def data_span(manifest: RunManifest) -> tuple[float, float]:
    """From the server's start (when the gate started it) or the run's start, to the run's end."""
    start = manifest.server.get("start") or manifest.started_at
    return float(min(start, manifest.started_at)), float(manifest.ended_at)


def first_firing(points: dict[float, bool], grid: list[float], for_s: float) -> float | None:
    """The first evaluation at which the condition has held since at least `for_s` earlier, at every
    evaluation in between (Prometheus' pending -> firing)."""
    active_at = None
    for t in grid:
        if points.get(t):
            active_at = t if active_at is None else active_at
            if t - active_at >= for_s - 1e-6:
                return t
        else:
            active_at = None
    return None


def phase_at(manifest: RunManifest, t: float) -> str:
    for w in manifest.phases:
        if w.start <= t <= w.end:
            return w.name
    return "before the phases" if manifest.phases and t < manifest.phases[0].start else "after the phases"


def replay_alert(rule: Rule, reader: PromReader, manifest: RunManifest, step_s: float) -> Replayed:
    start, end = data_span(manifest)
    needed = rule.window_s + rule.for_s
    base = Replayed(rule.alert or "", rule.labels.get("severity", ""), rule.objective, UNDECIDED)
    if end - start < needed:
        base.detail = (f"needs {prom_duration(needed)} of data (its {prom_duration(rule.window_s)} window"
                       + (f" and `for: {prom_duration(rule.for_s)}`" if rule.for_s else "") + f"), the run has {end - start:.0f} s")
        return base
    first = float(math.ceil(start + rule.window_s))  # whole seconds: the client rounds a range query's times
    grid = [first + k * step_s for k in range(int((end - first) // step_s) + 1)]
    fired_at: list[tuple[float, dict]] = []
    for s in reader.range(rule.expr, grid[0], grid[-1], step_s):
        at = first_firing({float(t): True for t, _ in s["values"]}, grid, rule.for_s)
        if at is not None:
            fired_at.append((at, s["metric"]))
    if not fired_at:
        base.outcome = QUIET
        base.detail = f"evaluated every {prom_duration(step_s)} from {first - manifest.started_at:+.0f} s to the run's end"
        return base
    at, labels = min(fired_at, key=lambda x: x[0])
    base.outcome, base.at = FIRES, at
    shown = ", ".join(f"{k}={v}" for k, v in sorted(labels.items()) if k != "__name__")
    base.detail = (f"{at - manifest.started_at:.0f} s after the run's start ({phase_at(manifest, at)}, "
                   f"{datetime.fromtimestamp(at, timezone.utc).strftime('%H:%M:%S')} UTC)" + (f"; {shown}" if shown else ""))
    return base


def replay(rules: RuleSet, reader: PromReader, manifest: RunManifest, step_s: float, gate: dict[str, str]) -> list[Replayed]:
    """Every alert of inline-built `rules` over the run; `gate` maps objective ids to the gate's verdicts."""
    out = []
    for rule in rules.alerts:
        row = replay_alert(rule, reader, manifest, step_s)
        row.gate = gate.get(rule.objective) if rule.objective else None
        out.append(row)
    return out


def replay_table(rows: list[Replayed]) -> str:
    return "\n".join(markdown_table(("alert", "severity", "objective", "gate", "replay", "when / why"),
                                     ((r.alert, r.severity, r.objective or "", r.gate or "", f"**{r.outcome}**", r.detail) for r in rows)))
