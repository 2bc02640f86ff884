"""Every shipped scenario with its own SLA, one `sla run` each, in one session: the verdict and the
key figures of each judged phase. A benchmark (it prints a table), not a test.

    python benchmarks/bench_scenarios.py [--only smoke release ...] [--out runs/bench-scenarios]

Runs one after another, nothing else should share the machine (the gate measures the machine it
runs on). `paddlex` needs `make paddlex`. Long ones (sustained 10 min, soak 30 min) run only when
named with --only.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SLA = str(Path(sys.executable).parent / "sla")
SHORT = ("release", "smoke", "cold_start", "ramp_up", "spike", "paddlex")


def ms(value: float | None) -> str:
    return f"{value * 1e3:.0f} ms" if isinstance(value, (int, float)) else "-"


def figures(doc: dict) -> str:
    """The judged phases' P50, P99 (or P95), rate, errors and shed; the cold start when judged."""
    judged = {o["phase"] for o in doc["objectives"] if o.get("phase")}
    parts = []
    for name, s in doc["phases"].items():
        if name not in judged:
            continue
        rate = f"{s['throughput']:.2f}/s" + (f" at {s['asked_rate']:g}/s" if s.get("asked_rate") else "")
        shed = f", {s['shed'] / s['requests'] * 100:.0f}% shed" if s.get("shed") and s.get("requests") else ""
        parts.append(f"{name}: P50 {ms(s.get('p50'))}, P95 {ms(s.get('p95'))}, P99 {ms(s.get('p99'))}, {rate}, "
                     f"{(s.get('error_rate') or 0) * 100:.1f}% errors{shed} ({s['requests']:.0f} requests)")
    recovery = [o for o in doc["objectives"] if o["kind"] == "recovery"]
    parts += [f"{o['id']}: {o['value']:.1f} s" for o in recovery if o.get("value") is not None]
    cold = doc.get("cold_start") or {}
    if any(o["id"].startswith("cold_start.") for o in doc["objectives"]):
        parts.append(f"time to ready {cold.get('time_to_ready') or 0:.2f} s, first request {ms(cold.get('first_request'))}")
    return "; ".join(parts)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", nargs="+", default=list(SHORT), help=f"scenario names (default: {' '.join(SHORT)})")
    parser.add_argument("--out", type=Path, default=ROOT / "runs" / "bench-scenarios")
    args = parser.parse_args()
    rows = []
    for name in args.only:
        started = time.monotonic()
        print(f"=== {name} ===", flush=True)
        proc = subprocess.run([SLA, "run", f"scenarios/{name}.yaml", "--out", str(args.out)], cwd=ROOT, capture_output=True, text=True)
        took = time.monotonic() - started
        runs = sorted((p for p in args.out.glob(f"*-{name}") if (p / "result.json").exists()), key=lambda p: p.stat().st_mtime)
        if proc.returncode == 3 or not runs:
            rows.append((name, f"could not run (exit {proc.returncode})", proc.stderr.strip().splitlines()[-1:] or [""], took))
            continue
        doc = json.loads((runs[-1] / "result.json").read_text())
        rows.append((name, doc["verdict"], [figures(doc)], took))
    print("\n| scenario | verdict | key figures | wall time |\n|---|---|---|---|")
    for name, verdict, detail, took in rows:
        print(f"| {name} | {verdict} | {detail[0]} | {took:.0f} s |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
