"""Objective kinds: one module each, registered here by name. A new kind is one module (see
sla/objectives/base.py for what it provides) plus one line below. The SLA loader reads the kinds it
is handed (`load_sla(..., kinds=...)`, this registry by default) and binds each objective to its kind."""

from sla.objectives.accuracy import AccuracyDrop, CharErrors, ExactLines
from sla.objectives.base import Kind, Objective, ParseContext
from sla.objectives.baseline import BaselineLatency, BaselineThroughput
from sla.objectives.cold_start import FirstRequest, TimeToReady
from sla.objectives.error_rate import ErrorRate
from sla.objectives.latency import Latency
from sla.objectives.mean import MeanLatency
from sla.objectives.recovery import Recovery
from sla.objectives.scale_out import ScaleErrors, ScaleFirstRequest, ScaleLatency, ScaleTimeToReady
from sla.objectives.shed import Shed
from sla.objectives.stage import StageLatency
from sla.objectives.throughput import Throughput

REGISTRY: list[Kind] = []  # in the order their objectives are listed in a phase (and in results)
KINDS: dict[str, Kind] = {}  # by name


def register(kind: Kind) -> Kind:
    REGISTRY.append(kind)
    KINDS.update({name: kind for name in kind.names})
    return kind


register(Latency())
register(MeanLatency())
register(Throughput())
register(ErrorRate())
register(Shed())
register(Recovery())
register(ScaleLatency())
register(ScaleErrors())
register(ScaleTimeToReady())
register(ScaleFirstRequest())
register(StageLatency())
register(ExactLines())
register(CharErrors())
register(AccuracyDrop())
register(BaselineLatency())
register(BaselineThroughput())
register(TimeToReady())
register(FirstRequest())

__all__ = ["KINDS", "REGISTRY", "Kind", "Objective", "ParseContext", "register"]
