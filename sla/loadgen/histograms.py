"""Load-generator latency histograms: pure, mergeable, exposed as one Prometheus histogram.

Workers observe into their own `HistogramSet`, hand the deltas to the master with every Locust
stats report (`take()`), and the master `merge()`s them; only the master is scraped. Because the
deltas ride on the same message as Locust's own stats, the totals match Locust's by construction.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterable, Iterator

from prometheus_client.core import HistogramMetricFamily
from prometheus_client.utils import floatToGoString

Key = tuple[str, str, str]  # phase, request name, outcome
_SEP = "\x1f"


class HistogramSet:
    def __init__(self, buckets: Iterable[float]) -> None:
        self.buckets = tuple(buckets)
        self.series: dict[Key, list] = {}  # key -> [per-bucket counts (last is +Inf), sum]

    def ensure(self, key: Key) -> list:
        series = self.series.get(key)
        if series is None:
            series = self.series[key] = [[0] * (len(self.buckets) + 1), 0.0]
        return series

    def observe(self, key: Key, seconds: float) -> None:
        series = self.ensure(key)
        series[0][bisect_left(self.buckets, seconds)] += 1
        series[1] += seconds

    def count(self, key: Key | None = None) -> int:
        if key is not None:
            return sum(self.series[key][0]) if key in self.series else 0
        return sum(sum(s[0]) for s in self.series.values())

    def take(self) -> dict[str, list]:
        """The non-empty series as a message-safe dict, and reset to empty (a worker's delta)."""
        out = {_SEP.join(k): [list(s[0]), s[1]] for k, s in self.series.items() if any(s[0])}
        self.series = {}
        return out

    def merge(self, delta: dict[str, list]) -> None:
        for joined, (counts, total) in delta.items():
            key = tuple(joined.split(_SEP))
            series = self.ensure(key)  # type: ignore[arg-type]
            if len(counts) != len(series[0]):
                raise ValueError(f"bucket layout mismatch: {len(counts)} vs {len(series[0])} buckets")
            series[0] = [a + b for a, b in zip(series[0], counts)]
            series[1] += total

    def family(self, name: str, documentation: str, run_id: str) -> HistogramMetricFamily:
        fam = HistogramMetricFamily(name, documentation, labels=["run_id", "phase", "name", "outcome"])
        for key, (counts, total) in sorted(self.series.items()):
            fam.add_metric([run_id, *key], list(_cumulative(self.buckets, counts)), total)
        return fam


def _cumulative(bounds: tuple[float, ...], counts: list[int]) -> Iterator[tuple[str, float]]:
    running = 0
    for bound, count in zip(bounds, counts):
        running += count
        yield floatToGoString(bound), running
    yield "+Inf", running + counts[-1]
