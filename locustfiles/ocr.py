"""Locust file for the OCR service: `locust -f locustfiles/ocr.py [--scenario scenarios/smoke.yaml]`.

Thin on purpose: the user, the shape and the metrics plugin live in the `sla` package.
Custom arguments: --scenario, --metrics-port, --run-dir, --run-id, --extra-buckets,
--metrics-linger, --plan (print the phase plan and exit).
"""

from locust import events

from sla.loadgen.plugin import install
from sla.loadgen.shape import ScenarioShape as _ScenarioShape
from sla.loadgen.user import OcrUser as _OcrUser

install(events)


class OcrUser(_OcrUser):
    """Posts document images from the scenario's payload mix to POST /v1/ocr: closed-model in
    users phases, on the arrival clock in arrival_rate phases."""


class ScenarioShape(_ScenarioShape):
    """Runs the scenario's phases in order, then stops."""
