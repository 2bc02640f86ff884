"""The history store on SQLite: what is stored, what is comparable, versions, bad URLs, writers at once."""

from __future__ import annotations

import json
import multiprocessing
import sqlite3

import pytest

from sla.history.store import SCHEMA_VERSION, HistoryError, HistoryStore, engine_url, fingerprint

HOST = {"cpu_model": "AMD EPYC", "cores": 2, "affinity": "0-1", "cpu_limit": None, "isa": ["avx2"], "memory_bytes": 24 << 30,
        "harness": "0.1.0 (commit abc)"}


def manifest(run_id: str, started: float, sla_sha: str = "s" * 64, cores: int = 2, scenario_sha: str = "c" * 64) -> dict:
    return {"run_id": run_id, "scenario": {"name": "steady", "sha256": scenario_sha}, "sla": {"sha256": sla_sha}, "started_at": started,
            "environment": {"loadgen": {**HOST, "cores": cores}, "target": {"reported": False}}}


def result(p99: float, verdict: str = "PASS") -> dict:
    return {"verdict": verdict, "phases": {"steady": {"p99": p99 * 1.01, "throughput": 30.0, "requests": 150, "windows": [{"end": 1.0, "p99": p99}]}},
            "objectives": [{"id": "steady.latency.p99", "kind": "latency", "value": p99, "limit": 1.0, "unit": "s", "verdict": verdict}]}


HDR = {"steady": {"intended": {"encoded": "HISTFAAA", "p99": None}, "actual": {"encoded": "HISTFBBB"}}}


def store_at(tmp_path, name="h.db") -> HistoryStore:
    return HistoryStore(f"sqlite:///{tmp_path / name}").open()


def test_a_run_is_stored_whole_and_read_back_as_its_phase_values(tmp_path):
    store = store_at(tmp_path)
    assert store.append(result(0.1), manifest("r1", 100.0), HDR, tmp_path / "r1" / "report.html") is not None
    assert store.append(result(0.2), manifest("r1", 100.0), HDR, tmp_path / "r1" / "report.html") is None  # already there
    (run,) = store.runs()
    assert run.run_id == "r1" and run.values["steady"]["p99"] == pytest.approx(0.101)  # the HdrHistogram has no p99 here
    db = sqlite3.connect(tmp_path / "h.db")
    hdr, windows = db.execute("SELECT hdr, windows FROM phases").fetchone()
    assert json.loads(hdr) == {"intended": "HISTFAAA", "actual": "HISTFBBB"} and json.loads(windows)[0]["p99"] == 0.1
    assert json.loads(db.execute("SELECT manifest FROM runs").fetchone()[0])["run_id"] == "r1"


def test_a_percentiles_series_takes_the_hdrhistograms_value_where_the_run_has_one(tmp_path):
    store = store_at(tmp_path)
    judged = result(0.1099)
    judged["objectives"][0]["extra"] = {"hdr": 0.1043}  # inside the (0.1, 0.11] bucket: interpolated 0.1099
    store.append(judged, manifest("r1", 1.0), HDR, tmp_path / "x.html")
    store.append(result(0.2), manifest("r2", 2.0), HDR, tmp_path / "x.html")
    values = [p["value"] for _, p in store.objective_series(store.runs())["steady.latency.p99"]]
    assert values == [0.1043, 0.2]


def test_comparable_runs_are_the_last_n_before_this_one_of_the_same_sla_and_machine(tmp_path):
    store = store_at(tmp_path)
    for i in range(6):
        store.append(result(0.1 + i / 100), manifest(f"r{i}", 100.0 + i), HDR, tmp_path / "x.html")
    store.append(result(0.5), manifest("other-sla", 106.5, sla_sha="t" * 64), HDR, tmp_path / "x.html")
    store.append(result(0.5), manifest("other-machine", 106.6, cores=8), HDR, tmp_path / "x.html")
    got = store.comparable(manifest("now", 107.0), 3)
    assert [r.run_id for r in got.runs] == ["r3", "r4", "r5"] and got.others == ""
    assert [r.run_id for r in store.comparable(manifest("now", 107.0), 10, any_environment=True).runs][-1] == "other-machine"
    assert [r.run_id for r in store.comparable(manifest("r2", 102.0), 10).runs] == ["r0", "r1"]  # a run judged again: only earlier ones


