"""Is the target ready? A GET of its readiness endpoint answering 200, or, for a stack without one,
its port accepting connections. `ReadyWatch` times it from the process start (time to ready)."""

from __future__ import annotations

import socket
import threading
import time
from urllib.parse import urlsplit

import requests

POLL_S = 0.02


def probe(base_url: str, path: str | None, timeout_s: float = 2.0) -> bool:
    if path is not None:
        try:
            return requests.get(f"{base_url.rstrip('/')}{path}", timeout=timeout_s).status_code == 200
        except requests.RequestException:
            return False
    parts = urlsplit(base_url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        with socket.create_connection((parts.hostname, port), timeout=timeout_s):
            return True
    except OSError:
        return False


class ReadyWatch:
    """Polls the target from a thread until it is ready, the process dies, or `stop()`; `ready_at`
    is the Unix time of the first ready answer (None until then)."""

    def __init__(self, base_url: str, path: str | None, alive, timeout_s: float) -> None:
        self.base_url, self.path, self.alive, self.timeout_s = base_url, path, alive, timeout_s
        self.ready_at: float | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="ready-watch", daemon=True)

    def start(self) -> "ReadyWatch":
        self._thread.start()
        return self

    def _run(self) -> None:
        deadline = time.monotonic() + self.timeout_s
        while not self._stop.is_set() and time.monotonic() < deadline and self.alive():
            if probe(self.base_url, self.path):
                self.ready_at = time.time()
                return
            self._stop.wait(POLL_S)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(5)
