"""Load-generator latency histograms: pure, mergeable, exposed as one Prometheus histogram.

Workers observe into their own `HistogramSet`, hand the deltas to the master with every Locust
stats report (`take()`), and the master `merge()`s them; only the master is scraped. Because the
deltas ride on the same message as Locust's own stats, the totals match Locust's by construction.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Iterable

from hdrh.histogram import HdrHistogram
from prometheus_client.utils import floatToGoString

Key = tuple[str, ...]  # label values, e.g. (phase, request name, outcome, timing)
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

    def copy(self) -> "HistogramSet":
        other = HistogramSet(self.buckets)
        other.series = {k: [list(s[0]), s[1]] for k, s in self.series.items()}
        return other

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
            series = self.ensure(key)
            if len(counts) != len(series[0]):
                raise ValueError(f"bucket layout mismatch: {len(counts)} vs {len(series[0])} buckets")
            series[0] = [a + b for a, b in zip(series[0], counts)]
            series[1] += total

    def text(self, name: str, documentation: str, run_id: str, labels: tuple[str, ...]) -> str:
        """The histogram in Prometheus' text format, written directly: prometheus_client's families
        validate every label of every sample, which took most of the load generator's CPU
        (thousands of bucket samples per scrape; py-spy on a 5/s run)."""
        bounds = [f'{floatToGoString(b)}"}} ' for b in self.buckets] + ['+Inf"} ']
        out = [header(name, documentation, "histogram")]
        for key, (counts, total) in sorted(self.series.items()):
            series = label_text(("run_id", *labels), (run_id, *key))
            prefix = f"{name}_bucket{{{series},le=\""
            running = 0
            for bound, count in zip(bounds, counts):
                running += count
                out.append(f"{prefix}{bound}{running:.1f}\n")
            out.append(f"{name}_count{{{series}}} {running:.1f}\n{name}_sum{{{series}}} {floatToGoString(total)}\n")
        return "".join(out)


class CounterSet:
    """Counters by label values, mergeable like HistogramSet (worker deltas to the master)."""

    def __init__(self) -> None:
        self.values: dict[Key, float] = {}

    def ensure(self, key: Key) -> None:
        self.values.setdefault(key, 0.0)

    def copy(self) -> "CounterSet":
        other = CounterSet()
        other.values = dict(self.values)
        return other

    def inc(self, key: Key, amount: float = 1.0) -> None:
        self.values[key] = self.values.get(key, 0.0) + amount

    def take(self) -> dict[str, float]:
        out = {_SEP.join(k): v for k, v in self.values.items() if v}
        self.values = {}
        return out

    def merge(self, delta: dict[str, float]) -> None:
        for joined, value in delta.items():
            self.inc(tuple(joined.split(_SEP)), value)

    def text(self, name: str, documentation: str, run_id: str, labels: tuple[str, ...]) -> str:
        """The counters in Prometheus' text format (`<name>_total`)."""
        return header(f"{name}_total", documentation, "counter") + "".join(
            f"{name}_total{{{label_text(('run_id', *labels), (run_id, *key))}}} {floatToGoString(value)}\n"
            for key, value in sorted(self.values.items()))


def header(name: str, documentation: str, kind: str) -> str:
    doc = documentation.replace("\\", "\\\\").replace("\n", "\\n")
    return f"# HELP {name} {doc}\n# TYPE {name} {kind}\n"


def label_text(names: Iterable[str], values: Iterable[str]) -> str:
    """`a="x",b="y"` in label-name order (as prometheus_client writes them), values escaped as the
    text format wants (backslash, quote, newline)."""
    return ",".join(f'{n}="{_escape(v)}"' for n, v in sorted(zip(names, values)))


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


HDR_UNIT = 1e-6  # HdrHistogram values are whole microseconds
HDR_MAX_S = 3600.0
HDR_DIGITS = 3


class HdrSet:
    """Exact-to-3-significant-digits latency histograms (HdrHistogram) by key, mergeable through
    their compressed encoding. The cross-check of the Prometheus buckets."""

    def __init__(self) -> None:
        self.hists: dict[str, HdrHistogram] = {}

    @staticmethod
    def _new() -> HdrHistogram:
        return HdrHistogram(1, int(HDR_MAX_S / HDR_UNIT), HDR_DIGITS)

    def record(self, key: Key, seconds: float) -> None:
        joined = _SEP.join(key)
        hist = self.hists.get(joined)
        if hist is None:
            hist = self.hists[joined] = self._new()
        hist.record_value(min(max(1, int(round(seconds / HDR_UNIT))), int(HDR_MAX_S / HDR_UNIT)))

    def take(self) -> dict[str, bytes]:
        out = {k: h.encode() for k, h in self.hists.items() if h.get_total_count()}
        self.hists = {}
        return out

    def merge(self, delta: dict[str, bytes]) -> None:
        for joined, encoded in delta.items():
            hist = self.hists.get(joined)
            if hist is None:
                hist = self.hists[joined] = self._new()
            hist.decode_and_add(encoded)

    def summary(self, percentiles: tuple[float, ...] = (50.0, 90.0, 95.0, 99.0, 99.9)) -> dict[str, dict]:
        """Nested by the key's parts, e.g. {phase: {timing: {"count": n, "p50": seconds, ...,
        "encoded": base64 text}}}."""
        out: dict[str, dict] = {}
        for joined, hist in sorted(self.hists.items()):
            entry: dict = {"count": hist.get_total_count(), "encoded": hist.encode().decode()}
            for p in percentiles:
                entry[f"p{p:g}"] = hist.get_value_at_percentile(p) * HDR_UNIT
            *outer, last = joined.split(_SEP)
            node = out
            for part in outer:
                node = node.setdefault(part, {})
            node[last] = entry
        return out


def hdr_percentile(encoded: str, percentile: float) -> float:
    """The value in seconds at `percentile` of an encoded HdrHistogram (from hdr.json)."""
    return hdr_curve(encoded, (percentile,))[0][1]


def hdr_curve(encoded: str, percentiles: tuple[float, ...]) -> list[list[float]]:
    """[[percentile, seconds], ...] of an encoded HdrHistogram, decoded once."""
    h = HdrHistogram.decode(encoded.encode())
    return [[p, h.get_value_at_percentile(p) * HDR_UNIT] for p in percentiles]
