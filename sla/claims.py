"""Will a scenario collect enough requests for its SLA's claims? Checked from the plan, before traffic.

A percentile claim needs MLPerf's early-stopping count (P99: 459 requests with none over the
limit, 662 with one, ...) and so does an error-rate claim (1 %: 459). An arrival_rate phase
plans an exact count (rate x duration), whatever the machine's speed. A users phase (closed
model) sends as many as the server lets it, which depends on the machine: only claims that a few
seconds of traffic decide belong there.
"""

from __future__ import annotations

from dataclasses import dataclass

from sla.scenario import Scenario
from sla.slafile import SlaSpec

MARGIN = 1.2  # planned requests over the claim's count with none over the limit: room for a few
CLOSED_MAX_NEED = 20  # the most a claim on a users phase may need (P50: 7); the rest belong on the arrival clock


@dataclass(frozen=True)
class Claim:
    objective: str
    phase: str
    need: int  # requests, with none over the limit
    planned: float | None  # requests the plan sends (None: a users phase, machine-dependent)

    @property
    def problem(self) -> str | None:
        if self.planned is None:
            if self.need > CLOSED_MAX_NEED:
                return (f"{self.objective} needs at least {self.need} requests, and phase {self.phase!r} is a users phase "
                        "whose count depends on the machine's speed: make it an arrival_rate phase (rate x duration "
                        f">= {MARGIN * self.need:.0f}) or claim less")
            return None
        if self.planned < MARGIN * self.need:
            return (f"{self.objective} needs at least {self.need} requests ({MARGIN * self.need:.0f} with a margin for a "
                    f"few over the limit); phase {self.phase!r} plans {self.planned:.0f}: run it longer or faster")
        return None


def claims(scenario: Scenario, sla: SlaSpec) -> list[Claim]:
    out = []
    for o in sla.objectives:
        phase = scenario.phase(o.phase) if o.phase else None
        if phase is None:
            continue
        need = o.kind_of.needs(o)
        if not need:
            continue
        planned = phase.asked_rate * phase.duration if phase.asked_rate is not None else None
        out.append(Claim(o.id, phase.name, need, planned))
    return out


# What one load-generator process delivers on the arrival clock, measured with
# benchmarks/bench_peers.py on one pinned core against a null target (a 5 KB page): every arrival
# up to 4,000/s (lag P99 1.2 ms) in two sessions; above that 6,000/s in one session and 4,611/s
# in the next (the host's noise). Bigger payloads and slower answers lower it; the planned ceiling
# is what both sessions delivered.
ARRIVALS_PER_PROCESS = 4000.0


def generator_problems(scenario: Scenario, processes: int = 1) -> list[str]:
    """Arrival rates beyond what the planned load-generator processes can deliver."""
    out = []
    for phase in scenario.phases:
        if phase.asked_rate is None:
            continue
        peak = max(phase.rate, phase.to_rate)  # type: ignore[attr-defined]
        if peak / processes > ARRIVALS_PER_PROCESS:
            need = int(-(-peak // ARRIVALS_PER_PROCESS))
            out.append(f"phase {phase.name!r} asks up to {peak:g}/s, over the {ARRIVALS_PER_PROCESS:,.0f}/s one load-generator "
                       f"process delivers (measured); with {processes} process(es) the load will fall short: use --processes "
                       f"{need} or more (or Locust workers on other machines)")
    return out


def claim_problems(scenario: Scenario, sla: SlaSpec) -> list[str]:
    return [c.problem for c in claims(scenario, sla) if c.problem]


def format_claims(scenario: Scenario, sla: SlaSpec, processes: int = 1) -> str:
    lines = [f"  ! {p}" for p in generator_problems(scenario, processes)]
    lines.append(f"claims of {sla.path} (requests needed with none over the limit; planned by the scenario):")
    for c in claims(scenario, sla):
        planned = f"{c.planned:.0f}" if c.planned is not None else "depends on the server (users phase)"
        lines.append(f"  {c.objective:<28} needs {c.need:>5}  planned {planned}" + (f"\n    ! {c.problem}" if c.problem else ""))
    return "\n".join(lines)
