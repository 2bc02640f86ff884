"""The same OCR pipeline behind every serving stack that installs here, side by side in one session:
this project's reference server, PaddleX basic serving, KServe's ModelServer, Triton (through
PyTriton) and MLServer (Open Inference Protocol V2), BentoML and Ray Serve. The same models (one
preset), the same payloads, the same gate.

    python benchmarks/bench_stacks.py [--targets reference kserve triton] [--users 1 4] [--seconds 30] [--preset base] [--threads 2]

Needs `make paddlex kserve stacks` for the others; the four stacks of `make stacks` are started as
their shipped scenarios start them (scenarios/<stack>.yaml), with this preset and thread count.
For each target and user count, one `sla run`
of a fresh server: time to ready (process start to the readiness probe's first 200, for each),
the first request (client side), a warm-up of one user (the cross-check's low-load overhead), then
a closed-model steady phase: P50, P99 and throughput as users saw them, and where the stack has
server metrics, its own P99 beside the load generator's over the same window (the cross-check's
figures). Prints a table; not a test.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
SLA = str(Path(sys.executable).parent / "sla")
PAYLOADS = "{mix: {small-plain-png: 3, medium-noisy-jpeg: 2, large-plain-png: 1}, variants: 2}"
TARGETS = {
    "reference": "target: {{fresh: true, server: {{preset: {preset}, threads: {threads}}}}}\n",
    "kserve": (
        "target:\n  api: v2\n  metrics: kserve\n  fresh: true\n"
        "  command: [.venvs/kserve/bin/python, integrations/kserve/ocr_model.py, --host, '{{host}}', --http_port, '{{port}}',"
        " --model_name, ocr, --preset, {preset}, --threads, '{threads}']\n"
        f"  cwd: {ROOT}\n"
    ),
    "paddlex": (
        "target:\n  api: paddlex\n  fresh: true\n"
        "  command: [.venvs/paddlex/bin/paddlex, --serve, --pipeline, .cache/paddlex/{preset}/OCR.yaml, --device, cpu,"
        " --host, '{{host}}', --port, '{{port}}']\n"
        f"  cwd: {ROOT}\n"
        "  env: {{PADDLE_PDX_DISABLE_MODEL_SOURCE_CHECK: 'True', PADDLE_PDX_CACHE_HOME: .cache/paddlex/home, PADDLE_PDX_CPU_NUM_THREADS: '{threads}'}}\n"
    ),
}
SHIPPED = ("triton", "mlserver", "bentoml", "ray_serve")  # started as scenarios/<stack>.yaml starts them
PREPARED = {"kserve": ROOT / ".venvs" / "kserve" / "bin" / "python", "paddlex": ROOT / ".venvs" / "paddlex" / "bin" / "paddlex",
            **{stack: ROOT / ".venvs" / stack / ".ready" for stack in SHIPPED}}
SERVER_P99 = {"reference", "kserve", "mlserver", "bentoml", "ray_serve"}  # a latency histogram: their own P99 is read too


def shipped_target(stack: str, preset: str, threads: int) -> str:
    """The `target` of a stack's shipped scenario, with this preset and thread count."""
    target = yaml.safe_load((ROOT / "scenarios" / f"{stack}.yaml").read_text())["target"]
    target["cwd"] = str((ROOT / "scenarios" / target["cwd"]).resolve())
    argv = list(target["command"])
    for flag, value in (("--preset", preset), ("--threads", str(threads))):
        if flag in argv:
            argv[argv.index(flag) + 1] = value
    target["command"] = argv
    target["env"] = {**target.get("env", {}), "OCR_PRESET": preset, "OCR_THREADS": str(threads)}
    return yaml.safe_dump({"target": target}, sort_keys=False)



def sla_doc(target: str) -> str:
    server = ", p99: {max: 1m, source: server}" if target in SERVER_P99 else ""
    return ("name: bench\ncold_start: {time_to_ready: {max: 5m, source: loadgen}, first_request: 1m}\n"
            f"phases: {{steady: {{latency: {{p50: 1m{server}}}}}}}\n")


