"""`sla history`: each objective's series across the stored runs, and where it changed.

Change points are found by E-divisive means (Matteson and James 2014), as Apache Otava (formerly
Hunter, MongoDB's and DataStax's change detection) implements it, on the log of the values: a
permutation test of the energy distance between the runs before and after each candidate split,
applied recursively. The runs' order is their start time. A change point is named by the first run
after it. As Otava's `--magnitude`, a change point whose change (median after / median before - 1,
between its neighbouring change points) is under `min_change` is dropped, the smallest first: a
quiet series measured 0.3 % apart on two days is significant, yet no change a user can act on.
"""

from __future__ import annotations

import math
import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO
from urllib.parse import quote

from sla.errors import SlaError
from sla.history.store import HistoryStore, StoredRun

MAX_PVALUE = 0.01  # a change point's significance (permutation test)
PERMUTATIONS = 199  # the smallest p-value it can show is 1/200
SEED = 1  # the permutations are seeded: the same history gives the same change points
MIN_RUNS = 5  # fewer runs than this: too short a series to split
MIN_CHANGE = 0.01  # a smaller change (either way) is not reported
DEFAULT_LIMIT = 200


@dataclass(frozen=True)
class ChangePoint:
    index: int  # position in the series of the first run after the change
    run_id: str
    before: float  # median value before and after (up to the neighbouring change points)
    after: float
    pvalue: float

    @property
    def change(self) -> float:
        return self.after / self.before - 1 if self.before else math.nan


@dataclass
class Series:
    objective: str
    unit: str
    points: list[tuple[StoredRun, dict[str, Any]]]  # (run, {value, limit, verdict, kind})
    change_points: list[ChangePoint] = field(default_factory=list)


def change_points(values: list[float], max_pvalue: float = MAX_PVALUE) -> list[tuple[int, float]]:
    """E-divisive means over the log of positive values: [(index of the first value after the
    change, p-value)], in order."""
    import numpy as np
    from otava.change_point_divisive.calculator import PairDistanceCalculator
    from otava.change_point_divisive.detector import ChangePointDetector
    from otava.change_point_divisive.significance_test import PermutationsSignificanceTester

    if len(values) < MIN_RUNS or any(not (v and v > 0 and math.isfinite(v)) for v in values):  # a gap: the caller leaves it out
        return []
    tester = PermutationsSignificanceTester(max_pvalue=max_pvalue, permutations=PERMUTATIONS, calculator=PairDistanceCalculator, seed=SEED)
    detector = ChangePointDetector(significance_tester=tester, calculator=PairDistanceCalculator)
    found = detector.get_change_points(series=np.log(np.asarray(values, dtype=float)))
    return sorted((int(cp.index), float(cp.stats.pvalue)) for cp in found)


def find_series(store: HistoryStore, scenario: str | None, objective: str | None, since: float | None, limit: int,
                min_change: float = MIN_CHANGE) -> tuple[list[StoredRun], list[Series]]:
    runs = store.runs(scenario, since, limit)
    by_pk = {r.pk: r for r in runs}
    out = []
    for name, points in store.objective_series(runs, objective).items():
        s = Series(name, points[0][1]["unit"], [(by_pk[pk], p) for pk, p in points])
        # runs that measured nothing (INCONCLUSIVE for want of data) are left out of the split
        kept = [i for i, (_, p) in enumerate(s.points) if p["value"] is not None and p["value"] > 0]
        values = [s.points[i][1]["value"] for i in kept]
        for i, pvalue, before, after in large_changes(values, change_points(values), min_change):
            s.change_points.append(ChangePoint(kept[i], s.points[kept[i]][0].run_id, before, after, pvalue))
        out.append(s)
    return runs, out


def large_changes(values: list[float], found: list[tuple[int, float]], min_change: float) -> list[tuple[int, float, float, float]]:
    """The change points `found` in `values` with the medians before and after each (up to its
    neighbours), dropping the smallest change while it is under `min_change`: [(index, p-value,
    before, after)]."""
    found = list(found)
    while True:
        edges = [0, *(i for i, _ in found), len(values)]
        medians = [(_median(values[edges[k]:i]), _median(values[i:edges[k + 2]])) for k, (i, _) in enumerate(found)]
        sizes = [abs(after / before - 1) for before, after in medians]
        if not sizes or min(sizes) >= min_change:
            return [(i, p, *m) for (i, p), m in zip(found, medians)]
        del found[sizes.index(min(sizes))]


def _median(values: list[float]) -> float:
    import statistics

    return statistics.median(values) if values else math.nan


def run_history(url: str, scenario: str | None, objective: str | None, since: float | None, limit: int, out_dir: Path,
                min_change: float = MIN_CHANGE, out: TextIO | None = None) -> int:
    """Print each objective's series and change points; write history.html. Exit 0, or 3 when the
    store holds nothing that was asked for."""
    out = out or sys.stdout
    from sla.reports import show

    store = HistoryStore(url, create=False).open()
    try:
        started = time.monotonic()
        runs, series = find_series(store, scenario, objective, since, limit, min_change)
    finally:
        store.close()
    if not runs:
        what = " and ".join(filter(None, [f"scenario {scenario!r}" if scenario else "", f"since {since:.0f}" if since else ""]))
        raise SlaError(f"--history {url}: no stored runs{' of ' + what if what else ''}; `sla run --history {url}` stores them")
    if objective and not series:
        raise SlaError(f"--objective {objective}: no stored run judged it; objectives in these runs: "
                       + ", ".join(sorted(store.objective_series(runs)))[:2000])
    scenarios = sorted({r.scenario for r in runs})
    print(f"{len(runs)} run(s) of {', '.join(scenarios)} from {_when(runs[0].started_at)} to {_when(runs[-1].started_at)} "
          f"({time.monotonic() - started:.1f} s)", file=out)
    for s in series:
        values = [p["value"] for _, p in s.points]
        last = s.points[-1]
        print(f"\n{s.objective}: {len(values)} runs, last {show(last[1]['value'], s.unit)} ({last[1]['verdict']}, run {last[0].run_id})", file=out)
        for cp in s.change_points:
            print(f"  change point at run {cp.run_id} (#{cp.index + 1} of {len(values)}): {show(cp.before, s.unit)} -> "
                  f"{show(cp.after, s.unit)} ({cp.change * 100:+.0f} %, p = {cp.pvalue:.3f})", file=out)
        if not s.change_points:
            print("  no change point" + ("" if len(values) >= MIN_RUNS else f" (fewer than {MIN_RUNS} runs)")
                  + f" (of {min_change:.0%} or more)" * (len(values) >= MIN_RUNS and min_change > 0), file=out)
    page = write_history_page(out_dir, url, runs, series)
    print(f"\nhistory page: {page}", file=out)
    return 0


def _when(t: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(t))


def write_history_page(directory: Path, url: str, runs: list[StoredRun], series: list[Series]) -> Path:
    from sla.environment import harness_version
    from sla.html.charts import history_chart
    from sla.html.pages import render

    charts = [history_chart(s.objective, s.unit, [p for _, p in s.points], [(cp.index, cp.run_id) for cp in s.change_points],
                            f"history{i}") for i, s in enumerate(series)]
    rows = [{"run": r, "when": _when(r.started_at), "href": _report_href(directory, r.report)} for r in reversed(runs)]
    html = render("history.html.j2", url=url, runs=rows, series=list(zip(series, charts)), version=harness_version())
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "history.html"
    path.write_text(html)
    return path


def _report_href(directory: Path, report: str) -> str:
    try:
        return quote(os.path.relpath(report, directory))
    except ValueError:  # another drive
        return Path(report).as_uri()
