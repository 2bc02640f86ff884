"""Scale-out behind HAProxy, measured: 1 replica going to 2 mid-run (tiny preset, 1 thread per
replica, so that 2 cores hold it), warm-up on/off by routing ready/immediate. For each, the users'
P90/P99 and errors in the window after the event, and the new replica's time to ready and first
request, from one `sla run` each (one after the other, nothing else running). With
`--capacity`, also `sla capacity` with 1 and with 2 replicas. This prints; it does not assert.

    python benchmarks/bench_scaleout.py [--rate 14/s] [--window 10s] [--capacity]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SLA = str(Path(sys.executable).parent / "sla")
SCENARIO = """name: scaleout
target:
  server: {{preset: tiny, threads: 1, warmup: {warmup}}}
  replicas: 1
  routing: {routing}
payloads: {{mix: {{small-plain-png: 2, medium-plain-png: 1}}, variants: 2}}
request: {{timeout: 10s}}
phases:
  - {{name: one, kind: arrival_rate, duration: 10s, rate: {rate}}}
  - {{name: scaled, kind: arrival_rate, duration: 25s, rate: {rate}, scale_to: 2}}
"""
# limits far away: the figures are what this measures
SLA_FILE = """name: scaleout
phases:
  scaled:
    scale_out: {{window: {window}, p90: 60s, p99: 60s, error_rate: 99%, time_to_ready: 60s, first_request: 60s}}
"""
CAPACITY_SCENARIO = """name: cap
target: {{server: {{preset: tiny, threads: 1}}, replicas: {replicas}}}
payloads: {{mix: {{small-plain-png: 2, medium-plain-png: 1}}, variants: 2}}
request: {{timeout: 10s}}
phases:
  - {{name: steady, kind: users, duration: 5s, users: 1}}
"""
CAPACITY_SLA = "name: cap\nphases:\n  steady:\n    latency: {p95: 300ms}\n    error_rate: 1%\n"


def sla(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([SLA, *args], cwd=ROOT, capture_output=True, text=True)


def one(work: Path, warmup: bool, routing: str, rate: str, window: str) -> dict:
    name = f"warmup-{'on' if warmup else 'off'}-{routing}"
    (work / f"{name}.yaml").write_text(SCENARIO.format(warmup=str(warmup).lower(), routing=routing, rate=rate))
    (work / "sla.yaml").write_text(SLA_FILE.format(window=window))
    result = sla("run", str(work / f"{name}.yaml"), "--sla", str(work / "sla.yaml"), "--out", str(work / "runs"), "--run-id", name)
    run = work / "runs" / name
    if not (run / "result.json").exists():
        print(result.stdout[-2000:], result.stderr[-2000:])
        return {"name": name}
    doc = json.loads((run / "result.json").read_text())
    got = {o["id"].rsplit(".", 1)[-1]: o for o in doc["objectives"]}
    served = doc.get("replicas", {}).get("scaled", {})
    return {"name": name, "p90": got["p90"]["value"], "p99": got["p99"]["value"], "errors": got["error_rate"]["value"],
            "requests": got["error_rate"]["samples"], "ready": got["time_to_ready"]["value"], "first": got["first_request"]["value"],
            "r2_conn_errors": served.get("r2", {}).get("connection errors", 0), "r2_2xx": served.get("r2", {}).get("2xx", 0)}


def ms(v: float | None) -> str:
    return "-" if v is None else f"{v * 1e3:.0f} ms"


def capacity(work: Path, replicas: int, start_rate: str) -> str:
    d = work / f"cap{replicas}"
    d.mkdir()
    (d / "scenario.yaml").write_text(CAPACITY_SCENARIO.format(replicas=replicas))
    (d / "sla.yaml").write_text(CAPACITY_SLA)
    result = sla("capacity", str(d / "scenario.yaml"), "--sla", str(d / "sla.yaml"), "--start-rate", start_rate, "--resolution", "15%",
                 "--out", str(d / "out"))
    [cap_dir] = list((d / "out").iterdir())
    doc = json.loads((cap_dir / "capacity.json").read_text())
    cap = doc.get("capacity")
    return f"{replicas} replica(s): capacity {cap:.3g}/s" if cap else f"{replicas} replica(s): none found (exit {result.returncode})"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rate", default="14/s")
    parser.add_argument("--window", default="10s")
    parser.add_argument("--capacity", action="store_true")
    parser.add_argument("--start-rate", default="12/s")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        rows = [one(work, warmup, routing, args.rate, args.window) for warmup in (True, False) for routing in ("ready", "immediate")]
        print(f"1 -> 2 replicas at {args.rate}, the {args.window} after the scale event:")
        print("| warm-up | routing | P90 | P99 | errors | requests | new replica: time to ready | first request | r2 answers | r2 refused |")
        print("|---|---|---|---|---|---|---|---|---|---|")
        for r in rows:
            warm, routing = r["name"].split("-")[1], r["name"].split("-", 2)[2]
            if "p90" not in r:
                print(f"| {warm} | {routing} | run failed |")
                continue
            errors = "-" if r["errors"] is None else f"{r['errors'] * 100:.2f}%"
            ready = "never" if r["ready"] is None else f"{r['ready']:.2f} s"
            print(f"| {warm} | {routing} | {ms(r['p90'])} | {ms(r['p99'])} | {errors} | {r['requests'] or 0:.0f} "
                  f"| {ready} | {ms(r['first'])} | {r['r2_2xx']:.0f} | {r['r2_conn_errors']:.0f} |")
        if args.capacity:
            for replicas in (1, 2):
                print(capacity(work, replicas, args.start_rate), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
