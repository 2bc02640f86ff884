"""Time outside the server when a phase's latency changes in its last second (figures, not pass/fail).

    python benchmarks/bench_explain_edges.py [--runs 5]

Each run: `sla run` of a quiet phase (one user, one page, 12 s) against the reference server (tiny
preset, one thread, pinned to core 1), while a busy loop shares core 1 until 1 s before the phase
ends: the server's latency falls in the phase's last second, as when a neighbour frees the core.
From the run's own Prometheus, the mean time outside the server (the client's mean less the
server's) two ways, side by side: the server read at its last scrapes before the phase's edges
(what `sla explain` did before), and its counters' growth interpolated at the edges (what it does
now, sla/explain/evidence.py). The client's mean is the verdict's in both. Time outside the server
is never below zero; a reading below zero is the server's window missing the phase's last second.
"""

from __future__ import annotations

import argparse
import glob
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sla.analysis.analyzer import Analyzer  # noqa: E402
from sla.cli import positive_int  # noqa: E402
from sla.explain.evidence import gather  # noqa: E402
from sla.rundir import read_manifest, run_prometheus  # noqa: E402
from sla.tables import ms  # noqa: E402

SLA = [sys.executable, "-m", "sla.cli"]
PHASE_S, FREED_BEFORE_END_S = 12, 1.0
SCENARIO = f"""name: edges
target:
  server: {{preset: tiny, threads: 1}}
  cpuset: [1]
payloads: {{mix: {{small-plain-png: 1}}, variants: 1}}
request: {{timeout: 30s}}
phases:
  - {{name: warmup, kind: users, duration: 3s, users: 1}}
  - {{name: quiet, kind: users, duration: {PHASE_S}s, users: 1}}
"""
SLA_FILE = "name: edges\nphases:\n  quiet:\n    latency: {p50: 10s}\n"
HOG = "import os\nos.sched_setaffinity(0, {1})\nwhile True:\n    pass\n"


def wait_for_phase(out: Path, run: subprocess.Popen, timeout_s: float = 300.0) -> bool:
    """Until the load generator logs the quiet phase's start (False: the run ended or took too long)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline and run.poll() is None:
        if any("phase quiet started" in Path(f).read_text() for f in glob.glob(str(out / "*" / "locust.log"))):
            return True
        time.sleep(0.05)
    return False


def one_run(work: Path, i: int) -> Path | None:
    """A run with the busy loop on core 1 until 1 s before the quiet phase ends; its run directory."""
    out = work / f"run{i}"
    with ExitStack() as stack:
        hog = subprocess.Popen([sys.executable, "-c", HOG])
        stack.callback(lambda: (hog.kill(), hog.wait()))
        run = subprocess.Popen([*SLA, "run", str(work / "scenario.yaml"), "--sla", str(work / "sla.yaml"), "--out", str(out)],
                               cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        try:
            if wait_for_phase(out, run):
                time.sleep(PHASE_S - FREED_BEFORE_END_S)
                hog.kill()
            run.wait()
        except KeyboardInterrupt:  # `sla run` stops what it started on SIGINT
            run.send_signal(signal.SIGINT)
            run.wait()
            raise
    runs = [p for p in out.iterdir() if (p / "result.json").exists()] if out.exists() else []
    return runs[0] if runs else None


def server_both_ways(run_dir: Path) -> tuple[float, float, float]:
    """(client mean, server mean at its last scrapes before the edges, server mean by growth at the edges)."""
    with ExitStack() as stack:
        reader, manifest = run_prometheus(run_dir, read_manifest(run_dir), None, stack)
        analyzer = Analyzer(reader, manifest)
        w = analyzer.window("quiet")
        assert w is not None
        evidence = gather(analyzer, w)
        assert evidence.server is not None and evidence.server.mean is not None and evidence.client.mean is not None
        before = analyzer.server.mean(w).value
        assert before is not None
        return evidence.client.mean, before, evidence.server.mean


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=positive_int, default=5)
    args = parser.parse_args()
    if len(os.sched_getaffinity(0)) < 2 or 1 not in os.sched_getaffinity(0):
        print("this bench pins the server and the busy loop to core 1: it needs cores 0 and 1", file=sys.stderr)
        return 2
    print(f"{args.runs} runs: a {PHASE_S} s quiet phase, core 1 shared with a busy loop until {FREED_BEFORE_END_S:g} s before its end", flush=True)
    print("| run | client mean | server mean: last scrapes | outside | server mean: growth at the edges | outside |")
    print("|---|---|---|---|---|---|")
    before, now = [], []
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        (work / "scenario.yaml").write_text(SCENARIO)
        (work / "sla.yaml").write_text(SLA_FILE)
        for i in range(1, args.runs + 1):
            run_dir = one_run(work, i)
            if run_dir is None:
                print(f"| {i} | run failed |", flush=True)
                continue
            client, at_last, by_growth = server_both_ways(run_dir)
            before.append(client - at_last)
            now.append(client - by_growth)
            print(f"| {i} | {ms(client)} | {ms(at_last)} | {(client - at_last) * 1e3:+.2f} ms | {ms(by_growth)} "
                  f"| {(client - by_growth) * 1e3:+.2f} ms |", flush=True)
    if before:
        print(f"\noutside the server below zero: {sum(v < 0 for v in before)} of {len(before)} runs read at the last scrapes, "
              f"{sum(v < 0 for v in now)} by growth; median {statistics.median(before) * 1e3:+.2f} ms against "
              f"{statistics.median(now) * 1e3:+.2f} ms; spread {(max(before) - min(before)) * 1e3:.2f} ms against "
              f"{(max(now) - min(now)) * 1e3:.2f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
