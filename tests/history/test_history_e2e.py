"""Release over release, end to end: `sla run --history` (real Locust and Prometheus) against the
synthetic server (timers only: its service time is exact, whatever the CPU), twelve runs per
series, two series written into one SQLite store at once. Each series' runs report to one
Prometheus started before them, as a team's existing one (`--prometheus URL --metrics-port P`):
that mode proven for real, and no Prometheus started and discovered per run.

- unchanged: 100 ms per request in every run;
- regressed: 100 ms in runs 1-7, 115 ms from run 8 on (another server, the same scenario file).
`sla history` must put the change point at run 8 of the regressed series and none in the other; the
baseline objective (P50 +5 % against the last 6 runs) must FAIL on run 9 and never FAIL unchanged.
Both objectives are P50s. The P99 of a run's 160 requests is its second-highest, which one scheduling
hiccup of the load generator moves by 10 %: beside the suite's other gate runs on the slower CPU, its
series showed a real (p = 0.000) change at run 4 as the machine got busier, and at run 7 in another
run. benchmarks/bench_history.py measures P99 baselines on the reference server's longer runs.
"""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from contextlib import ExitStack
from pathlib import Path

import pytest

from sla.processes import ManagedProcess, free_port, wait_http_ok
from sla.prometheus.server import start_prometheus

# The module's runs (24 gate runs, two at a time) take 4 to 6 minutes here, in the first test's setup:
# over the suite's 300 s default on a busy or slower machine, which makes them longer, never wrong.
pytestmark = [pytest.mark.e2e, pytest.mark.waits, pytest.mark.timeout(900)]

ROOT = Path(__file__).resolve().parents[2]
SLA = str(Path(sys.executable).parent / "sla")
RUNS = 12
CHANGE_AT = 8
SCENARIO = """name: {name}
target: {{api: http, options: {{path: /v1/ocr, ready_path: /readyz}}}}
payloads: {{mix: {{small-plain-png: 1}}, variants: 1}}
request: {{timeout: 10s}}
phases:
  - {{name: steady, kind: arrival_rate, duration: 4s, rate: 40/s}}
"""
# The runs share the machine with the suite's other gate runs: an unchanged series' P50 drifted 1 %
# (102.7 -> 103.7 ms, p = 0.005) as it got busier, a change `sla history` rightly reports at its
# default --min-change 1 %. The subject is the planted 15 %, so the history is read as a user of a
# shared CI runner would: changes of 3 % or more.
SHARED_RUNNER = ("--min-change", "3%")
SLA_FILE = "name: history\nphases:\n  steady:\n    latency: {p50: 1s}\n    baseline: {p50: +5%, runs: 6}\n"


def synthetic(stack: ExitStack, tmp: Path, service_ms: float) -> str:
    port = free_port()
    server = stack.enter_context(ManagedProcess(
        f"synthetic {service_ms:g} ms", [sys.executable, str(ROOT / "benchmarks" / "synthetic_server.py"), str(port),
                                          "--service-ms", f"{service_ms:g}", "--workers", "8"], tmp / f"server-{service_ms:g}-{port}.log"))
    url = f"http://127.0.0.1:{port}"
    wait_http_ok(server, f"{url}/readyz", 10, "ready")
    return url


def existing_prometheus(stack: ExitStack, tmp: Path, series: str) -> list[str]:
    """A running Prometheus that scrapes a series' load generator on a port of its own: the run's options."""
    port = free_port()
    prom, url = start_prometheus(tmp / f"prometheus-{series}", loadgen=f"127.0.0.1:{port}")
    stack.callback(prom.stop)
    return ["--prometheus", url, "--metrics-port", str(port)]


def result(tmp: Path, series: str, i: int) -> dict:
    return json.loads((tmp / "runs" / f"{series}-{i:02d}" / "result.json").read_text())


def objective(doc: dict, objective_id: str) -> dict:
    return next(o for o in doc["objectives"] if o["id"] == objective_id)


