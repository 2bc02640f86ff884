"""Where load may go: loopback addresses only (127.0.0.0/8, ::1, localhost)."""

from __future__ import annotations

import ipaddress
from urllib.parse import urlsplit

from sla.errors import SlaError


def check_loopback(url: str) -> str:
    """Return the URL if its host is a loopback address; otherwise raise SlaError."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise SlaError(f"target {url!r} is not an http(s) URL such as http://127.0.0.1:8866")
    host = parts.hostname
    if host == "localhost":
        return url
    try:
        if ipaddress.ip_address(host).is_loopback:
            return url
    except ValueError:
        pass
    raise SlaError(
        f"target {url!r}: this harness sends load only to loopback addresses (127.0.0.0/8, ::1, localhost); "
        "run it on the machine of the server under test, or put the server behind a loopback port"
    )
