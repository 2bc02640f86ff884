"""Bad history input, refused before any traffic with nothing written: `sla run`, `sla check` and
`sla history` as a user types them."""

from __future__ import annotations

import sqlite3

import pytest

from sla.cli import main
from sla.history.store import SCHEMA_VERSION, HistoryStore
from tests.synthetic import synthetic_target

SCENARIO = "name: bad\ntarget:\n{target}\npayloads: {{mix: {{small-plain-png: 1}}, variants: 1}}\nphases:\n  - {{name: steady, kind: arrival_rate, duration: 2s, rate: 5/s}}\n"


@pytest.fixture
def scenario(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text(SCENARIO.format(target=synthetic_target()))
    (tmp_path / "sla.yaml").write_text("name: s\nphases:\n  steady: {baseline: {p99: +10%, runs: 3}}\n")
    return path


def test_an_unknown_scheme_is_refused_before_any_traffic(scenario, tmp_path, capsys):
    code = main(["run", str(scenario), "--sla", str(tmp_path / "sla.yaml"), "--out", str(tmp_path / "runs"), "--history", "mysql://u@h/db"])
    assert code == 3
    err = capsys.readouterr().err
    assert "--history mysql://u@h/db: unknown scheme mysql://; accepted: sqlite:///PATH" in err and "postgresql://" in err
    assert not (tmp_path / "runs").exists()


def test_a_newer_store_is_refused_before_any_traffic_and_left_as_it_was(scenario, tmp_path, capsys):
    db_path = tmp_path / "h.db"
    HistoryStore(f"sqlite:///{db_path}").open()
    db = sqlite3.connect(db_path)
    db.execute("UPDATE meta SET value = ? WHERE key = 'schema_version'", (str(SCHEMA_VERSION + 3),))
    db.commit()
    db.close()
    before = db_path.read_bytes()
    code = main(["run", str(scenario), "--sla", str(tmp_path / "sla.yaml"), "--out", str(tmp_path / "runs"), "--history", f"sqlite:///{db_path}"])
    assert code == 3 and f"schema version {SCHEMA_VERSION + 3}, written by a newer version of the harness" in capsys.readouterr().err
    assert db_path.read_bytes() == before and not (tmp_path / "runs").exists()


def test_sla_history_on_a_missing_store_or_objective_says_what_there_is(tmp_path, capsys):
    assert main(["history", "--history", f"sqlite:///{tmp_path / 'none.db'}"]) == 3
    assert "no store at" in capsys.readouterr().err and not (tmp_path / "none.db").exists()
    HistoryStore(f"sqlite:///{tmp_path / 'h.db'}").open()
    assert main(["history", "--history", f"sqlite:///{tmp_path / 'h.db'}", "--scenario", "steady"]) == 3
    assert "no stored runs of scenario 'steady'" in capsys.readouterr().err


@pytest.mark.parametrize("value, why", [("0", "at least 1"), ("ten", "not a whole number")])
def test_a_bad_limit_is_refused_by_the_parser(value, why, capsys):
    with pytest.raises(SystemExit):
        main(["history", "--limit", value])
    assert why in capsys.readouterr().err


def test_a_bad_runs_value_in_the_sla_file_names_the_key(tmp_path, capsys):
    from sla.slafile import load_sla
    from sla.errors import SlaError

    sla = tmp_path / "sla.yaml"
    sla.write_text("name: s\nphases:\n  steady: {baseline: {p99: +10%, runs: 1}}\n")
    with pytest.raises(SlaError, match=r"phases.steady.baseline.runs: 1 is outside 2 to 1000"):
        load_sla(sla, {"steady": 5.0})
