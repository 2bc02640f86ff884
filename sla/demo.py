"""`sla demo`: start the reference server, send it a few real images, print what it read and timings."""

from __future__ import annotations

import tempfile
import time
from pathlib import Path
from typing import TextIO

import requests

from sla.payloads import make_payload
from sla.processes import free_port, reference_server, wait_http_ok
from sla.targets.reference import ReferenceApi

DEMO_CLASSES = ("small-plain-png", "medium-noisy-jpeg", "large-plain-png")
READY_TIMEOUT_S = 300.0  # the first start exports the models


def run_demo(out: TextIO, preset: str = "base", log_dir: Path | None = None) -> int:
    log_dir = log_dir or Path(tempfile.mkdtemp(prefix="sla-demo-"))
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server = reference_server(port, log_dir / "server.log", {"preset": preset})
    api = ReferenceApi()
    with server:
        print(f"starting the reference server (preset {preset}) on {base}; log: {server.log_path}", file=out)
        ready_at = wait_http_ok(server, f"{base}{api.ready_path}", READY_TIMEOUT_S, "ready")
        print(f"ready {ready_at - server.started_at:.2f} s after start", file=out)
        for name in DEMO_CLASSES:
            payload = make_payload(name)
            t0 = time.perf_counter()
            req = api.request(payload)
            resp = requests.request(req.method, base + req.path, data=req.body, headers=req.headers, timeout=60)
            client_ms = (time.perf_counter() - t0) * 1e3
            resp.raise_for_status()
            body = resp.json()
            print(f"\n{name} ({len(payload.data) / 1024:.0f} KiB): {len(body['lines'])} lines, "
                  f"client {client_ms:.1f} ms", file=out)
            for line in body["lines"][:5]:
                print(f"  {line['score']:.2f}  {line['text'][:60]!r}", file=out)
            if len(body["lines"]) > 5:
                print(f"  ... {len(body['lines']) - 5} more", file=out)
            print("  stages (ms): " + "  ".join(f"{k} {v:.1f}" for k, v in body["timing_ms"].items()), file=out)
    print("\nthe server is stopped. (The weights are untrained: text is not meaningful yet.)", file=out)
    return 0
