"""The rule model of `sla alerts`: the options, a rule (recording or alert) with its promtool cases,
and the set built from one SLA file."""

from __future__ import annotations

from dataclasses import dataclass, field

from sla.analysis.promql import SERVER_JOB, series
from sla.slafile import SlaSpec
from sla.targets.metrics import MetricsMapping


@dataclass(frozen=True)
class AlertOptions:
    job: str = SERVER_JOB  # the Prometheus job that scrapes the service
    window_s: float = 300.0  # the rolling window of the recording rules and threshold alerts
    for_s: float = 300.0  # how long a threshold must be crossed before the alert fires
    interval_s: float | None = None  # the rule groups' evaluation interval (None: Prometheus' global one)
    phase: str | None = None  # only this phase's objectives (None: all)


@dataclass(frozen=True)
class Selectors:
    """The service's series in PromQL: the mapping's series on the service's job. The one place the
    rules (sla/alerts/rules.py) and the dashboard (dashboard.py) select from."""

    mapping: MetricsMapping
    job: str

    def sel(self, spec: str, suffix: str = "", *raw: str, **labels: str) -> str:
        """A selector of one of the mapping's series, with more matchers."""
        return series(spec, suffix, *raw, job=self.job, **labels)

    def rate(self, spec: str, suffix: str, window: str, *raw: str, by: str = "job", **labels: str) -> str:
        """Its per-second rate over `window` (a duration, or Grafana's $__rate_interval), summed by `by`."""
        return f"sum by ({by}) (rate({self.sel(spec, suffix, *raw, **labels)}[{window}]))"

    def scaled(self, expr: str) -> str:
        """Durations of the mapping's unit in seconds."""
        return expr if self.mapping.unit == 1.0 else f"({expr}) * {self.mapping.unit:g}"

    def quantile(self, q: float, spec: str, window: str, by: str = "job, le", **labels: str) -> str:
        """A latency quantile of a histogram of the mapping, in seconds."""
        return self.scaled(f"histogram_quantile({q:g}, {self.rate(spec, '_bucket', window, by=by, **labels)})")


@dataclass
class Case:
    """One `promtool test rules` case: series, and at `eval_s` the alert firing (with these
    labels) or not (`labels` None)."""

    name: str
    interval_s: float
    series: list[tuple[str, str]]  # (series selector with labels, promtool values notation)
    eval_s: float
    labels: dict[str, str] | None
    step_s: float | None = None  # how often the rules are evaluated (default: every interval)

    @property
    def eval_every_s(self) -> float:
        return self.step_s or self.interval_s


@dataclass
class Rule:
    expr: str
    record: str | None = None
    alert: str | None = None
    for_s: float = 0.0
    labels: dict[str, str] = field(default_factory=dict)
    annotations: dict[str, str] = field(default_factory=dict)
    window_s: float = 0.0  # the longest range its expression reads (the replay needs that much data)
    objective: str | None = None  # the objective id it comes from
    value: str = ""  # a threshold alert's compared series (the recording), for dashboards
    limit: float | None = None  # ... and its limit
    cases: list[Case] = field(default_factory=list)

    @property
    def name(self) -> str:
        return self.alert or self.record or ""

    def to_yaml(self) -> dict:
        doc: dict = {"record": self.record} if self.record else {"alert": self.alert}
        doc["expr"] = self.expr
        if self.alert and self.for_s:
            doc["for"] = prom_duration(self.for_s)
        if self.labels:
            doc["labels"] = dict(self.labels)
        if self.annotations:
            doc["annotations"] = dict(self.annotations)
        return doc


@dataclass
class RuleSet:
    sla: SlaSpec
    mapping: MetricsMapping
    options: AlertOptions
    selectors: Selectors  # what the dashboard draws the service's own series with
    records: list[Rule]
    alerts: list[Rule]
    skipped: list[tuple[str, str]]  # (where in the SLA file, why it has no production rule)

    @property
    def group_prefix(self) -> str:
        return f"sla-{self.sla.name}"


def prom_duration(seconds: float) -> str:
    """A Prometheus duration: 5m, 1h, 3d, 30s, 250ms."""
    ms = round(seconds * 1000)
    for unit, size in (("d", 86_400_000), ("h", 3_600_000), ("m", 60_000), ("s", 1000)):
        if ms >= size and ms % size == 0:
            return f"{ms // size}{unit}"
    return f"{ms}ms"
