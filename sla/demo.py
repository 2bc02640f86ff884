"""`sla demo`: start the reference server, send it a few real images, print what it read and timings."""

from __future__ import annotations

import tempfile
import time
from pathlib import Path
from collections.abc import Sequence
from typing import TextIO

import requests

from sla.payloads import make_payload
from sla.payloads.scoring import score
from sla.processes import free_port, reference_server, wait_http_ok
from sla.targets.reference import ReferenceApi

DEMO_CLASSES = ("small-plain-png", "medium-noisy-jpeg", "large-plain-png")
READY_TIMEOUT_S = 300.0  # the first start exports the models
COLUMN = 48


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
            read = api.texts(resp.content)
            got = score(payload.expected_text or (), read)
            print(f"\n{name} ({len(payload.data) / 1024:.0f} KiB): {len(read)} lines read, {got.exact} of {got.lines} "
                  f"exact, CER {got.cer * 100:.1f}%, client {client_ms:.1f} ms", file=out)
            print(f"  {'read':<{COLUMN}}  the page says", file=out)
            for mark, said, says in side_by_side(payload.expected_text or (), read):
                print(f"  {mark} {said[:COLUMN - 2]:<{COLUMN - 2}}  {says}", file=out)
            print("  stages (ms): " + "  ".join(f"{k} {v:.1f}" for k, v in body["timing_ms"].items()), file=out)
    print("\nthe server is stopped.", file=out)
    return 0


def side_by_side(expected: Sequence[str], read: Sequence[str]) -> list[tuple[str, str, str]]:
    """(mark, read, expected) per line in reading order: `=` read exactly, `~` read otherwise,
    `-` a line of the page not read, `+` a line read that the page does not have."""
    rows = []
    for i in range(max(len(expected), len(read))):
        said = read[i] if i < len(read) else ""
        says = expected[i] if i < len(expected) else ""
        mark = "=" if said == says else "-" if not said else "+" if not says else "~"
        rows.append((mark, said, says))
    return rows
