"""A run's inputs, loaded once: the scenario and the SLA validated against it. The gate, `sla plan`,
`sla compare` and `sla capacity` all load them here; compare and capacity hand the loaded objects
to the gate (RunOptions.inputs), capacity's steps derived from them (Scenario.derive, derived_sla)."""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

from sla.scenario import Scenario, load_scenario
from sla.slafile import SlaSpec, load_sla

ROOT = Path(__file__).resolve().parent.parent
THRESHOLDS = ROOT / "sla" / "thresholds"
DEFAULT_SLA = THRESHOLDS / "ocr.yaml"


class Inputs(NamedTuple):
    scenario: Scenario
    sla: SlaSpec


def default_sla(scenario: Scenario) -> Path:
    """`sla/thresholds/<scenario name>.yaml` when it exists, else `sla/thresholds/ocr.yaml`."""
    own = THRESHOLDS / f"{scenario.name}.yaml"
    return own if own.is_file() else DEFAULT_SLA


def load_inputs(scenario_path: Path, sla_path: Path | None) -> Inputs:
    """The scenario file, and the SLA file (its default when None) checked against its phases,
    target API, server metrics and answers."""
    scenario = load_scenario(scenario_path)
    sla = load_sla(sla_path or default_sla(scenario), {p.name: p.asked_rate for p in scenario.phases}, scenario.name,
                   scenario.target.api_name, scenario.target.metrics, scenario.accuracy_problem)
    return Inputs(scenario, sla)
