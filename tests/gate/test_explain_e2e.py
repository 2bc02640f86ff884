"""`sla explain` on a real reference server at low load: where a request's time went adds up; `sla
diff` of two runs that differ in oneDNN names it. The
saturation case is in tests/gate/test_capacity_e2e.py (against the capacity `sla capacity` finds)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from tests.gate.test_own_service_e2e import ROOT, SLA
from tests.processes import env_without_slowdown

pytestmark = [pytest.mark.e2e, pytest.mark.cpu_bound]

# One user, one page: nothing queues, every request is the same work.
SCENARIO = """
name: quiet
target:
  server: {preset: tiny, threads: 1, onednn: ONEDNN}
  cpuset: [1]
payloads: {mix: {small-plain-png: 1}, variants: 1}
request: {timeout: 30s}
phases:
  - {name: warmup, kind: users, duration: 3s, users: 1}
  - {name: quiet, kind: users, duration: 12s, users: 1}
"""
SLA_FILE = "name: quiet\nphases:\n  quiet:\n    latency: {p50: 10s}\n"


def quiet_run(tmp_path: Path, onednn: str) -> Path:
    (tmp_path / "s.yaml").write_text(SCENARIO.replace("ONEDNN", onednn))
    (tmp_path / "sla.yaml").write_text(SLA_FILE)
    # Never under the suite's slowdown: the requests that wait out a quota's period, inside a stage or
    # between two, break the P50s' sum (72 ms against a server P50 of 97 ms at a third of a core); on a
    # slower CPU every stage slows alike.
    done = subprocess.run([*SLA, "run", str(tmp_path / "s.yaml"), "--sla", str(tmp_path / "sla.yaml"), "--out", str(tmp_path / "runs")],
                          cwd=ROOT, env=env_without_slowdown(), capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    [run_dir] = [p for p in (tmp_path / "runs").iterdir() if (p / "run.json").exists()]
    return run_dir


@pytest.fixture(scope="module")
def onednn_on(tmp_path_factory) -> Path:
    return quiet_run(tmp_path_factory.mktemp("on"), "on")


def test_at_low_load_the_parts_of_the_p50_add_up_to_what_users_saw(onednn_on):
    run_dir = onednn_on
    [quiet] = json.loads((run_dir / "explain.json").read_text())["phases"]
    rows = {r["part"]: r for r in quiet["breakdown"]}
    client, server, outside = rows["client"], rows["server"], rows["outside the server"]
    inside = [r for r in quiet["breakdown"] if r["level"] == 2 and r["p50"] is not None]  # the queue wait and each stage
    assert {r["part"] for r in inside} == {"queue wait", "decode", "preprocess", "det", "postprocess", "crop", "rec"}
    # the stages run one after the other on one page: their P50s add up to the server's, within the buckets holding them
    resolution = server["p50_width"] + sum(r["p50_width"] for r in inside)
    assert abs(sum(r["p50"] for r in inside) - server["p50"]) <= resolution, (inside, server)
    # outside the server at P50 is the client-minus-server gap the means measure exactly, within the buckets' width
    assert 0 < outside["mean"] < 0.05 and abs(outside["p50"] - outside["mean"]) <= client["p50_width"] + server["p50_width"], outside
    assert not quiet["load"]["saturated"]  # one user: nothing waits
    assert quiet["load"]["workers"] == 1 and quiet["load"]["cores"] == 1  # instances 1, pinned to core 1


def test_sla_diff_of_runs_that_differ_in_onednn_names_it_and_splits_the_gap(onednn_on, tmp_path):
    off = quiet_run(tmp_path, "off")
    done = subprocess.run([*SLA, "diff", str(onednn_on), str(off)], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "server onednn                    on                       -> off" in done.stdout
    why = next(line for line in done.stdout.splitlines() if line.strip().startswith("why: quiet:"))
    assert "what differs: server onednn on -> off" in why and "service time" in why
    assert float(why.split("service time ")[1].split("x")[0]) > 1.0  # oneDNN off is slower on this CPU kind
