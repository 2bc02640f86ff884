"""The docs site builds offline with `mkdocs build --strict` (a broken link, or a page left out of
the nav, fails it), and its CLI page is the parser's own help (`python -m sla.clidoc`)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

from sla.clidoc import cli_markdown
from tests.docs.examples import ROOT

MKDOCS = str(Path(sys.executable).parent / "mkdocs")


def build(root: Path, site: Path) -> subprocess.CompletedProcess:
    return subprocess.run([MKDOCS, "build", "--strict", "-f", str(root / "mkdocs.yml"), "-d", str(site)], cwd=root,
                          capture_output=True, text=True, timeout=300)


def test_the_site_builds_strict_with_every_page(tmp_path):
    done = build(ROOT, tmp_path / "site")
    assert done.returncode == 0, done.stdout + done.stderr
    pages = {p.stem for p in (ROOT / "docs").glob("*.md")}
    built = {p.parent.name for p in (tmp_path / "site").glob("*/index.html")} | {"index"}
    assert pages <= built, pages - built
    assert "Capacity planning" in (tmp_path / "site" / "capacity" / "index.html").read_text()


def test_a_broken_link_or_a_page_out_of_the_nav_fails_the_build(tmp_path):
    copy = tmp_path / "repo"
    (copy / "docs").mkdir(parents=True)
    shutil.copy(ROOT / "mkdocs.yml", copy)
    for page in (ROOT / "docs").iterdir():
        shutil.copy(page, copy / "docs")
    (copy / "docs" / "capacity.md").write_text((copy / "docs" / "capacity.md").read_text() + "\nSee [the gone page](gone.md).\n")
    done = build(copy, tmp_path / "site")
    assert done.returncode != 0 and "gone.md" in done.stdout + done.stderr
    (copy / "docs" / "capacity.md").write_text((ROOT / "docs" / "capacity.md").read_text())
    (copy / "docs" / "stray.md").write_text("# Stray\n")
    done = build(copy, tmp_path / "site")
    assert done.returncode != 0 and "stray.md" in done.stdout + done.stderr


def test_the_cli_page_is_the_parsers_help_regenerated():
    page = (ROOT / "docs" / "cli.md").read_text()
    assert page == cli_markdown(), "docs/cli.md is stale: python -m sla.clidoc > docs/cli.md"
    assert "## `sla capacity`" in page and "--min-rate" in page and "## `sla history`" in page and "--min-change" in page
