"""README.md is a landing page: short, and the main job's output it quotes is the one the shipped
scenario and SLA file give (its objectives and their limits; the measured figures are one run's)."""

from __future__ import annotations

import re

import pytest

from sla.inputs import load_inputs
from sla.units import show
from tests.docs.examples import ROOT

README = ROOT / "README.md"


def test_the_readme_is_150_lines_or_fewer_and_links_every_docs_page():
    text = README.read_text()
    assert len(text.splitlines()) <= 150
    linked = set(re.findall(r"\(docs/([\w-]+\.md)\)", text))
    assert linked == {p.name for p in (ROOT / "docs").glob("*.md")} - {"index.md"}, linked


@pytest.mark.parametrize("page", [README, ROOT / "docs" / "getting-started.md"], ids=lambda p: p.name)
def test_the_main_jobs_output_shows_every_objective_of_the_release_sla_with_its_limit(page):
    text = page.read_text()
    block = text[text.index("```\nobjective "):].split("```\n", 2)[1]
    rows = {line.split()[0]: line.split()[2:4] for line in block.splitlines() if re.match(r"^(steady|cold_start)\.", line)}
    sla = load_inputs(ROOT / "scenarios" / "release.yaml", None).sla
    assert set(rows) == {o.id for o in sla.objectives}, rows
    for o in sla.objectives:
        assert rows[o.id] == ["<=" if o.direction == "max" else ">=", show(o.limit, o.unit)], (o.id, rows[o.id])
    assert "verdict: PASS (exit code 0)" in block
