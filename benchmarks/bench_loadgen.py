"""What the load-generator plugin costs: requests/s of one Locust process against a trivial
loopback endpoint, with the plugin on (locustfiles/ocr.py) and off (plain FastHttpUser, same
request and check), alternated in one run; medians and their ratio.

    python benchmarks/bench_loadgen.py [--seconds 15] [--rounds 3] [--users 20]

The server is pinned to CPU 0 and Locust to CPU 1 (taskset) so they do not compete.
"""

from __future__ import annotations

import argparse
import csv
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from sla.processes import ManagedProcess, free_port, wait_http_ok  # noqa: E402

LOCUST = str(Path(sys.executable).parent / "locust")


def pinned(cpu: int, argv: list[str]) -> list[str]:
    return (["taskset", "-c", str(cpu)] if shutil.which("taskset") else []) + argv


def requests_per_s(argv: list[str], csv_prefix: Path) -> tuple[float, int]:
    subprocess.run(argv, cwd=ROOT, check=True, capture_output=True, timeout=300)
    with open(f"{csv_prefix}_stats.csv") as fh:
        row = next(r for r in csv.DictReader(fh) if r["Name"] == "Aggregated")
    return float(row["Requests/s"]), int(row["Failure Count"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=int, default=15)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--users", type=int, default=20)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-loadgen-"))
    scenario = work / "flat.yaml"
    scenario.write_text(
        "name: flat\npayloads: {mix: {small-plain-png: 1}, variants: 1}\nrequest: {timeout: 30s}\n"
        f"phases:\n  - {{name: steady, kind: users, duration: {args.seconds}s, users: {args.users}}}\n"
    )
    port = free_port()
    host = f"http://127.0.0.1:{port}"
    server = ManagedProcess("synthetic server", pinned(0, [sys.executable, str(ROOT / "benchmarks/synthetic_server.py"), str(port)]), work / "server.log")
    results: dict[str, list[float]] = {"on": [], "off": []}
    with server:
        wait_http_ok(server, f"{host}/readyz", 10, "ready")
        for i in range(args.rounds):
            for mode in ("on", "off"):
                prefix = work / f"{mode}{i}"
                if mode == "on":
                    argv = [LOCUST, "-f", "locustfiles/ocr.py", "--headless", "--scenario", str(scenario), "--host", host,
                            "--metrics-port", str(free_port()), "--run-dir", str(work / f"run{i}"), "--csv", str(prefix)]
                else:
                    argv = [LOCUST, "-f", "benchmarks/locust_plugin_off.py", "--headless", "-u", str(args.users),
                            "-r", str(args.users), "-t", f"{args.seconds}s", "--host", host, "--csv", str(prefix)]
                rps, failures = requests_per_s(pinned(1, argv), prefix)
                results[mode].append(rps)
                print(f"round {i + 1} plugin {mode:<3}: {rps:8.0f} requests/s ({failures} failures)", flush=True)
    on, off = statistics.median(results["on"]), statistics.median(results["off"])
    print(f"\nmedian requests/s: plugin on {on:.0f}, plugin off {off:.0f}; on/off = {on / off:.3f} "
          f"(cost {(1 - on / off) * 100:.1f} %)")


if __name__ == "__main__":
    main()
