"""The harness's types hold: mypy over the `sla` package (its settings in pyproject.toml) finds
nothing. A function handed an optional value it does not check, or an attribute that a protocol
does not declare, fails here with mypy's own message."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_mypy_finds_nothing_in_the_sla_package() -> None:
    done = subprocess.run([sys.executable, "-m", "mypy"], cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "no issues found" in done.stdout
