"""Server replicas behind a real load balancer: HAProxy (the Debian package `haproxy`), started by
the gate with a generated config, stopped by its pid like every other child.

Every replica slot the scenario can reach (`target.replicas`, and each phase's `scale_to`) is a
server line of one backend; the slots not running yet are in maintenance. Taking a new replica into
the pool follows `target.routing`:
- `ready`: health checks on the target's readiness endpoint; traffic once one passes;
- `immediate`: no health check; traffic at once, while the replica is still starting (the trap:
  its first users get HAProxy's 503 or wait for its cold start);
- `slowstart`: health checks, then HAProxy's `slowstart` ramps its weight up over `target.slowstart`.
Scaling down drains a replica (no new requests, those in flight finish) before it is stopped.
HAProxy's own Prometheus exporter (`haproxy_server_*{proxy="replicas",server="r2"}`) tells which
replica served what.
"""

from __future__ import annotations

import shutil
import socket
import time
from dataclasses import dataclass
from pathlib import Path

from sla.errors import SlaError
from sla.processes import LOOPBACK, ManagedProcess, free_port, wait_http_ok

BACKEND = "replicas"
READY_TIMEOUT_S = 30.0


def slot_name(index: int) -> str:
    return f"r{index + 1}"


def haproxy_binary() -> str:
    path = shutil.which("haproxy")
    if not path:
        raise SlaError("target.replicas needs HAProxy, which is not installed: run `make setup` (the Debian package haproxy)")
    return path


def haproxy_config(port: int, metrics_port: int, admin_port: int, slots: list[int], running: int, ready_path: str | None,
                   routing: str, slowstart_s: float) -> str:
    """The config: a frontend on `port`, the exporter on `metrics_port`, one server per slot (the
    first `running` in the pool, the others in maintenance until the gate enables them)."""
    check = f"option httpchk GET {ready_path}\n    http-check expect status 200\n" if ready_path else ""
    server_opts = "" if routing == "immediate" else "check inter 250ms fastinter 250ms downinter 250ms rise 1 fall 2"
    if routing == "slowstart":
        server_opts += f" slowstart {max(1, round(slowstart_s))}s"
    # with health checks a slot whose replica is not running is down by its failing checks; without,
    # it waits in maintenance (leaving maintenance, HAProxy counts a server up until a check fails)
    servers = "\n".join(f"    server {slot_name(i)} {LOOPBACK}:{p} {server_opts}" + ("" if i < running or routing != "immediate" else " disabled")
                        for i, p in enumerate(slots))
    return f"""global
    stats socket ipv4@{LOOPBACK}:{admin_port} level admin
    maxconn 4096
defaults
    mode http
    retries 0
    timeout connect 2s
    timeout client 60s
    timeout server 60s
frontend sla_front
    bind {LOOPBACK}:{port}
    default_backend {BACKEND}
frontend prometheus
    bind {LOOPBACK}:{metrics_port}
    http-request use-service prometheus-exporter if {{ path /metrics }}
backend {BACKEND}
    balance roundrobin
    {check.strip() if check and routing != "immediate" else "# routing immediate: no health checks"}
{servers}
"""


@dataclass
class Balancer:
    process: ManagedProcess
    port: int
    metrics_port: int
    admin_port: int  # its runtime API, on loopback (a unix socket's path is limited to 97 bytes)
    slots: list[int]  # each slot's replica port
    checked: bool  # health checks on the readiness endpoint (routing ready, slowstart)

    @property
    def url(self) -> str:
        return f"http://{LOOPBACK}:{self.port}"

    def command(self, line: str) -> str:
        """One command on HAProxy's runtime API."""
        with socket.create_connection((LOOPBACK, self.admin_port), timeout=5) as s:
            s.sendall((line + "\n").encode())
            chunks = []
            while chunk := s.recv(65536):
                chunks.append(chunk)
        return b"".join(chunks).decode()

    def enable(self, index: int) -> None:
        """Into the pool: with health checks, it serves once a check passes (a slot drained earlier
        becomes eligible again); without, at once."""
        self.command(f"set server {BACKEND}/{slot_name(index)} state ready")

    def drain(self, index: int) -> None:
        self.command(f"set server {BACKEND}/{slot_name(index)} state drain")

    def retire(self, index: int) -> None:
        """After draining: without health checks into maintenance; with them it stays drained, and
        its failing checks keep it down once its replica has stopped."""
        if not self.checked:
            self.command(f"set server {BACKEND}/{slot_name(index)} state maint")

    def sessions(self, index: int) -> int:
        """Requests the replica holds now (its `scur`)."""
        rows = self.command("show stat").splitlines()
        header = rows[0].lstrip("# ").split(",")
        for row in rows[1:]:
            cells = dict(zip(header, row.split(",")))
            if cells.get("pxname") == BACKEND and cells.get("svname") == slot_name(index):
                return int(cells.get("scur") or 0)
        return 0

    def wait_drained(self, index: int, timeout_s: float) -> bool:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.sessions(index) == 0:
                return True
            time.sleep(0.1)
        return False


def start_balancer(run_dir: Path, slots: list[int], running: int, ready_path: str | None, routing: str, slowstart_s: float,
                   port: int, metrics_port: int) -> Balancer:
    admin_port = free_port()
    config = run_dir / "haproxy.cfg"
    config.write_text(haproxy_config(port, metrics_port, admin_port, slots, running, ready_path, routing, slowstart_s))
    process = ManagedProcess("HAProxy", [haproxy_binary(), "-db", "-f", str(config)], run_dir / "haproxy.log")
    process.start()
    try:
        wait_http_ok(process, f"http://{LOOPBACK}:{metrics_port}/metrics", READY_TIMEOUT_S, "serving its metrics")
    except BaseException:
        process.stop()
        raise
    return Balancer(process, port, metrics_port, admin_port, slots, routing != "immediate")
