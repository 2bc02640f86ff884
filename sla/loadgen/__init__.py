"""The Locust side of the harness: the OCR user, the scenario shape, and the metrics plugin."""

from sla.loadgen.plugin import install
from sla.loadgen.shape import ScenarioShape
from sla.loadgen.user import OcrUser

__all__ = ["OcrUser", "ScenarioShape", "install"]
