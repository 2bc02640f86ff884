"""Arithmetic over classic histograms (pure): exact fractions at bucket boundaries, Prometheus'
interpolated quantile, and MLPerf's early-stopping sample counts.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from statistics import NormalDist

CONFIDENCE = 0.99  # MLPerf LoadGen's early-stopping confidence


@dataclass(frozen=True)
class Buckets:
    """Cumulative counts by upper bound (ascending, last is +Inf), over one window."""

    bounds: tuple[float, ...]
    counts: tuple[float, ...]

    @classmethod
    def from_pairs(cls, pairs: dict[float, float]) -> "Buckets":
        ordered = sorted(pairs.items())
        return cls(tuple(b for b, _ in ordered), tuple(c for _, c in ordered))

    @classmethod
    def from_le(cls, values: dict[str, float]) -> "Buckets | None":
        """From counts by `le` label value as Prometheus gives them (a negative count, from a reset, as 0)."""
        pairs = {float(le): max(v, 0.0) for le, v in values.items() if le}
        return cls.from_pairs(pairs) if pairs else None

    @property
    def total(self) -> float:
        return self.counts[-1] if self.counts else 0.0

    def rank_bucket(self, rank: float) -> tuple[float, float]:
        """(lower, upper) bound of the bucket holding the `rank`-th smallest observation (1-based)."""
        lower = 0.0
        for bound, count in zip(self.bounds, self.counts):
            if count >= rank:
                return lower, bound
            lower = bound
        return lower, math.inf

    def scaled(self, unit: float) -> "Buckets":
        """The same counts with bounds in seconds, from bounds in `unit` seconds (ms: 1e-3)."""
        return self if unit == 1.0 else Buckets(tuple(b * unit for b in self.bounds), self.counts)

    def minus(self, earlier: "Buckets") -> "Buckets":
        """The observations after `earlier` (same bounds): a window of a cumulative histogram."""
        return Buckets(self.bounds, tuple(a - b for a, b in zip(self.counts, earlier.counts)))

    def count_le(self, bound: float) -> float | None:
        """Observations <= `bound` when `bound` is a boundary, else None."""
        for b, c in zip(self.bounds, self.counts):
            if math.isclose(b, bound, rel_tol=1e-9):
                return c
        return None

    def bracket(self, value: float) -> tuple[float, float, float, float]:
        """(lower bound, count <= lower, upper bound, count <= upper) of the bucket holding `value`."""
        lower, lower_count = 0.0, 0.0
        for b, c in zip(self.bounds, self.counts):
            if value <= b:
                return lower, lower_count, b, c
            lower, lower_count = b, c
        return lower, lower_count, math.inf, self.total

    def quantile_interval(self, q: float, confidence: float = CONFIDENCE) -> tuple[float, float]:
        """Where the `q` quantile of what these observations were drawn from lies, at `confidence`:
        between the order statistics whose ranks bound Binomial(n, q) (normal approximation),
        widened to whole buckets (the lower bound of the bucket holding the lower rank, the upper
        bound of the one holding the upper rank). For a P99 of 100 observations: from the 96th
        to the slowest. (nan, nan) when empty."""
        n = self.total
        if n <= 0:
            return math.nan, math.nan
        half = NormalDist().inv_cdf(0.5 + confidence / 2) * math.sqrt(n * q * (1.0 - q))
        return self.rank_bucket(max(1.0, math.floor(n * q - half)))[0], self.rank_bucket(min(n, math.ceil(n * q + half)))[1]

    def quantile(self, q: float) -> float:
        """Prometheus' histogram_quantile: linear interpolation inside the bucket (NaN if empty).

        A quantile in the +Inf bucket returns the highest finite bound, as Prometheus does.
        """
        total = self.total
        if total <= 0 or not self.bounds:
            return math.nan
        rank = q * total
        prev_bound, prev_count = 0.0, 0.0
        for b, c in zip(self.bounds, self.counts):
            if c >= rank:
                if math.isinf(b):
                    return prev_bound
                if c == prev_count:
                    return b
                return prev_bound + (b - prev_bound) * (rank - prev_count) / (c - prev_count)
            prev_bound, prev_count = b, c
        return prev_bound


def _log_binom_cdf(k: int, n: int, p: float) -> float:
    """log P(X <= k) for X ~ Binomial(n, p)."""
    terms = [
        math.lgamma(n + 1) - math.lgamma(i + 1) - math.lgamma(n - i + 1) + i * math.log(p) + (n - i) * math.log1p(-p)
        for i in range(0, min(k, n) + 1)
    ]
    top = max(terms)
    return top + math.log(sum(math.exp(t - top) for t in terms))


@lru_cache(maxsize=4096)
def min_samples(quantile: float, overs: int, confidence: float = CONFIDENCE) -> int:
    """Fewest samples for which `overs` observations above the limit still support "the `quantile`
    quantile is within the limit" at `confidence` (MLPerf early stopping): the smallest n with
    P(Binomial(n, 1 - quantile) <= overs) <= 1 - confidence. For P99: 459 with 0 over, 662 with 1.
    """
    p_over = 1.0 - quantile
    target = math.log(1.0 - confidence)
    lo, hi = overs + 1, max(overs + 2, 16)
    while _log_binom_cdf(overs, hi, p_over) > target:
        lo, hi = hi, hi * 2
    while lo < hi:
        mid = (lo + hi) // 2
        if _log_binom_cdf(overs, mid, p_over) <= target:
            hi = mid
        else:
            lo = mid + 1
    return lo


def recovery_time(samples: list[tuple[float, Buckets]], start: float, window_s: float, quantile: float, threshold: float) -> float | None:
    """Seconds from `start` until the `quantile` of every sliding window (t - window_s, t] stays at
    or under `threshold` for the rest of `samples` (cumulative buckets by time); None if it never
    does. A window without requests does not break a recovery. Exact where the threshold is a
    bucket boundary, else from the interpolated quantile."""
    recovered_at: float | None = None
    j = -1  # index of the latest sample at or before the window's start (samples are in time order)
    for t, current in samples:
        while j + 1 < len(samples) and samples[j + 1][0] <= t - window_s + 1e-9:
            j += 1
        earlier = samples[j][1] if j >= 0 else None
        window = current.minus(earlier) if earlier is not None and earlier.bounds == current.bounds else current
        if window.total <= 0:
            ok = True
        else:
            exact = window.count_le(threshold)
            ok = exact / window.total >= quantile if exact is not None else window.quantile(quantile) <= threshold
        if not ok:
            recovered_at = None
        elif recovered_at is None:
            recovered_at = t
    return None if recovered_at is None else max(0.0, recovered_at - start)


def per_second(count: float, duration: float) -> float | None:
    """Throughput: the one place it is computed (judging, summaries, capacity)."""
    return count / duration if duration > 0 else None


def share(part: float, total: float) -> float | None:
    """Error and shed rates: the one place they are computed."""
    return part / total if total else None


def value_at(samples: Sequence[tuple[float, float]], t: float) -> float:
    """A cumulative counter's value at the instant `t`, from its scrapes (time, value) in ascending
    order: linear between the two scrapes around `t`, 0 before its first (a series appears at its
    first observation), its last value after its last."""
    if not samples or t < samples[0][0]:
        return 0.0
    for (t0, v0), (t1, v1) in zip(samples, samples[1:]):
        if t0 <= t < t1:
            return v0 + (v1 - v0) * (t - t0) / (t1 - t0)
    return samples[-1][1]


Scrapes = tuple[str, Sequence[tuple[float, float]]]  # a series' key (a label's value) and its scrapes (time, value)


def growth_between(at_start: Mapping[Hashable, Scrapes], at_end: Mapping[Hashable, Scrapes], start: float, end: float) -> dict[str, float]:
    """How much cumulative series grew from `start` to `end`, summed by key: each series (by its
    identity) read at both instants by `value_at`, from its scrapes around each. A series with no
    scrape around `start` was born after it (0 there); one with none around `end` is left out.
    Two targets scraped at different moments, read this way, count the same stretch of time; read
    at their last scrape before each instant, they do not."""
    grown: dict[str, float] = {}
    for series, (key, samples) in at_end.items():
        before = at_start.get(series)
        grown[key] = grown.get(key, 0.0) + value_at(samples, end) - (value_at(before[1], start) if before else 0.0)
    return grown
