"""The history store and its baselines, measured (figures, not pass/fail).

    python benchmarks/bench_history.py store [--runs 10000] [--url sqlite:///...]
    python benchmarks/bench_history.py false-alarms [--runs 20] [--scenario scenarios/smoke.yaml]

store         fills a store with N runs (one phase, two objectives each, as `sla run` stores them),
              then times, as medians of repeated calls: appending one more run, fetching the 10
              comparable runs a `runs: 10` baseline needs and computing its interval, and reading
              the last 200 runs' series with their change points (`sla history`'s default limit).
false-alarms  N unchanged runs of a scenario (default the smoke scenario on the reference server)
              stored with `sla run --history`, then each run from the (k+1)-th on judged against its
              last k runs (k = 5 and 10) with an allowed +10 % P99: how many FAIL, PASS or INCONCLUSIVE,
              and the spread between runs; beside it, one run against the one before as a plain limit.
              Nothing changed between them, so every FAIL is a false alarm.
"""

from __future__ import annotations

import argparse
import math
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sla.history.change import change_against, judge_change  # noqa: E402
from sla.history.series import change_points  # noqa: E402
from sla.history.store import HistoryStore  # noqa: E402

ENVIRONMENT = {"loadgen": {"cpu_model": "bench", "cores": 2}, "target": {"reported": False}}


def _run(i: int, p99: float) -> tuple[dict, dict]:
    manifest = {"run_id": f"bench-{i:06d}", "scenario": {"name": "bench", "sha256": "c" * 64}, "sla": {"sha256": "s" * 64},
                "started_at": 1.7e9 + i * 60.0, "environment": ENVIRONMENT, "phases": [{"name": "steady"}]}
    result = {"verdict": "PASS", "phases": {"steady": {"p50": p99 / 3, "p99": p99, "throughput": 30.0, "requests": 900.0,
                                                         "windows": [{"end": float(w), "throughput": 30.0, "p99": p99} for w in range(6)]}},
              "objectives": [{"id": "steady.latency.p99", "kind": "latency", "value": p99, "limit": 0.5, "unit": "s", "verdict": "PASS"},
                             {"id": "steady.baseline.p99", "kind": "baseline_latency", "value": p99, "limit": None, "unit": "s", "verdict": "PASS"}]}
    return manifest, result


def median_time(fn, repeat: int = 15) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def bench_store(runs: int, url: str | None) -> None:
    rng = random.Random(1)
    with tempfile.TemporaryDirectory() as tmp:
        url = url or f"sqlite:///{tmp}/history.db"
        store = HistoryStore(url).open()
        started = time.perf_counter()
        for i in range(runs):
            manifest, result = _run(i, 0.1 * math.exp(rng.gauss(0, 0.1)))
            store.append(result, manifest, {}, Path(tmp) / "report.html")
        fill = time.perf_counter() - started
        print(f"store {url.split(':')[0]}: {runs} runs stored in {fill:.1f} s ({fill / runs * 1e3:.1f} ms per run while filling)")
        extra = iter(range(runs, runs + 1000))

        def append() -> None:
            i = next(extra)
            store.append(*reversed(_run(i, 0.1)), {}, Path(tmp) / "report.html")

        print(f"  append one run to a store of {runs}: median {median_time(append) * 1e3:.1f} ms")
        latest, _ = _run(runs + 2000, 0.1)

        def baseline() -> None:
            got = store.comparable(latest, 10)
            change_against(0.1, [r.values["steady"]["p99"] for r in got.runs])

        print(f"  a runs: 10 baseline (query the 10 comparable runs, compute the interval): median {median_time(baseline) * 1e3:.1f} ms")

        def history() -> None:
            recent = store.runs("bench", None, 200)
            for points in store.objective_series(recent).values():
                change_points([p["value"] for _, p in points])

        print(f"  sla history's read of the last 200 runs with change points of 2 series: median {median_time(history, 3):.2f} s")
        store.close()


def bench_false_alarms(count: int, scenario: Path) -> None:
    sla_bin = Path(sys.executable).parent / "sla"
    with tempfile.TemporaryDirectory() as tmp:
        sla_file = Path(tmp) / "sla.yaml"
        sla_file.write_text("name: bench\nphases:\n  steady: {baseline: {p99: +10%, runs: 2}}\n")
        url = f"sqlite:///{tmp}/history.db"
        for i in range(count):
            started = time.monotonic()
            done = subprocess.run([str(sla_bin), "run", str(scenario), "--sla", str(sla_file), "--out", f"{tmp}/runs",
                                   "--run-id", f"unchanged-{i:02d}", "--history", url], cwd=ROOT, capture_output=True, text=True)
            if done.returncode not in (0, 1, 2):
                sys.exit(f"run {i} could not run:\n{done.stdout[-2000:]}{done.stderr[-2000:]}")
            print(f"  run {i + 1}/{count} stored ({time.monotonic() - started:.0f} s)", flush=True)
        values = [r.values["steady"]["p99"] for r in HistoryStore(url, create=False).open().runs()]
    print(f"{count} unchanged runs of {scenario}: P99 (ms) " + ", ".join(f"{v * 1e3:.0f}" for v in values))
    spread = statistics.stdev(math.log(v) for v in values)
    print(f"  spread between runs: {spread * 100:.1f} % (standard deviation of log P99), max/min {max(values) / min(values):.2f}")
    one_to_one = sum(1 for a, b in zip(values, values[1:]) if b > 1.10 * a)
    print(f"  one run against the one before (as --baseline does), allowed +10 %: {one_to_one} FAIL of {len(values) - 1}")
    for k in (5, 10):
        verdicts = [judge_change(change_against(values[i], values[i - k:i]), 0.10, "max") for i in range(k, len(values))]
        print(f"  runs: {k}, allowed +10 %: {len(verdicts)} judged: {verdicts.count('FAIL')} FAIL (false alarms), "
              f"{verdicts.count('PASS')} PASS, {verdicts.count('INCONCLUSIVE')} INCONCLUSIVE")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="what", required=True)
    store = sub.add_parser("store")
    store.add_argument("--runs", type=int, default=10_000)
    store.add_argument("--url", help="a store URL (default: a new SQLite file)")
    alarms = sub.add_parser("false-alarms")
    alarms.add_argument("--runs", type=int, default=20)
    alarms.add_argument("--scenario", type=Path, default=ROOT / "scenarios" / "smoke.yaml")
    args = parser.parse_args()
    if args.what == "store":
        bench_store(args.runs, args.url)
    else:
        bench_false_alarms(args.runs, args.scenario)


if __name__ == "__main__":
    main()
