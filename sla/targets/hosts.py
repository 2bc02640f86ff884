"""Where load may go: loopback addresses (127.0.0.0/8, ::1, localhost), and another host only
with the user's explicit consent (`--allow-remote`).

`host_decision` is the pure decision (tested on its own); `check_host` raises the refusal.
"""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

from sla.errors import SlaError

EXAMPLE = "http://127.0.0.1:8866"


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def host_decision(url: str, allow_remote: bool = False) -> str | None:
    """None when load may go to `url`; otherwise the reason it may not."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        return f"target {url!r} is not an http(s) URL such as {EXAMPLE}"
    if is_loopback(parts.hostname) or allow_remote:
        return None
    return (
        f"target {url!r}: this harness sends load only to loopback addresses (127.0.0.0/8, ::1, localhost) unless you "
        "consent to load another host: add --allow-remote (and make sure you may load that service)"
    )


def check_host(url: str, allow_remote: bool = False) -> str:
    """Return the URL if load may go there; otherwise raise SlaError with the reason."""
    reason = host_decision(url, allow_remote)
    if reason:
        raise SlaError(reason)
    return url


def scrape_address(url: str, port: int | None = None) -> str:
    """`host:port` that Prometheus scrapes for a service at `url`: its own port, or `port` where
    its metrics are served apart (Triton's 8002, a command's {metrics_port})."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    host = f"[{host}]" if ":" in host else host
    return f"{host}:{port or parts.port or (443 if parts.scheme == 'https' else 80)}"
