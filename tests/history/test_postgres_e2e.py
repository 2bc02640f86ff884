"""The history store on a real PostgreSQL (started and stopped by the test): two `sla run --history`
at once against the synthetic server both stored whole, a third judged against them, and
`sla history` reading the series back; a newer schema refused with the store untouched."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest

from sla.processes import ManagedProcess, free_port, wait_http_ok
from tests.postgres import postgres_server

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
SLA = str(Path(sys.executable).parent / "sla")
SCENARIO = """name: pg
target: {api: http, options: {path: /v1/ocr, ready_path: /readyz}}
payloads: {mix: {small-plain-png: 1}, variants: 1}
phases:
  - {name: steady, kind: arrival_rate, duration: 6s, rate: 20/s}
"""
SLA_FILE = "name: pg\nphases:\n  steady: {baseline: {p99: +20%, throughput: 10%, runs: 2}}\n"


def test_runs_stored_at_once_in_postgresql_and_judged_against(tmp_path):
    scenario, sla = tmp_path / "pg.yaml", tmp_path / "sla.yaml"
    scenario.write_text(SCENARIO)
    sla.write_text(SLA_FILE)
    port = free_port()
    server = ManagedProcess("synthetic", [sys.executable, str(ROOT / "benchmarks" / "synthetic_server.py"), str(port),
                                          "--service-ms", "50", "--workers", "4"], tmp_path / "server.log")
    with postgres_server() as url, server:
        wait_http_ok(server, f"http://127.0.0.1:{port}/readyz", 10, "ready")

        def gate(run_id: str) -> subprocess.Popen:
            return subprocess.Popen([SLA, "run", str(scenario), "--sla", str(sla), "--host", f"http://127.0.0.1:{port}",
                                     "--out", str(tmp_path / "runs"), "--run-id", run_id, "--history", url],
                                    cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)

        first = [gate("a"), gate("b")]  # at once: the schema made by one, both runs appended
        outputs = [p.communicate(timeout=240)[0] for p in first]
        for proc, output, run_id in zip(first, outputs, "ab"):
            assert proc.returncode == 2, output[-3000:]  # no earlier runs: the baseline is INCONCLUSIVE
            assert f"history: run {run_id} stored in {url}" in output
        third = gate("c")
        output = third.communicate(timeout=240)[0]
        assert third.returncode in (0, 2), output[-3000:]  # unchanged: never a FAIL
        judged = json.loads((tmp_path / "runs" / "c" / "result.json").read_text())["objectives"]
        assert all("over the last 2 runs" in o["detail"] for o in judged), [o["detail"] for o in judged]

        with psycopg.connect(url) as db:
            rows = db.execute("SELECT r.run_id, count(DISTINCT p.phase), count(DISTINCT o.objective) FROM runs r "
                              "JOIN phases p ON p.run = r.id JOIN objectives o ON o.run = r.id GROUP BY r.run_id ORDER BY r.run_id").fetchall()
            assert rows == [("a", 1, 2), ("b", 1, 2), ("c", 1, 2)]
            (version,) = db.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()

        shown = subprocess.run([SLA, "history", "--history", url, "--scenario", "pg", "-o", str(tmp_path)], capture_output=True,
                               text=True, timeout=120)
        assert shown.returncode == 0 and "3 run(s) of pg" in shown.stdout and "steady.baseline.throughput: 3 runs" in shown.stdout, shown

        with psycopg.connect(url) as db:  # a store from a newer harness
            db.execute("UPDATE meta SET value = %s WHERE key = 'schema_version'", (str(int(version) + 1),))
        refused = subprocess.run([SLA, "run", str(scenario), "--sla", str(sla), "--host", f"http://127.0.0.1:{port}",
                                  "--out", str(tmp_path / "runs"), "--run-id", "d", "--history", url], cwd=ROOT,
                                 capture_output=True, text=True, timeout=120)
        assert refused.returncode == 3 and "written by a newer version of the harness" in refused.stderr, refused.stderr
        assert not (tmp_path / "runs" / "d").exists()  # refused before any traffic
        with psycopg.connect(url) as db:
            assert db.execute("SELECT count(*) FROM runs").fetchone() == (3,)
