"""`sla demo` on a fresh server: the trained networks read the synthetic pages, printed beside what
each page says."""

from __future__ import annotations

import re

import pytest

from tests.gate.test_own_service_e2e import sla

pytestmark = pytest.mark.e2e


def test_demo_prints_what_was_read_beside_the_page_and_reads_it_right():
    result = sla("demo", "--preset", "tiny", timeout=240)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    pages = re.findall(r"^(\S+) \(\d+ KiB\): (\d+) lines read, (\d+) of (\d+) exact, CER ([\d.]+)%", result.stdout, re.MULTILINE)
    assert [p[0] for p in pages] == ["small-plain-png", "medium-noisy-jpeg", "large-plain-png"]
    exact = sum(int(p[2]) for p in pages)
    expected = sum(int(p[3]) for p in pages)
    assert expected >= 10 and exact >= 0.8 * expected, result.stdout
    rows = re.findall(r"^  ([=~+-]) ", result.stdout, re.MULTILINE)
    assert rows.count("=") == exact and len(rows) >= expected  # a row per line, marked
    assert "the server is stopped." in result.stdout
