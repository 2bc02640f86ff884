"""Target APIs (one module per serving stack, registered by name), server metrics mappings, and
where load may go. See sla/targets/base.py for what an API provides."""

from sla.targets import http, paddle_serving, paddlehub, paddlex, reference, v2  # noqa: F401  (they register)
from sla.targets.base import API_REGISTRY, ApiRequest, TargetApi
from sla.targets.hosts import check_host, host_decision, is_loopback
from sla.targets.metrics import MetricsMapping

DEFAULT_API = "reference"


def metrics_for(api_name: str) -> MetricsMapping | None:
    """The server metrics mapping of a target API by name (None: the stack exposes none)."""
    cls = API_REGISTRY.get(api_name)
    return cls.server_metrics() if cls is not None else None


def metrics_of_run(manifest) -> MetricsMapping | None:
    """The mapping a run was scraped with (run.json's `server_metrics`); for a run written before
    mappings were recorded, its API's."""
    if manifest.server_metrics is not None:
        return MetricsMapping.from_json(manifest.server_metrics)
    return metrics_for(manifest.target_api)


__all__ = ["API_REGISTRY", "ApiRequest", "DEFAULT_API", "MetricsMapping", "TargetApi", "check_host", "host_decision", "is_loopback", "metrics_for", "metrics_of_run"]
