"""Accuracy objectives: scoring an answer, reading the SLA keys (and refusing bad ones before any
traffic), judging a phase from the counts."""

from __future__ import annotations

from pathlib import Path

import pytest

from sla.analysis.verdict import FAIL, INCONCLUSIVE, PASS, Measurement
from sla.inputs import load_inputs
from sla.loadgen.histograms import CounterSet
from sla.loadgen.checks import score_answer
from sla.objectives import KINDS
from sla.payloads import Payload, make_payload
from sla.payloads.scoring import score
from sla.slafile import load_sla
from sla.validation import FileProblems

SCENARIO = """
name: acc
payloads: {%s}
phases:
  - {name: quiet, kind: users, duration: 5s, users: 1}
  - {name: load, kind: users, duration: 5s, users: 4}
"""


def write(tmp_path: Path, scenario_payloads: str, sla_body: str) -> tuple[Path, Path]:
    (tmp_path / "s.yaml").write_text(SCENARIO % scenario_payloads)
    (tmp_path / "sla.yaml").write_text("name: acc\nphases:\n" + sla_body)
    return tmp_path / "s.yaml", tmp_path / "sla.yaml"


def test_exact_lines_and_character_errors_of_an_answer():
    page = ["Total amount 12.50", "Invoice 3", "Due date"]
    assert score(page, page) == score(list(reversed(page)), page)  # the order of lines does not matter
    right = score(page, page)
    assert (right.exact_share, right.cer) == (1.0, 0.0)
    one_wrong = score(page, ["Total amount 12.50", "Invoice 8", "Due date"])
    assert (one_wrong.exact, one_wrong.errors, one_wrong.chars) == (2, 1, 35)
    missing = score(page, ["Total amount 12.50"])
    assert missing.exact == 1 and missing.errors == len("Invoice 3") + len("Due date")
    extra = score(["ab"], ["ab", "junk"])
    assert extra.exact == 1 and extra.errors == 4  # a line the page does not have is an error too


def test_synthetic_payloads_know_their_text():
    payload = make_payload("small-plain-png")
    assert payload.expected_text and all(isinstance(t, str) and t for t in payload.expected_text)


def test_an_answer_whose_text_cannot_be_read_is_a_failure_and_reads_nothing_right():
    class State:
        answers = CounterSet()

    def broken(body: bytes) -> list[str]:
        raise ValueError("not JSON")

    payload = Payload("p", "image/png", b"", ("Total 12", "Due"))
    problem = score_answer(State, "load", payload, broken, b"<html>")
    assert problem and "cannot be read" in problem
    got = {k[2]: v for k, v in State.answers.values.items()}
    assert got == {"answers": 1, "lines": 2, "exact_lines": 0, "chars": 11, "char_errors": 11}
    assert score_answer(State, "load", payload, lambda body: ["Total 12", "Due"], b"{}") is None


def test_the_sla_keys_become_objectives(tmp_path):
    s, f = write(tmp_path, "mix: {small-plain-png: 1}", """
  quiet: {accuracy: {exact_lines: 95%}}
  load:
    accuracy: {exact_lines: 95%, cer: 2%, sample: 25%}
    accuracy_drop: {vs: quiet, max: 1%}
""")
    _, sla = load_inputs(s, f)
    by_id = {o.id: o for o in sla.objectives}
    assert by_id["load.accuracy.exact_lines"].limit == 0.95 and by_id["load.accuracy.exact_lines"].direction == "min"
    assert by_id["load.accuracy.cer"].limit == 0.02 and by_id["load.accuracy.cer"].direction == "max"
    assert by_id["load.accuracy_drop"].vs == "quiet"
    assert sla.answer_sample == 1.0  # quiet scores every answer: the most any objective asks


@pytest.mark.parametrize(("payloads", "body", "fragment"), [
    ("files: img/*.png", "  load: {accuracy: {exact_lines: 95%}}\n",
     "phases.load.accuracy: accuracy cannot be judged on this scenario: payload(s) a have no expected text"),
    ("mix: {small-plain-png: 1}", "  load: {accuracy: {exact_line: 95%}}\n",
     "phases.load.accuracy.exact_line: unknown key; accepted keys here: exact_lines, cer, sample"),
    ("mix: {small-plain-png: 1}", "  load: {accuracy: {exact_lines: 95%, sample: 0%}}\n",
     "phases.load.accuracy.sample: '0%' scores no answer"),
    ("mix: {small-plain-png: 1}", "  load: {accuracy: {exact_lines: 95%, sample: 150%}}\n",
     "phases.load.accuracy.sample: '150%' is outside 0% to 100%"),
    ("mix: {small-plain-png: 1}", "  load: {accuracy_drop: {vs: calm, max: 1%}}\n",
     "phases.load.accuracy_drop.vs: the scenario has no phase 'calm'; its phases: quiet, load"),
    ("mix: {small-plain-png: 1}", "  load: {accuracy: {exact_lines: 95%, source: server}}\n",
     "phases.load.accuracy.source: unknown key; accepted keys here: exact_lines, cer, sample"),
])
def test_bad_accuracy_objectives_are_refused_naming_the_key(tmp_path, payloads, body, fragment):
    (tmp_path / "img").mkdir()
    (tmp_path / "img" / "a.png").write_bytes(make_payload("small-plain-png").data)
    s, f = write(tmp_path, payloads, body)
    with pytest.raises(FileProblems) as exc:
        load_inputs(s, f)
    assert fragment in str(exc.value)


