"""Scenario files: parsing, validation and planning (no Locust, no network)."""

from sla.scenario.model import Scenario, Target, format_plan, load_scenario
from sla.scenario.phases import PHASE_KINDS, ArrivalRatePhase, Phase, UsersPhase, users_over_time

__all__ = ["PHASE_KINDS", "ArrivalRatePhase", "Phase", "Scenario", "Target", "UsersPhase", "format_plan", "load_scenario", "users_over_time"]
