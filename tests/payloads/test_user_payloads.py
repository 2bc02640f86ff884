"""The user's own images (payloads.files / payloads.manifest): checked before any traffic, every
problem named with its file (and line), request names from the manifest or the file's stem."""

from __future__ import annotations

import json

import pytest

from sla.payloads import make_payload
from sla.scenario import load_scenario
from sla.validation import FileProblems

PHASES = "phases: [{name: a, kind: users, duration: 5s, users: 1}]\n"


def scenario(tmp_path, payloads: str, target: str = "") -> object:
    path = tmp_path / "s.yaml"
    path.write_text(f"name: s\n{target}payloads: {payloads}\n{PHASES}")
    return path


@pytest.fixture
def images(tmp_path):
    folder = tmp_path / "images"
    folder.mkdir()
    (folder / "receipt.png").write_bytes(make_payload("small-plain-png").data)
    (folder / "letter.jpg").write_bytes(make_payload("small-noisy-jpeg").data)
    return folder


def test_a_folder_glob_relative_to_the_scenario_becomes_named_weighted_payloads(tmp_path, images):
    loaded = load_scenario(scenario(tmp_path, "{files: 'images/*'}"))
    assert loaded.payloads.names() == ["letter", "receipt"]
    payloads, weights = loaded.payloads.load(None)
    assert {p.content_type for p in payloads} == {"image/png", "image/jpeg"} and weights == [1.0, 1.0]
    assert payloads[1].data == (images / "receipt.png").read_bytes()


def test_a_manifest_gives_names_weights_and_expected_text(tmp_path, images):
    (tmp_path / "m.jsonl").write_text(
        json.dumps({"path": "images/receipt.png", "name": "receipt-a", "weight": 3, "expected_text": ["TOTAL"]}) + "\n\n"
        + json.dumps({"path": "images/letter.jpg"}) + "\n")
    loaded = load_scenario(scenario(tmp_path, "{manifest: m.jsonl}"))
    payloads, weights = loaded.payloads.load(None)
    assert [p.name for p in payloads] == ["receipt-a", "letter"] and weights == [3.0, 1.0]
    assert payloads[0].expected_text == ("TOTAL",)


def test_every_bad_manifest_line_is_named_with_its_number(tmp_path, images):
    (tmp_path / "notes.txt").write_text("not an image at all")
    lines = [
        json.dumps({"path": "images/receipt.png"}),        # 1: fine
        "{not json",                                        # 2
        json.dumps({"name": "x"}),                          # 3: no path
        json.dumps({"path": "images/missing.png"}),         # 4: no such file
        json.dumps({"path": "notes.txt"}),                  # 5: not an image
        json.dumps({"path": "images/letter.jpg", "weight": -1}),   # 6
        json.dumps({"path": "images/letter.jpg", "colour": "red"}),  # 7
        json.dumps(["images/letter.jpg"]),                  # 8
        json.dumps({"path": "images/letter.jpg", "expected_text": "TOTAL"}),  # 9
    ]
    (tmp_path / "m.jsonl").write_text("\n".join(lines) + "\n")
    with pytest.raises(FileProblems) as exc:
        load_scenario(scenario(tmp_path, "{manifest: m.jsonl}"))
    problems = exc.value.problems
    expected = {2: "not JSON", 3: 'missing "path"', 4: "no such file", 5: "not an image", 6: '"weight" is -1',
                7: "unknown key(s) 'colour'", 8: "expected a JSON object", 9: '"expected_text"'}
    assert len(problems) == len(expected)
    for number, fragment in expected.items():
        assert any(f"m.jsonl line {number}: " in p and fragment in p and p.startswith("payloads.manifest") for p in problems), (number, problems)


@pytest.mark.parametrize(("payloads", "fragment"), [
    ("{files: 'nothing/*.png'}", "matches no file"),
    ("{manifest: absent.jsonl}", "cannot read the manifest"),
    ("{files: '*.txt'}", "not an image"),
    ("{files: '*.txt', mix: {small-plain-png: 1}}", "mix and files together"),
    ("{}", "payloads.mix: missing"),
])
def test_file_problems_are_refused_before_traffic(tmp_path, payloads, fragment):
    (tmp_path / "notes.txt").write_text("text")
    with pytest.raises(FileProblems, match="problem") as exc:
        load_scenario(scenario(tmp_path, payloads))
    assert fragment in str(exc.value) and str(tmp_path / "s.yaml") in str(exc.value)


def test_a_generic_http_api_takes_files_that_are_not_images(tmp_path):
    (tmp_path / "doc.txt").write_text("plain text")
    loaded = load_scenario(scenario(tmp_path, "{files: '*.txt'}", "target: {api: http, options: {path: /classify}}\n"))
    payloads, _ = loaded.payloads.load(None)
    assert payloads[0].content_type == "text/plain" and payloads[0].name == "doc"


def test_a_file_that_vanished_after_validation_is_named(tmp_path, images):
    loaded = load_scenario(scenario(tmp_path, "{files: 'images/*.png'}"))
    (images / "receipt.png").unlink()
    with pytest.raises(OSError):
        loaded.payloads.load(None)