def run(target: str, users: int, args: argparse.Namespace, work: Path) -> dict:
    scenario = work / f"{target}-{users}.yaml"
    text = (shipped_target(target, args.preset, args.threads) if target in SHIPPED
            else TARGETS[target].format(preset=args.preset, threads=args.threads))
    scenario.write_text(f"name: bench-{target}-{users}\n" + text
                        + f"payloads: {PAYLOADS}\nrequest: {{timeout: 30s}}\nphases:\n"
                        "  - {name: warmup, kind: users, duration: 10s, users: 1}\n"  # one at a time: the low-load overhead
                        f"  - {{name: steady, kind: users, duration: {args.seconds}s, users: {users}}}\n")
    sla = work / f"sla-{target}.yaml"
    sla.write_text(sla_doc(target))
    out = work / "runs"
    result = subprocess.run([SLA, "run", str(scenario), "--sla", str(sla), "--out", str(out), "--run-id", scenario.stem],
                            cwd=ROOT, capture_output=True, text=True)
    path = out / scenario.stem / "result.json"
    if not path.exists():
        raise SystemExit(f"{target} with {users} users did not run:\n{result.stdout[-2000:]}\n{result.stderr[-2000:]}")
    doc = json.loads(path.read_text())
    steady = doc["phases"]["steady"]
    server = next((o for o in doc["objectives"] if o["id"] == "steady.latency.p99"), None)
    check = server["extra"].get("cross_check", {}) if server else {}
    return {"ready": doc["cold_start"]["time_to_ready"], "first": doc["cold_start"]["first_request"],
            "p50": steady["p50"], "p99": steady["p99"], "qps": steady["throughput"], "requests": steady["requests"],
            "server_p99": server["value"] if server else None, "client_p99_actual": check.get("client"),
            "overhead": check.get("overhead"), "warnings": doc.get("warnings", [])}


def ms(value: float | None) -> str:
    return f"{value * 1e3:.0f} ms" if value is not None else "-"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--targets", nargs="+", choices=[*TARGETS, *SHIPPED], default=[*TARGETS, *SHIPPED])
    parser.add_argument("--users", type=int, nargs="+", default=[1, 4])
    parser.add_argument("--seconds", type=int, default=30)
    parser.add_argument("--preset", default="base")
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    for target in args.targets:
        if target in PREPARED and not PREPARED[target].exists():
            raise SystemExit(f"{target} is not prepared: run `make {target}`")
    if "paddlex" in args.targets and not (ROOT / ".cache" / "paddlex" / args.preset / "OCR.yaml").exists():
        raise SystemExit("PaddleX is not prepared for this preset: run `make paddlex`")
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for users in args.users:
            for target in args.targets:
                figures = run(target, users, args, Path(tmp))
                rows.append((target, users, figures))
                print(f"{target:9} {users} users: {figures}", flush=True)
    print("\n| target | users | time to ready | first request | P50 | P99 | throughput | requests | server P99 | "
          "client P99 (actual send) | overhead at low load | cross-check |\n|---|---|---|---|---|---|---|---|---|---|---|---|")
    for target, users, f in rows:
        print(f"| {target} | {users} | {f['ready']:.2f} s | {ms(f['first'])} | {ms(f['p50'])} | {ms(f['p99'])} | {f['qps']:.2f}/s "
              f"| {f['requests']:.0f} | {ms(f['server_p99'])} | {ms(f['client_p99_actual'])} | {ms(f['overhead'])} "
              f"| {'warning' if f['warnings'] else ('agrees' if f['server_p99'] is not None else '-')} |")
    by = {(t, u): f for t, u, f in rows}
    for users in args.users:
        ref = by.get(("reference", users))
        for target in args.targets:
            other = by[(target, users)]
            if ref is None or target == "reference":
                continue
            print(f"{users} users: {target}/reference throughput {other['qps'] / ref['qps']:.2f}x, P50 {other['p50'] / ref['p50']:.2f}x, "
                  f"P99 {other['p99'] / ref['p99']:.2f}x, time to ready {other['ready'] / ref['ready']:.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
