"""The HAProxy config the gate generates, and the scenario keys of replicas and scale events."""

from __future__ import annotations

import pytest

from sla.balancer import haproxy_config
from sla.errors import SlaError
from sla.scenario import load_scenario

BASE = """
name: r
target: {{server: {{preset: tiny}}, {target}}}
payloads: {{mix: {{small-plain-png: 1}}}}
phases:
  - {{name: one, kind: arrival_rate, duration: 5s, rate: 2/s}}
  - {{name: two, kind: arrival_rate, duration: 5s, rate: 2/s{extra}}}
"""


def scenario(tmp_path, target: str = "replicas: 1", extra: str = ""):
    path = tmp_path / "s.yaml"
    path.write_text(BASE.format(target=target, extra=extra))
    return load_scenario(path)


def test_routing_decides_health_checks_and_maintenance():
    ready = haproxy_config(8000, 8001, 8002, [9001, 9002], 1, "/readyz", "ready", 10)
    assert "option httpchk GET /readyz" in ready and "http-check expect status 200" in ready
    assert "server r1 127.0.0.1:9001 check inter 250ms" in ready
    assert "server r2 127.0.0.1:9002 check" in ready and "disabled" not in ready  # down by its failing checks until it is ready
    assert "retries 0" in ready  # a refused connection is the user's error, not hidden by a retry
    assert "http-request use-service prometheus-exporter if { path /metrics }" in ready and "bind 127.0.0.1:8001" in ready
    assert "stats socket ipv4@127.0.0.1:8002 level admin" in ready
    immediate = haproxy_config(8000, 8001, 8002, [9001, 9002], 1, "/readyz", "immediate", 10)
    assert "httpchk" not in immediate and "server r2 127.0.0.1:9002  disabled" in immediate  # traffic the moment it is enabled
    slow = haproxy_config(8000, 8001, 8002, [9001, 9002], 2, "/readyz", "slowstart", 12)
    assert "slowstart 12s" in slow


def test_scale_to_and_replicas_are_read_and_checked(tmp_path):
    s = scenario(tmp_path, "replicas: 2, routing: slowstart, slowstart: 5s", ", scale_to: 3")
    assert s.balanced and s.target.replicas == 2 and s.target.routing == "slowstart" and s.target.slowstart == 5
    assert s.scale == (("two", 3),) and s.max_replicas == 3
    assert not scenario(tmp_path).balanced
    with pytest.raises(SlaError, match=r"target.replicas.*1 to 8"):
        scenario(tmp_path, "replicas: 9")
    with pytest.raises(SlaError, match=r"target.routing.*ready or immediate or slowstart"):
        scenario(tmp_path, "routing: eventually")
    with pytest.raises(SlaError, match=r"phases\[1\].scale_to.*1 to 8"):
        scenario(tmp_path, "replicas: 1", ", scale_to: 0")
