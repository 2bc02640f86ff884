"""How well `sla explain`'s queue model predicts (figures, not pass/fail).

    python benchmarks/bench_whatif.py [--only synthetic,reference] [--seconds 30]

For each target, one `sla run` with a quiet phase and then three Poisson arrival rates at about 30 %,
60 % and 85 % of its capacity. explain.json's model check gives, for each rate phase, the P99 that the
quiet phase's service times alone predict (simulated FIFO queue, Poisson arrivals, the server's
workers) beside the P99 users measured. The synthetic server (20 ms fixed, 1 worker: 50/s) is the
exact case; the reference server (tiny preset, 1 thread, pinned to core 1, the main job's mix) is
the real one, its capacity taken first from a short quiet run's `sla explain`.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.synthetic import synthetic_target  # noqa: E402

SLA = [sys.executable, "-m", "sla.cli"]
FRACTIONS = (0.3, 0.6, 0.85)
REFERENCE = "  server: {preset: tiny, threads: 1}\n  cpuset: [1]"
MIX = "payloads: {mix: {label-plain-png: 3, label-noisy-jpeg: 2, small-noisy-jpeg: 1}, variants: 2}"


def scenario(name: str, target: str, phases: list[str]) -> str:
    return f"name: {name}\ntarget:\n{target}\n{MIX}\nrequest: {{timeout: 30s}}\nphases:\n" + "".join(f"  - {p}\n" for p in phases)


def run(work: Path, name: str, text: str, phases: list[str]) -> dict:
    (work / f"{name}.yaml").write_text(text)
    sla = "name: " + name + "\nphases:\n" + "".join(f"  {p}:\n    latency: {{p99: 30s}}\n" for p in phases)  # a P99 to check
    (work / f"{name}-sla.yaml").write_text(sla)
    done = subprocess.run([*SLA, "run", str(work / f"{name}.yaml"), "--sla", str(work / f"{name}-sla.yaml"), "--out", str(work / "runs")],
                          cwd=ROOT, capture_output=True, text=True)
    if done.returncode not in (0, 1, 2):  # a verdict of any kind: the explanation is written
        sys.exit(f"{name}: sla run exited {done.returncode}:\n{done.stdout[-2000:]}{done.stderr[-2000:]}")
    run_dir = sorted((work / "runs").glob(f"*-{name}"))[-1]
    return json.loads((run_dir / "explain.json").read_text())


def rate_phases(capacity: float, seconds: int) -> tuple[list[str], list[str]]:
    names = [f"at{int(f * 100)}" for f in FRACTIONS]
    return names, [f"{{name: {n}, kind: arrival_rate, duration: {seconds}s, rate: {f * capacity:.3g}/s, arrivals: poisson}}"
                   for n, f in zip(names, FRACTIONS)]


def report(label: str, explained: dict) -> None:
    """Per rate phase: P99 predicted from the quiet phase's service times, and from the phase's own
    mean service time (the queue model alone), beside the measured one."""
    print(f"\n## {label}")
    print(f"{'phase':<7} {'rate/s':>7} {'quiet svc':>10} {'own svc':>9} {'pred. (quiet)':>14} {'pred. (own)':>12} {'measured':>9} "
          f"{'meas/quiet':>10} {'meas/own':>9}")
    service = {p["phase"]: p["load"].get("service_time") for p in explained["phases"]}
    quiet = next((e for e in explained["evidence"] if e["phase"] == "quiet"), None)
    quiet_svc = (quiet["server"]["mean"] - (quiet["queue"] or {}).get("mean", 0.0)) if quiet and quiet.get("server") else (
        quiet["client"]["mean"] if quiet else None)

    def ms(v):
        return f"{v * 1e3:.1f}ms" if v else "-"

    def ratio(a, b):
        return f"{a / b:.2f}" if a and b else "-"

    for p in explained["phases"]:
        at = (p.get("what_if") or {}).get("at_asked_rate")
        if not at or not p["phase"].startswith("at"):
            continue
        own = at.get("predicted_own_service")
        print(f"{p['phase']:<7} {at['rate']:>7.3g} {ms(quiet_svc):>10} {ms(service[p['phase']]):>9} {ms(at['predicted']):>14} "
              f"{ms(own):>12} {ms(at['measured']):>9} {ratio(at['measured'], at['predicted']):>10} {ratio(at['measured'], own):>9}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", default="synthetic,reference")
    parser.add_argument("--seconds", type=int, default=30, help="each rate phase's length")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-whatif-"))
    print(f"runs in {work}")
    if "synthetic" in args.only:
        names, phases = rate_phases(50.0, args.seconds)
        target = synthetic_target(20, 1)
        explained = run(work, "synthetic", scenario("synthetic", target, ["{name: quiet, kind: arrival_rate, duration: 15s, rate: 5/s}", *phases]), names)
        report("synthetic server: 20 ms fixed, 1 worker (capacity 50/s)", explained)
    if "reference" in args.only:
        first = run(work, "probe", scenario("probe", REFERENCE, ["{name: quiet, kind: users, duration: 20s, users: 1}"]), ["quiet"])
        capacity = first["phases"][0]["load"]["capacity"]
        print(f"\nreference server: capacity ~{capacity:.3g}/s ({first['phases'][0]['load']['capacity_how']}), from a quiet run")
        names, phases = rate_phases(capacity, args.seconds)
        explained = run(work, "reference", scenario("reference", REFERENCE, ["{name: quiet, kind: arrival_rate, duration: 20s, rate: 2/s}", *phases]), names)
        report("reference server: tiny, 1 thread, core 1, the main job's mix", explained)


if __name__ == "__main__":
    main()
