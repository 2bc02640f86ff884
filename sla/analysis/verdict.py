"""What a judgement is made of (pure types): the three verdicts, a measurement in, a result out.

INCONCLUSIVE, never PASS, when the evidence is missing or thin: no data, a validity problem found
in Prometheus (scrape gaps, target down, restart), a threshold inside a bucket too wide to decide,
fewer samples than the claim needs (MLPerf early stopping), or a load generator that did not
deliver the load asked of it.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from sla.analysis.stats import Buckets

PASS, FAIL, INCONCLUSIVE = "PASS", "FAIL", "INCONCLUSIVE"
EXIT_CODES = {PASS: 0, FAIL: 1, INCONCLUSIVE: 2}


@dataclass(frozen=True)
class Measurement:
    """What the metrics said for one objective, over one window."""

    promql: str
    window: tuple[float, float] | None = None  # Unix seconds
    buckets: Buckets | None = None  # latency kinds: cumulative counts by bound
    count: float | None = None  # throughput: successful requests; error rate: all requests
    failures: float | None = None  # error rate
    duration: float | None = None  # seconds, for throughput
    value: float | None = None  # gauges (cold start), recovery time
    validity: tuple[str, ...] = ()  # reasons the evidence cannot be trusted
    baseline: float | None = None  # the baseline run's value, for baseline objectives
    history: tuple[float, ...] | None = None  # baseline objectives with `runs`: the comparable runs' values, oldest first
    history_note: str = ""  # why the store's other runs were not comparable
    hdr: float | None = None  # the same percentile from the HdrHistogram (3 significant digits)
    uncorrected: float | None = None  # arrival-rate phases: the percentile from the actual send time
    actual_buckets: Buckets | None = None  # arrival-rate phases: latency from the actual send time
    delivery: tuple[str, ...] = ()  # the load generator did not deliver the load asked of it
    figures: dict[str, float | None] | None = None  # a value per part, e.g. per new replica (scale_out)


@dataclass
class ObjectiveResult:
    id: str
    kind: str
    phase: str | None
    source: str
    verdict: str
    value: float | None
    limit: float | None  # None: not known (a baseline of runs without enough of them)
    comparator: str  # "<=" or ">="
    unit: str  # s, /s, fraction
    samples: float | None
    window: tuple[float, float] | None
    promql: str
    detail: str
    recommendation: str = ""
    exact_fraction: float | None = None  # share of requests at or under a latency limit, when exact
    extra: dict = field(default_factory=dict)

    def to_json(self) -> dict:
        return asdict(self)


def overall(results: list[ObjectiveResult]) -> str:
    verdicts = {r.verdict for r in results}
    if FAIL in verdicts:
        return FAIL
    if INCONCLUSIVE in verdicts or not results:
        return INCONCLUSIVE
    return PASS
