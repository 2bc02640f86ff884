"""How often a steady capacity step is called unstable (figures, not pass/fail).

    python benchmarks/bench_stability.py [--rate 5/s] [--side-by-side 5] [--rounds 2]

A capacity step at a low rate (5/s: four windows of 100 requests in 80 s, as `sla capacity` sizes
it) against the synthetic server (20 ms fixed, 1 worker: 50/s, so nothing queues at 5/s: every step
is steady). `--side-by-side` `sla run`s at once, as the test suite's waits part runs its searches,
for `--rounds` rounds. For each step, from the windows in its result.json, the two rules side by
side: the last three windows within 10 % on the P99 of the measurement so far (the rule before),
and on the percentile that the fewest requests among them can estimate (analyzer.stable: the P95
from 90 requests). A steady step called unstable costs a capacity search a step run again, twice
as long.
"""

from __future__ import annotations

import argparse
import json
import signal
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sla.analysis.analyzer import STABLE_SPREAD, STABLE_WINDOWS, stable  # noqa: E402
from sla.capacity import step_duration  # noqa: E402
from sla.cli import positive_int  # noqa: E402
from sla.tables import ms  # noqa: E402
from sla.units import parse_rate  # noqa: E402
from tests.synthetic import synthetic_target  # noqa: E402

SLA = [sys.executable, "-m", "sla.cli"]
SLA_FILE = "name: stability\nphases:\n  step:\n    latency: {p95: 100ms}\n    error_rate: 5%\n"


def scenario(rate: float, duration: float) -> str:
    return (f"name: stability\ntarget:\n{synthetic_target()}\npayloads: {{mix: {{small-plain-png: 1}}, variants: 1}}\n"
            f"request: {{timeout: 2s}}\nphases:\n  - {{name: step, kind: arrival_rate, duration: {duration:.0f}s, "
            f"rate: {rate:g}/s, connections: 64, max_in_flight: 1024}}\n")


def rate_arg(value: str) -> float:
    try:
        return parse_rate(value)
    except ValueError as e:
        raise argparse.ArgumentTypeError(str(e)) from None


def spread(values: list[float]) -> float:
    return (max(values) - min(values)) / max(values)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rate", type=rate_arg, default="5/s")
    parser.add_argument("--side-by-side", type=positive_int, default=5)
    parser.add_argument("--rounds", type=positive_int, default=2)
    args = parser.parse_args()
    rate = args.rate
    duration = step_duration(rate, 100)
    print(f"steps at {rate:g}/s for {duration:.0f} s, {args.side_by_side} side by side, {args.rounds} round(s)", flush=True)
    print("| step | P99 of the last 3 windows | spread | their intervals | 10 % rule | this rule |")
    print("|---|---|---|---|---|---|")
    p99_spreads, unstable_p99, unstable_now, steps = [], 0, 0, 0
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        (work / "scenario.yaml").write_text(scenario(rate, duration))
        (work / "sla.yaml").write_text(SLA_FILE)
        for r in range(args.rounds):
            runs = [subprocess.Popen([*SLA, "run", str(work / "scenario.yaml"), "--sla", str(work / "sla.yaml"), "--out", str(work / "runs"),
                                      "--run-id", f"r{r}-{i}"], cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                     start_new_session=True)  # Ctrl-C reaches them once, from here
                    for i in range(args.side_by_side)]
            for i, p in enumerate(runs):
                try:
                    p.wait()
                except KeyboardInterrupt:  # each `sla run` stops what it started on SIGINT
                    for q in runs:
                        if q.poll() is None:
                            q.send_signal(signal.SIGINT)
                    for q in runs:
                        q.wait()
                    raise
                result = work / "runs" / f"r{r}-{i}" / "result.json"
                if not result.exists():
                    print(f"| r{r}-{i} | run failed (exit {p.returncode}) |", flush=True)
                    continue
                last = json.loads(result.read_text())["phases"]["step"]["windows"][-STABLE_WINDOWS:]
                p99s = [w["p99"] for w in last]
                old_ok, now_ok = max(spread(p99s), spread([w["throughput"] for w in last])) <= STABLE_SPREAD, stable(last)
                steps += 1
                unstable_p99 += not old_ok
                unstable_now += not now_ok
                p99_spreads.append(spread(p99s))
                intervals = ", ".join(f"[{ms(w['p99_low'])}, {ms(w['p99_high'])}]" for w in last)
                print(f"| r{r}-{i} | {', '.join(ms(v) for v in p99s)} | {spread(p99s):.0%} | {intervals} "
                      f"| {'stable' if old_ok else 'UNSTABLE'} | {'stable' if now_ok else 'UNSTABLE'} |", flush=True)
    if steps:
        print(f"\n{steps} steps: UNSTABLE on the 10 % rule {unstable_p99}, on this rule {unstable_now}; "
              f"spread of the P99s: median {statistics.median(p99_spreads):.1%}, largest {max(p99_spreads):.1%}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
