"""What a locustfile imports to get the whole gate (phases, metrics, judging, reports):

    from locust import events
    from sla.loadgen.api import ScenarioShape, SlaUser, install

    install(events)                 # the plugin: --scenario, metrics, phases, run manifest

    class MyUser(SlaUser):          # override send() for your own request
        def send(self, client, payload): ...

    class Shape(ScenarioShape):     # the scenario's phases, in order
        pass

Kept apart from sla.loadgen's other modules so that importing the analysis never imports Locust.
"""

from sla.loadgen.plugin import install
from sla.loadgen.shape import ScenarioShape
from sla.loadgen.user import OcrUser, SlaUser, send_with_api

__all__ = ["OcrUser", "ScenarioShape", "SlaUser", "install", "send_with_api"]
