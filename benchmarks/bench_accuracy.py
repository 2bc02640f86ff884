"""How close the harness's P50 and P99 are to the truth, with and without a server stall.

    python benchmarks/bench_accuracy.py [--seconds 60] [--rate 20]

Target: benchmarks/synthetic_server.py with log-normal delays (median 20 ms, sigma 0.5, seeded)
and a 2-second stall 20 s after the first request. Truth: for the arrival schedule (evenly spaced
at --rate from the first request), each arrival's latency is the stall wait plus its seeded
delay (synthetic_server.service_time), percentiles by nearest rank. Two runs of `sla run` (the
real gate, Prometheus and Locust) against a fresh server each:
- arrival-rate: the phase at --rate; P50/P99 from the intended send time (Prometheus histogram
  and HdrHistogram), and uncorrected (actual send time) beside them;
- closed-model: 1 user with a think time that gives about the same rate; P50/P99 as measured,
  against the truth at the rate it achieved.
Relative errors are (harness - truth) / truth.
"""

from __future__ import annotations

import argparse
import json
import math
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from synthetic_server import delays, service_time  # noqa: E402

from sla.manifest import read_hdr  # noqa: E402
from sla.processes import ManagedProcess, free_port, wait_http_ok  # noqa: E402

SLA_SCRIPT = str(Path(sys.executable).parent / "sla")
MEDIAN_S, SIGMA, SEED, STALL_AFTER, STALL_FOR = 0.020, 0.5, 7, 20.0, 2.0


def nearest_rank(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, math.ceil(q * len(ordered)) - 1)]


def truth(rate: float, seconds: float) -> dict[str, float]:
    draws = delays(MEDIAN_S, SIGMA, SEED)
    lat = [service_time(k / rate, next(draws), STALL_AFTER, STALL_AFTER + STALL_FOR) for k in range(int(rate * seconds))]
    return {"p50": nearest_rank(lat, 0.5), "p99": nearest_rank(lat, 0.99)}


def run(scenario_text: str, work: Path, name: str) -> tuple[dict, dict]:
    scenario = work / f"{name}.yaml"
    scenario.write_text(scenario_text)
    sla = work / "sla.yaml"
    sla.write_text("name: any\nphases:\n  steady:\n    latency: {p50: 60s}\n")
    port = free_port()
    server = ManagedProcess("synthetic server", [
        sys.executable, str(ROOT / "benchmarks" / "synthetic_server.py"), str(port), "--median-ms", str(MEDIAN_S * 1e3),
        "--sigma", str(SIGMA), "--seed", str(SEED), "--stall-after", str(STALL_AFTER), "--stall-for", str(STALL_FOR),
    ], work / f"{name}-server.log")
    with server:
        wait_http_ok(server, f"http://127.0.0.1:{port}/readyz", 10, "ready")
        out = work / "runs"
        subprocess.run([SLA_SCRIPT, "run", str(scenario), "--sla", str(sla), "--host", f"http://127.0.0.1:{port}",
                        "--out", str(out), "--run-id", name], cwd=ROOT, check=False, capture_output=True)
    run_dir = out / name
    result = json.loads((run_dir / "result.json").read_text())
    hdr = read_hdr(run_dir / "hdr.json")
    return result["phases"]["steady"], hdr


def error(value: float | None, true: float) -> str:
    return "-" if value is None else f"{value * 1e3:8.1f} ms ({(value - true) / true * 100:+6.1f} %)"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--rate", type=float, default=20.0)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-accuracy-"))
    common = "payloads: {mix: {small-plain-png: 1}, variants: 1}\nrequest: {timeout: 30s}\n"
    arrival, hdr = run(
        f"name: open\n{common}phases:\n  - {{name: steady, kind: arrival_rate, duration: {args.seconds}s, rate: {args.rate}/s, connections: 4}}\n",
        work, "arrival")
    t = truth(args.rate, args.seconds)
    print(f"truth at {args.rate:g}/s for {args.seconds:g} s with a {STALL_FOR:g} s stall: P50 {t['p50'] * 1e3:.1f} ms, P99 {t['p99'] * 1e3:.1f} ms")
    print(f"arrival-rate ({arrival['sent']:.0f} of {arrival['planned']:.0f} sent, lag P99 {arrival['lag_p99'] * 1e3:.1f} ms):")
    intended = hdr.get("steady", {}).get("intended", {})
    for key in ("p50", "p99"):
        print(f"  {key}: Prometheus {error(arrival[key], t[key])}   HdrHistogram {error(intended.get(key), t[key])}   "
              f"uncorrected {error(arrival[f'{key}_uncorrected'], t[key])}")
    think = max(0.0, 1.0 / args.rate - MEDIAN_S * math.exp(SIGMA ** 2 / 2))
    closed, hdr = run(
        f"name: closed\n{common[:-1]}\nrequest: {{timeout: 30s, think_time: {think * 1e3:.1f}ms}}\n".replace(
            "request: {timeout: 30s}\n", "") + f"phases:\n  - {{name: steady, kind: users, duration: {args.seconds}s, users: 1}}\n",
        work, "closed")
    rate = closed["throughput"]
    t = truth(rate, args.seconds)
    print(f"closed model (1 user, think {think * 1e3:.1f} ms, achieved {rate:.2f}/s; truth at that rate: "
          f"P50 {t['p50'] * 1e3:.1f} ms, P99 {t['p99'] * 1e3:.1f} ms):")
    actual = hdr.get("steady", {}).get("actual", {})
    for key in ("p50", "p99"):
        print(f"  {key}: Prometheus {error(closed[key], t[key])}   HdrHistogram {error(actual.get(key), t[key])}")
    print(f"(work directory {work})")


if __name__ == "__main__":
    main()
