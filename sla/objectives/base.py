"""What an objective kind is, and the pieces its parsers share.

A kind (one module in this package, one line in the registry of `sla/objectives/__init__.py`)
owns four things:
- how its SLA entry is parsed and validated (`key`, `parse`), and what it needs of the target's
  server metrics when read from them (`server_problem`);
- which series it needs, asked of a metrics source (`measure`: `run.source(o.source)` gives the
  load generator's or the server's series, sla/analysis/sources.py);
- how it is judged (`judge`), and how many requests its claim needs (`needs`);
- how it is shown (`unit`, `direction`).
The core (the SLA loader, the analyzer, the reports, the claims) asks the kind, never its name.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from sla.analysis.verdict import Measurement, ObjectiveResult
from sla.units import parse_percent
from sla.validation import Reader

if TYPE_CHECKING:
    from sla.analysis.sources import LoadgenSource, ServerSource, Source
    from sla.manifest import PhaseWindow, RunManifest
    from sla.history.store import Comparable
    from sla.targets.metrics import MetricsMapping

SOURCES = ("loadgen", "server")
PERCENTILE_KEY = re.compile(r"^p(\d+(?:\.\d+)?)$")


@dataclass(frozen=True)
class Objective:
    id: str  # e.g. steady.latency.p99, steady.stage.det.p99, cold_start.first_request
    kind: str  # a name in the registry
    phase: str | None  # None for cold-start objectives
    source: str  # loadgen or server
    limit: float  # seconds, requests/s, or a fraction (error rate, baseline change)
    percentile: float | None = None  # 99.0 for p99
    stage: str | None = None
    threshold: float | None = None  # recovery: the latency (s) the percentile must come back under
    excludes_shed: bool = False  # error_rate in a phase with a shed objective: the other failures
    vs: str | None = None  # accuracy_drop: the quiet phase compared with
    sample: float | None = None  # accuracy: the share of answers scored (None: every one)
    runs: int | None = None  # baseline: compared with the last N comparable runs of the history store (None: --baseline)
    where: str = ""  # where it is written in the SLA file, e.g. phases.steady.latency.p99
    # the kind that parsed it (the SLA loader binds it, from the kinds it was handed); None: the shipped kind of that name
    bound: "Kind | None" = field(default=None, compare=False, repr=False)

    @property
    def kind_of(self) -> "Kind":
        if self.bound is not None:
            return self.bound
        from sla.objectives import KINDS  # the registry imports the kinds, which import this module

        return KINDS[self.kind]

    @property
    def q(self) -> float:
        """Its percentile as a quantile (0.99 for p99): only for the kinds that have one."""
        if self.percentile is None:
            raise ValueError(f"objective {self.id} has no percentile")
        return self.percentile / 100

    @property
    def direction(self) -> str:
        return self.kind_of.direction

    @property
    def unit(self) -> str:
        return self.kind_of.unit


@dataclass
class ParseContext:
    """One section of an SLA file as the kinds parse it: a phase's entry, or `cold_start`."""

    reader: Reader
    phase: str | None  # None: the cold_start section
    doc: dict[str, Any]  # the section's mapping, its keys already checked
    mapping: "MetricsMapping | None"  # the target's server metrics (None: it has none)
    stage_names: tuple[str, ...] = ()  # the target's server stages
    phases: tuple[str, ...] | None = None  # the scenario's phases (None: not known here)
    accuracy_problem: str | None = None  # why the scenario's answers cannot be scored (None: they can, or not known)

    @property
    def path(self) -> str:
        return f"phases.{self.phase}" if self.phase is not None else "cold_start"


class Run(Protocol):
    """What a kind may ask of the run being judged (the analyzer provides it)."""

    baseline: dict[str, Any] | None
    history: "Comparable | None"  # the comparable runs of the history store (None: no --history)
    manifest: "RunManifest"
    loadgen: "LoadgenSource"  # what only the load generator knows (answers, latency over time, ...)
    server: "ServerSource"

    def source(self, name: str) -> "Source": ...  # either, by an objective's `source`

    def duration(self, w: "PhaseWindow") -> float: ...

    def window(self, phase: str) -> "PhaseWindow | None": ...


class ProductionRules(Protocol):
    """What a kind asks of the production rules it is turned into (sla/alerts/rules.py builds them):
    each method adds one objective's rules, or returns why it has none."""

    def percentile(self, o: Objective, stage: str | None = None) -> str | None: ...

    def mean(self, o: Objective) -> str | None: ...

    def error_ratio(self, o: Objective) -> str | None: ...

    def throughput(self, o: Objective) -> str | None: ...

    def time_to_ready(self, o: Objective) -> str | None: ...

    def first_request(self, o: Objective) -> str | None: ...


