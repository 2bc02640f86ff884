"""The name locustfiles written before sla.loadgen.api used; it imports the same."""

from sla.loadgen.api import OcrUser, ScenarioShape, SlaUser, install, send_with_api

__all__ = ["OcrUser", "ScenarioShape", "SlaUser", "install", "send_with_api"]
