"""`sla capacity` on the reference server (tiny preset), confirmed by fixed-rate `sla run`s at 80 %
and 130 % of the capacity found. Timings depend on the machine: this prints, it does not assert.
(The test suite checks the search on a target whose capacity is known in advance instead:
tests/gate/test_capacity_e2e.py.)

    python benchmarks/bench_capacity.py [--start-rate 24/s] [--resolution 25%]
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
SCENARIO = """name: cap
target: {server: {preset: tiny}}
payloads: {mix: {small-plain-png: 1}, variants: 2}
request: {timeout: 10s}
phases:
  - {name: steady, kind: users, duration: 5s, users: 1}
"""
SLA_FILE = "name: cap\nphases:\n  steady:\n    latency: {p95: 150ms}\n    error_rate: 5%\n"


def sla(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([SLA, *args], cwd=ROOT, capture_output=True, text=True)


def fixed_rate(work: Path, rate: float) -> tuple[int, dict]:
    path = work / f"fixed-{rate:.3g}.yaml"
    duration = max(20, int(1.25 * 90 / rate) + 1)
    path.write_text(SCENARIO.replace(
        "  - {name: steady, kind: users, duration: 5s, users: 1}",
        f"  - {{name: warmup, kind: users, duration: 10s, users: 2}}\n"
        f"  - {{name: steady, kind: arrival_rate, duration: {duration}s, rate: {rate:.4g}/s, connections: 64, max_in_flight: 1024}}"))
    result = sla("run", str(path), "--sla", str(work / "sla.yaml"), "--out", str(work / "runs"), "--run-id", path.stem)
    doc = json.loads((work / "runs" / path.stem / "result.json").read_text())
    return result.returncode, doc["phases"]["steady"]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--start-rate", default="24/s")
    parser.add_argument("--resolution", default="25%")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        (work / "scenario.yaml").write_text(SCENARIO)
        (work / "sla.yaml").write_text(SLA_FILE)
        result = sla("capacity", str(work / "scenario.yaml"), "--sla", str(work / "sla.yaml"), "--start-rate", args.start_rate,
                     "--resolution", args.resolution, "--out", str(work / "cap"))
        [cap_dir] = list((work / "cap").iterdir())
        doc = json.loads((cap_dir / "capacity.json").read_text())
        print((cap_dir / "capacity.md").read_text())
        capacity = doc["capacity"]
        if not capacity:
            print(f"no capacity found (exit {result.returncode})")
            return 1
        for share in (0.8, 1.3):
            code, steady = fixed_rate(work, share * capacity)
            print(f"fixed rate {share:.0%} of {capacity:.3g}/s = {share * capacity:.3g}/s: exit {code}, "
                  f"P95 {steady.get('p95', 0) * 1e3:.0f} ms, throughput {steady.get('throughput') or 0:.2f}/s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