def test_a_history_of_another_sla_only_says_why_nothing_is_comparable(tmp_path):
    store = store_at(tmp_path)
    for i in range(3):
        store.append(result(0.1), manifest(f"r{i}", 100.0 + i, sla_sha="t" * 64), HDR, tmp_path / "x.html")
    got = store.comparable(manifest("now", 200.0), 5)
    assert got.runs == () and got.others == "of the store's 3 earlier runs of this scenario, 3 judged by another SLA file (digest)"


def test_the_fingerprint_is_the_machine_not_the_versions():
    env = {"loadgen": HOST, "target": {"reported": True, "info": {"ocr_server_info": {"cpu_model": "AMD EPYC", "cores": "2", "threads": "1"}}}}
    newer = {"loadgen": {**HOST, "harness": "0.2.0"}, "target": env["target"]}
    assert fingerprint(env) == fingerprint(newer)
    assert fingerprint(env) != fingerprint({**env, "loadgen": {**HOST, "cpu_limit": 1.0}})


@pytest.mark.parametrize("url, why", [
    ("mysql://user@host/db", "unknown scheme mysql://"),
    ("runs/history.db", "unknown scheme (none)"),
    ("sqlite://", "give the database file"),
])
def test_a_url_of_an_unknown_scheme_is_refused_naming_what_is_accepted(tmp_path, url, why):
    with pytest.raises(HistoryError, match="accepted: sqlite:///PATH" if "scheme" in why else why) as error:
        engine_url(url)
    assert why in str(error.value)


def test_a_store_from_a_newer_schema_is_refused_and_left_untouched(tmp_path):
    store_at(tmp_path).append(result(0.1), manifest("r1", 1.0), HDR, tmp_path / "x.html")
    db = sqlite3.connect(tmp_path / "h.db")
    db.execute("UPDATE meta SET value = ? WHERE key = 'schema_version'", (str(SCHEMA_VERSION + 1),))
    db.commit()
    db.close()
    before = (tmp_path / "h.db").read_bytes()
    with pytest.raises(HistoryError, match=f"schema version {SCHEMA_VERSION + 1}, written by a newer version"):
        store_at(tmp_path)
    assert (tmp_path / "h.db").read_bytes() == before


def test_a_store_of_version_1_is_migrated_and_its_runs_keep_their_series(tmp_path):
    store = store_at(tmp_path)
    store.append(result(0.1), manifest("r1", 1.0), HDR, tmp_path / "x.html")
    store.close()
    db = sqlite3.connect(tmp_path / "h.db")  # as version 1 left it: no objectives table
    db.execute("DROP TABLE objectives")
    db.execute("UPDATE meta SET value = '1' WHERE key = 'schema_version'")
    db.commit()
    db.close()
    store = store_at(tmp_path)
    runs = store.runs()
    assert store.objective_series(runs)["steady.latency.p99"][0][1]["value"] == 0.1
    assert sqlite3.connect(tmp_path / "h.db").execute("SELECT value FROM meta").fetchone()[0] == str(SCHEMA_VERSION)


def test_a_database_of_something_else_is_refused(tmp_path):
    db = sqlite3.connect(tmp_path / "h.db")
    db.execute("CREATE TABLE runs (x INTEGER)")
    db.commit()
    with pytest.raises(HistoryError, match="not a history store"):
        store_at(tmp_path)


def test_reading_a_store_that_does_not_exist_does_not_make_one(tmp_path):
    with pytest.raises(HistoryError, match="no store at"):
        HistoryStore(f"sqlite:///{tmp_path / 'none.db'}", create=False)
    assert not (tmp_path / "none.db").exists()


def _writer(path: str, prefix: str, count: int) -> None:
    store = HistoryStore(f"sqlite:///{path}").open()
    for i in range(count):
        store.append(result(0.1), manifest(f"{prefix}{i}", float(i)), HDR, "x.html")


def test_writers_at_once_lose_nothing(tmp_path):
    path = str(tmp_path / "h.db")
    writers = [multiprocessing.get_context("spawn").Process(target=_writer, args=(path, p, 25)) for p in "ab"]
    for w in writers:
        w.start()
    for w in writers:
        w.join(120)
    assert [w.exitcode for w in writers] == [0, 0]
    db = sqlite3.connect(path)
    assert db.execute("SELECT count(*) FROM runs").fetchone()[0] == 50
    assert db.execute("SELECT count(*) FROM phases").fetchone()[0] == 50
    assert db.execute("SELECT count(*) FROM objectives").fetchone()[0] == 50
