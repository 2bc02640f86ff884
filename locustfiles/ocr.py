"""Locust file for the OCR service: `locust -f locustfiles/ocr.py [--scenario scenarios/smoke.yaml]`.

Thin on purpose: the user, the shape and the metrics plugin live in the `sla` package. Each
request is built and judged by the scenario's target API (`target.api`: reference, paddlex, ...).
Custom arguments: --scenario, --metrics-port, --run-dir, --run-id, --extra-buckets,
--metrics-linger, --allow-remote, --plan (print the phase plan and exit).
"""

from locust import events

from sla.loadgen.api import OcrUser as _OcrUser
from sla.loadgen.api import ScenarioShape as _ScenarioShape
from sla.loadgen.api import install

install(events)


class OcrUser(_OcrUser):
    """Sends document images from the scenario's payloads to the target's API: closed-model in
    users phases, on the arrival clock in arrival_rate phases."""


class ScenarioShape(_ScenarioShape):
    """Runs the scenario's phases in order, then stops."""