def test_an_api_that_does_not_say_where_the_text_is_is_refused(tmp_path):
    (tmp_path / "s.yaml").write_text("""
name: own
target: {api: http, host: "http://127.0.0.1:9", options: {path: /x}}
payloads: {mix: {small-plain-png: 1}}
phases: [{name: load, kind: users, duration: 5s, users: 1}]
""")
    (tmp_path / "sla.yaml").write_text("name: x\nphases: {load: {accuracy: {cer: 3%}}}\n")
    with pytest.raises(FileProblems, match="target.options.text"):
        load_inputs(tmp_path / "s.yaml", tmp_path / "sla.yaml")


def objective(tmp_path: Path, body: str, oid: str):
    f = tmp_path / "sla.yaml"
    f.write_text("name: x\nphases:\n" + body)
    return {o.id: o for o in load_sla(f).objectives}[oid]


def judged(o, lines: float, missed: float, chars: float = 0.0, errors: float = 0.0, **kw):
    m = Measurement("q", count=lines, failures=missed, figures={"answers": lines / 4, "chars": chars, "char_errors": errors}, **kw)
    return o.kind_of.judge(o, m)


def test_exact_lines_pass_fail_and_too_few_lines(tmp_path):
    o = objective(tmp_path, "  load: {accuracy: {exact_lines: 95%}}\n", "load.accuracy.exact_lines")
    assert judged(o, 400, 4).verdict == PASS
    failed = judged(o, 400, 40)
    assert failed.verdict == FAIL and "360 of 400 lines read exactly = 90.00%" in failed.detail
    thin = judged(o, 20, 0)
    assert thin.verdict == INCONCLUSIVE and "needs at least 90 lines" in thin.detail
    assert judged(o, 0, 0).verdict == INCONCLUSIVE


def test_character_error_rate(tmp_path):
    o = objective(tmp_path, "  load: {accuracy: {cer: 2%}}\n", "load.accuracy.cer")
    assert judged(o, 40, 3, chars=5000, errors=20).verdict == PASS
    assert judged(o, 40, 3, chars=1000, errors=30).verdict == FAIL


def test_accuracy_drop_against_the_quiet_phase(tmp_path):
    o = objective(tmp_path, "  quiet: {}\n  load: {accuracy_drop: {vs: quiet, max: 1%}}\n", "load.accuracy_drop")
    assert judged(o, 500, 5, baseline=0.995, value=500).verdict == PASS
    dropped = judged(o, 400, 40, baseline=0.995, value=400)
    assert dropped.verdict == FAIL and "a drop of 9.50 points" in dropped.detail
    assert judged(o, 400, 4, baseline=None).verdict == INCONCLUSIVE
    assert judged(o, 500, 0, baseline=1.0, value=100).verdict == INCONCLUSIVE  # the quiet phase: under 459 lines


def test_accuracy_is_a_test_property_without_a_production_alert(tmp_path):
    o = objective(tmp_path, "  load: {accuracy: {exact_lines: 95%}}\n", "load.accuracy.exact_lines")
    assert "expected text" in KINDS["accuracy_exact_lines"].production(o, None)


def test_sla_run_refuses_an_accuracy_objective_on_images_without_text_before_any_traffic(tmp_path, capsys):
    from sla.cli import main

    (tmp_path / "img").mkdir()
    (tmp_path / "img" / "a.png").write_bytes(make_payload("small-plain-png").data)
    s, f = write(tmp_path, "files: img/*.png", "  load: {accuracy: {cer: 3%}}\n")
    assert main(["run", str(s), "--sla", str(f), "--out", str(tmp_path / "runs")]) == 3
    err = capsys.readouterr().err
    assert "phases.load.accuracy: accuracy cannot be judged on this scenario" in err and "expected_text" in err
    assert not (tmp_path / "runs").exists() or not any((tmp_path / "runs").iterdir())  # nothing was started