@pytest.fixture(scope="module")
def history(tmp_path_factory) -> tuple[Path, str]:
    tmp = tmp_path_factory.mktemp("history")
    url = f"sqlite:///{tmp / 'history.db'}"
    sla = tmp / "sla.yaml"
    sla.write_text(SLA_FILE)
    for name in ("unchanged", "regressed"):
        (tmp / f"{name}.yaml").write_text(SCENARIO.format(name=name))
    with ExitStack() as stack:
        # a server per series and service time (8 workers of 100 ms: 80/s; a run asks 40/s)
        unchanged, before, after = synthetic(stack, tmp, 100), synthetic(stack, tmp, 100), synthetic(stack, tmp, 115)
        prometheus = {name: existing_prometheus(stack, tmp, name) for name in ("unchanged", "regressed")}
        for i in range(1, RUNS + 1):
            runs = {name: subprocess.Popen(
                [SLA, "run", str(tmp / f"{name}.yaml"), "--sla", str(sla), "--host", host, "--out", str(tmp / "runs"),
                 "--run-id", f"{name}-{i:02d}", "--history", url, *prometheus[name]],
                cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
                for name, host in (("unchanged", unchanged), ("regressed", after if i >= CHANGE_AT else before))}
            for name, proc in runs.items():
                output = proc.communicate(timeout=240)[0]
                assert proc.returncode in (0, 1, 2), output[-3000:]
                assert f"history: run {name}-{i:02d} stored in {url}" in output, output[-3000:]
    return tmp, url


def test_both_series_written_at_once_are_stored_whole(history):
    tmp, _ = history
    db = sqlite3.connect(tmp / "history.db")
    for name in ("unchanged", "regressed"):
        runs = db.execute("SELECT id, run_id FROM runs WHERE scenario = ? ORDER BY started_at", (name,)).fetchall()
        assert [r for _, r in runs] == [f"{name}-{i:02d}" for i in range(1, RUNS + 1)]
        for pk, run_id in runs:
            (vals,) = db.execute("SELECT vals FROM phases WHERE run = ? AND phase = 'steady'", (pk,)).fetchone()
            assert json.loads(vals)["requests"] == 160, run_id
            objectives = {o for (o,) in db.execute("SELECT objective FROM objectives WHERE run = ?", (pk,))}
            assert objectives == {"steady.latency.p50", "steady.baseline.p50"}, run_id


def test_the_planted_regression_is_a_change_point_at_run_8_and_fails_run_9(history):
    tmp, url = history
    p50 = [objective(result(tmp, "regressed", i), "steady.baseline.p50")["value"] for i in range(1, RUNS + 1)]
    shown = subprocess.run([SLA, "history", "--history", url, *SHARED_RUNNER, "--scenario", "regressed", "--objective", "steady.baseline.p50",
                            "-o", str(tmp / "page")], capture_output=True, text=True, timeout=120)
    assert shown.returncode == 0, shown.stderr
    assert "12 run(s) of regressed" in shown.stdout
    changes = [line for line in shown.stdout.splitlines() if "change point at run" in line]
    assert len(changes) == 1 and f"change point at run regressed-{CHANGE_AT:02d} (#{CHANGE_AT} of 12)" in changes[0], (shown.stdout, p50)
    every = subprocess.run([SLA, "history", "--history", url, *SHARED_RUNNER, "--scenario", "regressed", "-o", str(tmp / "page-all")],
                           capture_output=True, text=True, timeout=120).stdout
    # the latency objective's P50 (the run's HdrHistogram) changes at run 8 as well, and nowhere else
    found = [line for line in every.splitlines() if "change point at run" in line]
    assert len(found) == 2 and all(f"change point at run regressed-{CHANGE_AT:02d} " in line for line in found), every
    page = (tmp / "page" / "history.html").read_text()
    assert f'data-change-points="regressed-{CHANGE_AT:02d}"' in page and 'href="../runs/regressed-12/report.html"' in page

    ninth = objective(result(tmp, "regressed", 9), "steady.baseline.p50")
    assert ninth["verdict"] == "FAIL", (ninth["detail"], p50)
    assert ninth["extra"]["ci"][0] > 0.05 and ninth["extra"]["runs"] == 6, ninth["detail"]
    assert ninth["detail"].startswith("P50 +") and "over the last 6 runs" in ninth["detail"]
    assert objective(result(tmp, "regressed", CHANGE_AT - 1), "steady.baseline.p50")["verdict"] != "FAIL"


def test_unchanged_runs_have_no_change_point_and_no_fail(history):
    tmp, url = history
    shown = subprocess.run([SLA, "history", "--history", url, *SHARED_RUNNER, "--scenario", "unchanged", "-o", str(tmp / "page-unchanged")],
                           capture_output=True, text=True, timeout=120)
    assert shown.returncode == 0, shown.stderr
    assert "change point at run" not in shown.stdout, shown.stdout
    assert shown.stdout.count("no change point") == 2  # steady.baseline.p50 and steady.latency.p50
    verdicts = [objective(result(tmp, "unchanged", i), "steady.baseline.p50") for i in range(1, RUNS + 1)]
    assert [v["verdict"] for v in verdicts[:6]] == ["INCONCLUSIVE"] * 6  # fewer than the 6 runs needed
    assert "comparable run(s) of the 6 needed" in verdicts[1]["detail"] and "no comparable runs" in verdicts[0]["detail"]
    assert all(v["verdict"] != "FAIL" for v in verdicts), [v["detail"] for v in verdicts]