def result(o: Objective, m: Measurement, verdict: str, value: float | None, detail: str, rec: str = "", **kw) -> ObjectiveResult:
    """A result of objective `o`, shown in its kind's unit and direction."""
    return ObjectiveResult(
        id=o.id, kind=o.kind, phase=o.phase, source=o.source, verdict=verdict, value=value, limit=kw.pop("limit", o.limit),
        comparator="<=" if o.direction == "max" else ">=", unit=o.unit, samples=kw.pop("samples", None), window=m.window,
        promql=m.promql, detail=detail, recommendation=rec, **kw,
    )


class Kind:
    names: tuple[str, ...] = ()  # its name(s) in objectives and results
    key: str = ""  # the SLA key it reads: in a phase, or under cold_start
    section: str = "phases"  # or "cold_start"
    description: str = ""  # what the key takes, for the accepted-keys message
    unit: str = "s"  # s, /s or fraction
    direction: str = "max"  # the value must stay at or under (max) or at or over (min) the limit
    bucket_limit: bool = False  # its limits (seconds) become histogram bucket boundaries
    cross_checked: bool = False  # from the server, compared with the load generator (sla/analysis/crosscheck.py)
    request_latency: bool = False  # a percentile of whole requests: drawn on the latency charts, aimed at by the what-if
    counts_failures: bool = False  # judges failed requests (the server's count is checked against the load generator's)
    compares_runs: bool = False  # judged against other runs (--baseline, --history), not on its own
    panel: str = ""  # the title of the dashboard panel its production recordings are drawn on (sla/alerts/dashboard.py)

    def parse(self, ctx: ParseContext) -> list[Objective]:
        raise NotImplementedError

    def measure(self, o: Objective, run: Run, w: "PhaseWindow | None") -> Measurement:
        raise NotImplementedError

    def judge(self, o: Objective, m: Measurement) -> ObjectiveResult:
        raise NotImplementedError

    def needs(self, o: Objective) -> int:
        """Requests its claim needs with none over the limit (0: a count does not decide it)."""
        return 0

    def answer_sample(self, o: Objective) -> float | None:
        """The share of answers the load generator must score for it (None: it needs no scoring)."""
        return None

    def limits_s(self, o: Objective) -> tuple[float, ...]:
        """Latency limits in seconds, to become histogram bucket boundaries."""
        return (o.limit,) if self.bucket_limit else ()

    def server_problem(self, o: Objective, mapping: "MetricsMapping") -> str | None:
        """Why `source: server` cannot be read from these server metrics (None: it can)."""
        return None

    def production(self, o: Objective, rules: "ProductionRules") -> str | None:
        """Add its rules for the production service (sla/alerts/rules.py), or say why it has none."""
        return "a property of a test run, with no production counterpart"

    def stands_despite_shortfall(self, o: Objective, m: Measurement, result: ObjectiveResult) -> bool:
        """A FAIL that the load generator's shortfall cannot explain stands (else INCONCLUSIVE)."""
        return False


# -- parsing helpers shared by the kinds ------------------------------------------------------
def percentile(key: str) -> float:
    match = PERCENTILE_KEY.match(str(key))
    value = float(match.group(1)) if match else None
    if value is None or not 0 < value < 100:
        raise ValueError(f"{key!r} is not a percentile; write p50, p90, p95, p99, p99.9 (between 0 and 100)")
    return value


def pct_id(value: float) -> str:
    return f"p{value:g}"


class AnyPercentile(dict):
    """Allowed keys for a percentile mapping: any pXX (checked separately), plus `extra`."""

    def __init__(self, extra: dict[str, str] | None = None) -> None:
        super().__init__({"pXX": "percentile such as p99", **(extra or {})})

    def __contains__(self, key: object) -> bool:
        return super().__contains__(key) or bool(PERCENTILE_KEY.match(str(key)))


def checked_percentile(reader: Reader, path: str, key: str) -> float | None:
    if not PERCENTILE_KEY.match(str(key)):
        return None  # already reported as an unknown key
    try:
        return percentile(key)
    except ValueError as exc:
        reader.problem(path, str(exc))
        return None


def fraction(value: Any) -> float:
    share = parse_percent(value)
    if not 0 <= share <= 1:
        raise ValueError(f"{value!r} is outside 0% to 100%")
    return share


def limit(reader: Reader, doc: dict, path: str, key: str, convert, bound: str, expected: str) -> tuple[float, str] | None:
    """A limit written short (`p99: 150ms`) or long (`p99: {max: 150ms, source: server}`):
    (limit, source), or None after a problem was reported."""
    value = doc[key]
    source = "loadgen"
    here = f"{path}.{key}" if path else key
    if isinstance(value, dict):
        reader.mapping(value, here, {bound: expected, "source": f"where it is read: {' or '.join(SOURCES)}"})
        source = value.get("source", "loadgen")
        if source not in SOURCES:
            reader.problem(f"{here}.source", f"{source!r} is not a source; accepted: {', '.join(SOURCES)}")
            source = "loadgen"
        got = reader.get(value, here, bound, convert, expected)
    else:
        got = reader.get(doc, path, key, convert, expected)
    return None if got is None else (got, source)
