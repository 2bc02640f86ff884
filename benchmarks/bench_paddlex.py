"""PaddleX serving against the reference server: the same models (base preset), the same payloads,
the same gate, side by side in one session.

    python benchmarks/bench_paddlex.py [--users 1 4] [--seconds 30] [--preset base]

Needs `make paddlex`. For each target and user count, one `sla run` of a fresh server: time to
ready (process start to the readiness probe's first 200, for both), the first request (client
side), then a closed-model steady phase: P50, P99 and throughput. Prints a table; not a test.
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
PAYLOADS = "{mix: {small-plain-png: 3, medium-noisy-jpeg: 2, large-plain-png: 1}, variants: 2}"
TARGETS = {
    "reference": "target: {{fresh: true, server: {{preset: {preset}, threads: 2}}}}\n",
    "paddlex": (
        "target:\n  api: paddlex\n  fresh: true\n"
        "  command: [.venvs/paddlex/bin/paddlex, --serve, --pipeline, .cache/paddlex/{preset}/OCR.yaml, --device, cpu,"
        " --host, '{{host}}', --port, '{{port}}']\n"
        f"  cwd: {ROOT}\n"
        "  env: {{PADDLE_PDX_DISABLE_MODEL_SOURCE_CHECK: 'True', PADDLE_PDX_CACHE_HOME: .cache/paddlex/home, PADDLE_PDX_CPU_NUM_THREADS: '2'}}\n"
    ),
}
SLA_DOC = "name: bench\ncold_start: {time_to_ready: {max: 5m, source: loadgen}, first_request: 1m}\nphases: {steady: {latency: {p50: 1m}}}\n"


def run(target: str, users: int, seconds: int, preset: str, work: Path) -> dict:
    scenario = work / f"{target}-{users}.yaml"
    scenario.write_text(f"name: bench-{target}-{users}\n" + TARGETS[target].format(preset=preset) + f"payloads: {PAYLOADS}\n"
                        f"request: {{timeout: 30s}}\nphases:\n  - {{name: warmup, kind: users, duration: 5s, users: {users}}}\n"
                        f"  - {{name: steady, kind: users, duration: {seconds}s, users: {users}}}\n")
    sla = work / "sla.yaml"
    sla.write_text(SLA_DOC)
    out = work / "runs"
    result = subprocess.run([SLA, "run", str(scenario), "--sla", str(sla), "--out", str(out), "--run-id", scenario.stem],
                            cwd=ROOT, capture_output=True, text=True)
    path = out / scenario.stem / "result.json"
    if not path.exists():
        raise SystemExit(f"{target} with {users} users did not run:\n{result.stdout[-2000:]}\n{result.stderr[-2000:]}")
    doc = json.loads(path.read_text())
    steady = doc["phases"]["steady"]
    return {"ready": doc["cold_start"]["time_to_ready"], "first": doc["cold_start"]["first_request"],
            "p50": steady["p50"], "p99": steady["p99"], "qps": steady["throughput"], "requests": steady["requests"]}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, nargs="+", default=[1, 4])
    parser.add_argument("--seconds", type=int, default=30)
    parser.add_argument("--preset", default="base")
    args = parser.parse_args()
    if not (ROOT / ".cache" / "paddlex" / args.preset / "OCR.yaml").exists():
        raise SystemExit("PaddleX is not prepared: run `make paddlex`")
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for users in args.users:
            for target in TARGETS:
                figures = run(target, users, args.seconds, args.preset, Path(tmp))
                rows.append((target, users, figures))
                print(f"{target:9} {users} users: {figures}", flush=True)
    print(f"\n| target | users | time to ready | first request | P50 | P99 | throughput | requests |\n|---|---|---|---|---|---|---|---|")
    for target, users, f in rows:
        print(f"| {target} | {users} | {f['ready']:.2f} s | {f['first'] * 1e3:.0f} ms | {f['p50'] * 1e3:.0f} ms | "
              f"{f['p99'] * 1e3:.0f} ms | {f['qps']:.2f}/s | {f['requests']:.0f} |")
    by = {(t, u): f for t, u, f in rows}
    for users in args.users:
        ref, pdx = by[("reference", users)], by[("paddlex", users)]
        print(f"{users} users: PaddleX/reference throughput {pdx['qps'] / ref['qps']:.2f}x, P50 {pdx['p50'] / ref['p50']:.2f}x, "
              f"P99 {pdx['p99'] / ref['p99']:.2f}x, time to ready {pdx['ready'] / ref['ready']:.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
