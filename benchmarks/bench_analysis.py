"""How long analysing a run takes, how long writing its HTML report takes, and how far the
histogram P99 is from the P99 of every raw latency of the same run.

    python benchmarks/bench_analysis.py [--scenario scenarios/sustained.yaml] [--run-dir DIR]

Without --run-dir it first runs `sla run SCENARIO --keep-raw` (10 minutes for sustained.yaml).
Then it times `sla check` on the run (median of 3), and writing report.html alone from the run's
result.json and timeline.json (median of 5); and for each phase compares the P50/P99 read from
the Prometheus histograms (result.json) with the exact percentiles of the raw response times of
successful requests (nearest rank), as relative errors.
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from dataclasses import asdict  # noqa: E402

from sla.analysis.timeline import Timeline  # noqa: E402
from sla.html.pages import write_run_page  # noqa: E402
from sla.manifest import RunManifest, json_value  # noqa: E402
SLA = str(Path(sys.executable).parent / "sla")


def nearest_rank(sorted_values: list[float], q: float) -> float:
    return sorted_values[max(0, math.ceil(q * len(sorted_values)) - 1)]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scenario", default="scenarios/sustained.yaml")
    parser.add_argument("--sla", default="sla/thresholds/ocr.yaml")
    parser.add_argument("--run-dir", type=Path)
    args = parser.parse_args()
    run_dir = args.run_dir
    if run_dir is None:
        out = ROOT / "runs" / "bench-analysis"
        t0 = time.monotonic()
        subprocess.run([SLA, "run", args.scenario, "--sla", args.sla, "--keep-raw", "--out", str(out)], cwd=ROOT, check=False)
        print(f"sla run took {time.monotonic() - t0:.0f} s")
        run_dir = max(out.iterdir(), key=lambda p: p.stat().st_mtime)
    timings = []
    for _ in range(3):
        t0 = time.monotonic()
        subprocess.run([SLA, "check", str(run_dir)], cwd=ROOT, check=False, capture_output=True)
        timings.append(time.monotonic() - t0)
    manifest = json.loads((run_dir / "run.json").read_text())
    length = manifest["ended_at"] - manifest["started_at"]
    print(f"run {run_dir.name}: {length / 60:.1f} min, {manifest['loadgen']['requests']} requests")
    print(f"sla check (start Prometheus on the kept data, query, judge, write reports): median {statistics.median(timings):.2f} s "
          f"of {[round(t, 2) for t in timings]}")
    check_dir = max((p for p in run_dir.glob("check-*") if (p / "timeline.json").is_file()), key=lambda p: p.stat().st_mtime)
    result, timeline = json.loads((check_dir / "result.json").read_text()), Timeline.read(check_dir)
    page_timings = []
    for _ in range(5):
        t0 = time.monotonic()
        write_run_page(check_dir, result, timeline, json_value(asdict(RunManifest.read(run_dir))), run_dir)
        page_timings.append(time.monotonic() - t0)
    print(f"writing report.html ({len(timeline.times)} points per series, {len(timeline.series)} series, "
          f"{(check_dir / 'report.html').stat().st_size / 1e3:.0f} kB): median {statistics.median(page_timings):.2f} s "
          f"of {[round(t, 2) for t in page_timings]}")
    raw: dict[str, list[float]] = {}
    for path in run_dir.glob("raw_latencies-*.tsv"):
        for line in path.read_text().splitlines():
            phase, _, outcome, timing, seconds = line.split("\t")
            if outcome == "success" and timing == "actual":
                raw.setdefault(phase, []).append(float(seconds))
    result = json.loads((run_dir / "result.json").read_text())
    for phase, summary in result["phases"].items():
        values = sorted(raw.get(phase, []))
        if not values:
            continue
        for key, q in (("p50", 0.5), ("p99", 0.99)):
            truth, hist = nearest_rank(values, q), summary.get(key)
            if hist:
                print(f"{phase:<10} {key}: histogram {hist * 1e3:8.2f} ms, raw {truth * 1e3:8.2f} ms, "
                      f"relative error {(hist - truth) / truth * 100:+.2f} % ({len(values)} requests)")


if __name__ == "__main__":
    main()
