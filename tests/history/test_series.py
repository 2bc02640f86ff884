"""Change points by E-divisive means (Apache Otava), and the page `sla history` writes."""

from __future__ import annotations

import math
import random

import pytest

from sla.history.series import change_points, find_series, large_changes, write_history_page
from sla.history.store import HistoryStore
from tests.history.test_store import HDR, manifest, result


def series(change: float, noise: float, seed: int, n: int = 12, at: int = 7) -> list[float]:
    rng = random.Random(seed)
    return [0.1 * (1 + change * (i >= at)) * math.exp(rng.gauss(0, noise)) for i in range(n)]


def test_a_15_percent_step_in_quiet_runs_is_found_where_it_happened():
    found = [change_points(series(0.15, 0.01, seed)) for seed in range(10)]
    assert sum(1 for f in found if [i for i, _ in f] == [7]) >= 9, found
    assert all(p <= 0.01 for f in found for _, p in f)


def test_unchanged_runs_have_no_change_point():
    assert sum(1 for seed in range(10) if change_points(series(0.0, 0.05, seed))) <= 1


def test_a_significant_change_under_the_minimum_is_dropped_and_a_large_one_beside_it_kept():
    quiet = series(-0.003, 0.0005, 1)  # 0.3 % down from run 8, in runs measured 0.05 % apart: significant, not actionable
    found = change_points(quiet)
    assert [i for i, _ in found] == [7], found
    assert large_changes(quiet, found, 0.01) == []
    [(i, _, before, after)] = large_changes(quiet, found, 0.0)
    assert i == 7 and after / before - 1 == pytest.approx(-0.003, abs=0.001)
    both = [v * (1.15 if i >= 16 else 1.0) for i, v in enumerate(quiet + series(-0.003, 0.0005, 2))]  # and 15 % up from run 17
    kept = large_changes(both, change_points(both), 0.01)
    assert [i for i, *_ in kept] == [16] and kept[0][3] / kept[0][2] - 1 == pytest.approx(0.15, abs=0.01), kept


def test_too_short_or_empty_series_are_not_split():
    assert change_points([0.1, 0.2, 0.1, 0.2]) == []
    assert change_points([0.1] * 6 + [None] + [0.2] * 6) == []


def test_the_page_shows_each_series_its_change_point_and_links_every_run(tmp_path):
    store = HistoryStore(f"sqlite:///{tmp_path / 'h.db'}").open()
    for i, value in enumerate(series(0.3, 0.01, 3)):
        (tmp_path / f"r{i:02d}").mkdir()
        store.append(result(value), manifest(f"r{i:02d}", 100.0 + i), HDR, tmp_path / f"r{i:02d}" / "report.html")
    runs, found = find_series(store, "steady", None, None, 200)
    assert len(runs) == 12 and [cp.run_id for cp in found[0].change_points] == ["r07"]
    assert found[0].change_points[0].change > 0.25
    page = write_history_page(tmp_path / "out", "sqlite:///h.db", runs, found).read_text()
    assert 'data-change-points="r07"' in page and "<svg" in page and "change: r07" in page
    assert page.count('href="../r') == 12
    assert [r.run_id for r in find_series(store, "steady", None, 105.0, 3)[0]] == ["r09", "r10", "r11"]  # --since, then --limit
