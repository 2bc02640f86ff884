"""Reduced precision on the real predictors: INT8 (the committed models quantised after training)
and BF16 read pages; INT8 models quantised from other weights are refused; both need oneDNN."""

from __future__ import annotations

import shutil

import pytest

from reference_server.config import ServerConfig, parse_config
from reference_server.models import export
from reference_server.workers import load_pipeline
from sla.payloads import make_payload
from sla.payloads.scoring import score


@pytest.mark.parametrize(("precision", "most_cer"), [("int8", 0.05), ("bf16", 0.02)])
def test_reduced_precision_reads_the_page(tmp_path, precision, most_cer):
    pipeline = load_pipeline(ServerConfig(preset="tiny", model_dir=tmp_path, threads=1, precision=precision))
    page = make_payload("medium-plain-png")
    got = score(page.expected_text, [line.text for line in pipeline(page.data).lines])
    assert got.cer <= most_cer, got


def test_int8_models_quantised_from_other_weights_are_refused(tmp_path, monkeypatch):
    shutil.copytree(export.INT8_DIR / "tiny", tmp_path / "tiny")
    (tmp_path / "tiny" / export.STAMP).write_text("0" * 64 + "\n")
    monkeypatch.setattr(export, "INT8_DIR", tmp_path)
    with pytest.raises(FileNotFoundError, match="quantised from other weights.*make models"):
        export.int8_files("tiny", "det")


@pytest.mark.parametrize("precision", ["int8", "bf16"])
def test_reduced_precision_needs_onednn(precision, capsys):
    with pytest.raises(SystemExit):
        parse_config(["--precision", precision, "--onednn", "off"], environ={})
    assert "needs --onednn on" in capsys.readouterr().err
