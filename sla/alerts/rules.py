"""Prometheus rules for the production service, from an SLA file and the target's server metrics.

Each objective kind adds its own rules through `RuleBuilder` (`Kind.production`, sla/objectives):
- recording rules of what it judges, over a rolling window (`job:<metric>:p99_rate5m` ...);
- a threshold alert with a `for:` duration (P99 over the limit for 5 minutes ...);
- for ratio objectives (error rate, and a percentile read as "99 % of requests under the limit"),
  multi-window multi-burn-rate alerts as in Google's SRE workbook: page at 14.4x over 1h and 5m,
  or 6x over 6h and 30m; ticket at 3x over 1d and 2h, or 1x over 3d and 6h. A burn rate that
  would need more than every request to fail (factor x budget >= 1) is left out.
Every alert also carries its own `promtool test rules` cases (sla/alerts/promtool.py writes them):
series that make it fire, and near misses that must not.

Built with `inline=True`, alert expressions hold the recorded expressions themselves instead of
the recording rules' names: what the replay (sla/alerts/replay.py) asks of a Prometheus that has
the run's data but never evaluated these rules.
"""

from __future__ import annotations

import functools
import os
import re
from pathlib import Path

from prometheus_client.utils import floatToGoString

from sla.alerts.cases import CASE_REQUESTS, INSTANCE, CaseSeries, Segments, _equality_labels, counter
from sla.alerts.model import AlertOptions, Case, Rule, RuleSet, Selectors, prom_duration
from sla.analysis.promql import escape, named, restart_counter, series
from sla.objectives import Objective
from sla.slafile import SlaSpec, key_path
from sla.targets.metrics import MetricsMapping
from sla.units import format_duration

# (severity, factor, long window s, short window s): the SRE workbook's table
BURN_RATES = (("page", 14.4, 3600, 300), ("page", 6.0, 6 * 3600, 1800),
              ("ticket", 3.0, 86400, 7200), ("ticket", 1.0, 3 * 86400, 6 * 3600))
BURN_NAMES = {"page": "FastBurn", "ticket": "SlowBurn"}
RESTART_WINDOW_S = 900  # a restart is reported for this long


def le_matcher(bound: float) -> str:
    """The `le` label of a bucket bound as clients write it: Python's client `1.0`, Go's `1`."""
    values = sorted({floatToGoString(bound), repr(float(bound)).removesuffix(".0"), repr(float(bound))})
    if len(values) == 1:
        return f'le="{values[0]}"'
    return 'le=~"' + escape("|".join(re.escape(v) for v in values)) + '"'


def camel(text: str) -> str:
    return "".join(part[:1].upper() + part[1:] for part in re.split(r"[^A-Za-z0-9]+", text) if part)


def metric_base(spec: str) -> str:
    return spec.partition("{")[0].removesuffix("_total")


def shown_path(path: Path) -> str:
    """The SLA file as the user would name it: relative to the working directory when inside it."""
    rel = os.path.relpath(path.resolve(), Path.cwd())
    return rel if not rel.startswith("..") else str(path)


def _supported(method):
    """A builder method an objective kind calls: nothing is added where the service's metrics cannot
    read the objective, and the reason is returned."""
    @functools.wraps(method)
    def wrapper(self: "RuleBuilder", o: Objective, *args):
        why = o.kind_of.server_problem(o, self.m)
        if why is None:
            method(self, o, *args)
        return why
    return wrapper


class RuleBuilder(CaseSeries):
    """Collects the rules of one SLA file; the objective kinds call its methods (`Kind.production`)."""

    def __init__(self, sla: SlaSpec, mapping: MetricsMapping, options: AlertOptions, inline: bool = False) -> None:
        self.sla, self.m, self.opt, self.inline = sla, mapping, options, inline
        self.selectors = Selectors(mapping, options.job)
        self.records: dict[str, Rule] = {}
        self.alerts: list[Rule] = []
        self.window = prom_duration(options.window_s)
        self.sla_file = shown_path(sla.path)
        self._bucket_checks: set[float] = set()

    # -- PromQL ---------------------------------------------------------------------------------
    def sel(self, spec: str, suffix: str = "", *raw: str, **labels: str) -> str:
        return self.selectors.sel(spec, suffix, *raw, **labels)

    def rate(self, spec: str, suffix: str = "", window_s: float | None = None, *raw: str, by: str = "job", **labels: str) -> str:
        """Over `window_s`, or the rules' window."""
        return self.selectors.rate(spec, suffix, prom_duration(window_s) if window_s else self.window, *raw, by=by, **labels)

    def ref(self, record: str, expr: str, window_s: float, select: dict[str, str] | None = None, selected: str | None = None) -> str:
        """A recorded expression: its recording rule's name in the rules file (with `select`
        matchers), or inline (for the replay) the expression itself, `selected` when `select` is
        given (the same expression with those matchers inside)."""
        if record not in self.records:
            self.records[record] = Rule(expr, record=record, labels={"sla": self.sla.name}, window_s=window_s)
        if self.inline:
            return f"({selected or expr})"
        return series(record, sla=self.sla.name, **(select or {}))

    def _success(self) -> str:
        return escape("|".join(re.escape(v) for v in self.m.success_values))

    def bad_ratio(self, window_s: float) -> str:
        """The share of failed requests over a window."""
        m, requests = self.m, named(self.m.requests_counter)
        if m.status_label:
            failed = f'{m.status_label}!~"{self._success()}"'
            return f"{self.rate(requests, '', window_s, failed)} / {self.rate(requests, '', window_s)}"
        failures = named(m.failures_counter)
        return (f"{self.rate(failures, '', window_s)} / "
                f"({self.rate(requests, '', window_s)} + {self.rate(failures, '', window_s)})")

    def slower_than(self, limit: float):
        """The share of requests slower than `limit` over a window (needs a bucket at the limit)."""
        spec, le = named(self.m.request_histogram), le_matcher(limit / self.m.unit)
        return lambda window_s: (f"1 - ({self.rate(spec, '_bucket', window_s, le)} / "
                                 f"{self.rate(spec, '_count', window_s)})")

    # -- the rules' parts ------------------------------------------------------------------------
    def _labels(self, o: Objective | None, severity: str) -> dict[str, str]:
        return {"severity": severity, "sla": self.sla.name, **({"objective": o.id} if o else {})}

    def _describe(self, o: Objective | None, text: str) -> str:
        where = f", objective {key_path(o)}" if o else ""
        return f"{text}. SLA {self.sla.name} ({self.sla_file}{where}); generated by `sla alerts`."

    def _name(self, o: Objective, what: str) -> str:
        return camel(self.sla.name) + camel(o.phase or "") + what

    def _alert(self, o: Objective | None, name: str, expr: str, severity: str, summary: str, description: str,
               for_s: float = 0.0, window_s: float = 0.0) -> Rule:
        rule = Rule(expr, alert=name, for_s=for_s, labels=self._labels(o, severity), window_s=window_s,
                    objective=o.id if o else None,
                    annotations={"summary": summary, "description": self._describe(o, description)})
        self.alerts.append(rule)
        return rule

    def _threshold(self, o: Objective, what: str, value: str, summary: str, description: str) -> Rule:
        """`value` over the objective's limit (under it, for a minimum) for `for`."""
        op = "<" if o.direction == "min" else ">"
        rule = self._alert(o, self._name(o, what), f"{value} {op} {o.limit:g}", "warning", summary,
                           f"{description} over the last {self.window}, for {prom_duration(self.opt.for_s)}",
                           self.opt.for_s, self.opt.window_s)
        rule.value, rule.limit = value, o.limit
        return rule

    # -- what the objective kinds call -------------------------------------------------------------
    @_supported
    def percentile(self, o: Objective, stage: str | None = None) -> None:
        """A percentile at or under a limit: P(q) recorded over the window with a threshold alert;
        for request latency also burn-rate alerts on the share of requests slower than the limit."""
        q = o.q
        pct = f"p{o.percentile:g}".replace(".", "_")
        spec = named(self.m.stage_histogram if stage else self.m.request_histogram)
        extra = {self.m.stage_label: stage} if stage else {}
        by, level = (f"job, {self.m.stage_label}, le", f"job_{self.m.stage_label}") if stage else ("job, le", "job")
        quantile = lambda **labels: self.selectors.quantile(q, spec, self.window, by=by, **labels)  # noqa: E731
        rec = self.ref(f"{level}:{metric_base(spec)}:{pct}_rate{self.window}", quantile(), self.opt.window_s, extra, quantile(**extra))
        what = f"stage {stage} P{o.percentile:g}" if stage else f"P{o.percentile:g} latency"
        limit = format_duration(o.limit)
        rule = self._threshold(o, (f"Stage{camel(stage)}" if stage else "Latency") + f"{camel(pct)}OverLimit", rec,
                               f"{what} over {limit}", f"The {what} of {spec} has been over {limit}")
        # P(q) lands inside (limit, 2 limit] when the share under the limit is 2q - 1, under the limit at q + (1 - q) / 2
        self._threshold_cases(
            rule, lambda seg: self.histogram_series(spec, [o.limit, 2 * o.limit], [((share, 1.0), n) for share, n in seg], **extra),
            max(2 * q - 1, 0.0), q + (1 - q) / 2, self._job_labels(**extra), f"{what} just under {limit}: does not fire")
        if stage is None:
            self._bucket_check(o.limit)
            self.burn_rates(o, f"requests slower than {limit}", 1 - q, self.slower_than(o.limit), "Latency" + camel(pct),
                            lambda seg: self.histogram_series(spec, [o.limit], [((1 - bad,), n) for bad, n in seg]))

    def _bucket_check(self, limit_s: float) -> None:
        """Burn rates read the bucket at the limit: an alert when the histogram has none."""
        if limit_s in self._bucket_checks:
            return
        self._bucket_checks.add(limit_s)
        spec = named(self.m.request_histogram)
        name = spec.partition("{")[0]
        selector = self.sel(spec, "_bucket", le_matcher(limit_s / self.m.unit))
        limit = format_duration(limit_s)
        rule = self._alert(None, camel(self.sla.name) + f"LatencyBucketMissing{camel(prom_duration(limit_s))}", f"absent({selector})",
                           "ticket", f"no {limit} bucket in {name}",
                           f"The burn-rate alerts on latency read the share of requests under {limit} from the bucket at "
                           f"{limit}, which {name} does not have: give the server that bucket boundary (the reference server: "
                           f"--extra-buckets {limit_s:g})", for_s=self.opt.for_s)
        ti = max(self.opt.for_s / 5, 5.0)
        until = rule.for_s + 2 * ti
        steps = self._steps(until, ti)
        rule.cases += [
            Case(f"no bucket at {limit}: fires", ti, self.histogram_series(spec, [1.5 * limit_s], [((1.0,), steps)]), until,
                 {**_equality_labels(selector), **rule.labels}),
            Case(f"a bucket at {limit}: does not fire", ti, self.histogram_series(spec, [limit_s], [((1.0,), steps)]), until, None)]

    def burn_rates(self, o: Objective, bad_what: str, budget: float, bad, what: str, series_for) -> None:
        """Multi-window multi-burn-rate alerts on the share of bad requests (`bad(window_s)` is its
        PromQL), whose error budget is `budget`."""
        if not 0 < budget < 1:
            return
        sli = {w: self.ref(f"job:{self._sli_name(o)}:ratio_rate{prom_duration(w)}", bad(w), w)
               for _, _, long_s, short_s in BURN_RATES for w in (long_s, short_s)}
        for severity, suffix in BURN_NAMES.items():
            clauses = [(f, lw, sw) for s, f, lw, sw in BURN_RATES if s == severity and f * budget < 1]
            if not clauses:
                continue
            expr = " or ".join(f"({sli[lw]} > ({f:g} * {budget:g}) and {sli[sw]} > ({f:g} * {budget:g}))" for f, lw, sw in clauses)
            windows = " or ".join(f"{f:g}x over {prom_duration(lw)} and {prom_duration(sw)}" for f, lw, sw in clauses)
            rule = self._alert(o, self._name(o, what + suffix), expr, severity, f"error budget of {key_path(o)} burning ({severity})",
                               f"The share of {bad_what} burns its {budget:.4g} error budget at {windows}",
                               window_s=max(lw for _, lw, _ in clauses))
            rule.cases += self._burn_cases(o, clauses, budget, series_for, rule)

    def _sli_name(self, o: Objective) -> str:
        return "sla_" + re.sub(r"[^A-Za-z0-9_]", "_", o.id) + "_bad"

    @_supported
    def mean(self, o: Objective) -> None:
        h = self.m.request_histogram
        spec_sum, spec_count = (series(h, "_sum"), series(h, "_count")) if h else (named(self.m.duration_sum), named(self.m.duration_count))
        rec = self.ref(f"job:{metric_base(h or spec_sum)}:mean_rate{self.window}",
                       self.selectors.scaled(f"{self.rate(spec_sum)} / {self.rate(spec_count)}"), self.opt.window_s)
        limit = format_duration(o.limit)
        rule = self._threshold(o, "LatencyMeanOverLimit", rec, f"mean latency over {limit}",
                               f"The mean latency has been over {limit}")

        def mean_series(seg: Segments) -> list[tuple[str, str]]:  # the "share" here is the mean as a multiple of the limit
            return [(self.case_series(spec_sum), counter([(CASE_REQUESTS * k * o.limit / self.m.unit, n) for k, n in seg])),
                    (self.case_series(spec_count), counter([(CASE_REQUESTS, n) for _, n in seg]))]
        self._threshold_cases(rule, mean_series, 1.2, 0.8, self._job_labels(), f"mean latency at 80 % of {limit}: does not fire")

    @_supported
    def error_ratio(self, o: Objective) -> None:
        rec = self.ref(f"job:{self._sli_name(o)}:ratio_rate{self.window}", self.bad_ratio(self.opt.window_s), self.opt.window_s)
        rule = self._threshold(o, "ErrorRatioOverLimit", rec, f"error ratio over {o.limit:.2%}",
                               f"The share of failed requests has been over {o.limit:.2%}")
        self._threshold_cases(rule, self.outcome_series, min(1.0, 2 * o.limit) if o.limit > 0 else 0.1, o.limit / 2,
                              self._job_labels(), "half the allowed error ratio: does not fire")
        self.burn_rates(o, "failed requests", o.limit, self.bad_ratio, "Errors", self.outcome_series)

    @_supported
    def throughput(self, o: Objective) -> None:
        m, requests = self.m, named(self.m.requests_counter)
        raw = (f'{m.status_label}=~"{self._success()}"',) if m.status_label else ()
        rec = self.ref(f"job:{metric_base(requests)}:success_rate{self.window}", self.rate(requests, "", None, *raw),
                       self.opt.window_s)
        rule = self._threshold(o, "ThroughputUnderFloor", rec, f"successful requests under {o.limit:g}/s",
                               f"Successful requests have been under {o.limit:g}/s (the SLA asks that much at its test load; "
                               "in production this also fires when demand is low)")
        ti = self._case_interval()
        self._threshold_cases(rule, lambda seg: self.outcome_series([(0.0, n) for _, n in seg], per_interval=seg[0][0] * o.limit * ti),
                              0.8, 1.2, self._job_labels(), f"120 % of {o.limit:g}/s: does not fire")

    @_supported
    def time_to_ready(self, o: Objective) -> None:
        """A replica still not ready `limit` after its start (page), and one that became ready later
        than that (ticket: a cold start shorter than the evaluation interval shows only afterwards)."""
        process_start, ready_timestamp = named(self.m.process_start), named(self.m.ready_timestamp)
        limit = format_duration(o.limit)
        started = f"max by (job, instance) ({self.sel(process_start)})"
        ready = f"max by (job, instance) ({self.sel(ready_timestamp)})"
        stuck = self._alert(o, camel(self.sla.name) + "NotReadyInTime",
                            f"(time() - {started} > {o.limit:g}) and on (job, instance) ({ready} == 0)", "page",
                            f"not ready {limit} after start", f"A replica started more than {limit} ago and is still not ready")
        slow = self._alert(o, camel(self.sla.name) + "ColdStartSlow", f"{ready} - {started} > {o.limit:g}", "ticket",
                           f"a replica took over {limit} to get ready",
                           f"A replica became ready more than {limit} after its start (it fires until the replica restarts)")
        ti = max(o.limit / 4, 1.0)
        until = o.limit + 2 * ti
        base = self._job_labels(instance=INSTANCE)

        def gauges(ready_at: float) -> list[tuple[str, str]]:
            steps = self._steps(until, ti)
            return [(self.case_series(process_start), f"0x{steps}"), (self.case_series(ready_timestamp), f"{ready_at:g}x{steps}")]
        on_time = f"ready {format_duration(0.8 * o.limit)} after start: does not fire"
        stuck.cases += [Case(f"not ready {limit} after start: fires", ti, gauges(0), until, {**base, **stuck.labels}),
                        Case(on_time, ti, gauges(0.8 * o.limit), until, None)]
        slow.cases += [Case(f"ready {format_duration(1.5 * o.limit)} after start: fires", ti, gauges(1.5 * o.limit), until,
                            {**base, **slow.labels}),
                       Case(on_time, ti, gauges(0.8 * o.limit), until, None),
                       Case("not ready yet: does not fire (NotReadyInTime does)", ti, gauges(0), until, None)]

    @_supported
    def first_request(self, o: Objective) -> None:
        gauge = named(self.m.first_request_gauge)
        limit = format_duration(o.limit)
        rule = self._alert(o, camel(self.sla.name) + "FirstRequestSlow", f"max by (job, instance) ({self.sel(gauge)}) > {o.limit:g}",
                           "ticket", f"first request after start over {limit}",
                           f"A replica's first request after its start took over {limit} (it fires until the replica restarts)")
        base = self._job_labels(instance=INSTANCE)
        value = lambda v: [(self.case_series(gauge), f"{v:g}x4")]  # noqa: E731
        rule.cases += [Case(f"first request {format_duration(1.5 * o.limit)}: fires", 5.0, value(1.5 * o.limit), 10,
                            {**base, **rule.labels}),
                       Case(f"first request {format_duration(0.5 * o.limit)}: does not fire", 5.0, value(0.5 * o.limit), 10, None)]

    def service_rules(self) -> None:
        """Whatever the SLA says: a replica down, or restarted."""
        base = self._job_labels(instance=INSTANCE)
        ti = max(self.opt.for_s / 5, 5.0)
        until = self.opt.for_s + 2 * ti
        steps = self._steps(until, ti)
        rule = self._alert(None, camel(self.sla.name) + "ServiceDown", f'up{{job="{escape(self.opt.job)}"}} == 0', "page",
                           "a replica does not answer its metrics scrape",
                           f"Prometheus could not scrape a replica of job {self.opt.job} for {prom_duration(self.opt.for_s)}: "
                           "down, or not listening", for_s=self.opt.for_s)
        rule.cases += [Case("scrapes failing for longer than `for`: fires", ti, [(self.case_series("up"), f"0x{steps}")], until,
                            {**base, **rule.labels}),
                       Case("scrapes succeeding: does not fire", ti, [(self.case_series("up"), f"1x{steps}")], until, None)]
        restart = prom_duration(RESTART_WINDOW_S)
        start = self.m.process_start
        if start is None:  # no start-time gauge (Triton, BentoML, Ray Serve): a counter that fell back to zero
            counter = restart_counter(self.m)
            if counter is None:
                return
            rule = self._alert(None, camel(self.sla.name) + "Restarted", f"sum by (job, instance) (resets({self.sel(counter)}[{restart}])) > 0", "ticket",
                               "a replica restarted", f"A replica's {counter.partition('{')[0]} counter fell back to zero in the "
                               f"last {restart}: it restarted, and its next requests pay a cold start", window_s=RESTART_WINDOW_S)
            series_of = self.case_series(counter)
            rule.cases += [Case("counter reset: fires", 60.0, [(series_of, "100+10x3 0+10x3")], 300, {**base, **rule.labels}),
                           Case("counter growing: does not fire", 60.0, [(series_of, "100+10x6")], 300, None)]
            return
        rule = self._alert(None, camel(self.sla.name) + "Restarted", f"changes({self.sel(start)}[{restart}]) > 0", "ticket",
                           "a replica restarted", f"A replica's process start time changed in the last {restart}: it restarted, "
                           "and its next requests pay a cold start", window_s=RESTART_WINDOW_S)
        start = self.case_series(start)
        rule.cases += [Case("process start time changed: fires", 60.0, [(start, "100x3 700x3")], 300, {**base, **rule.labels}),
                       Case("process start time steady: does not fire", 60.0, [(start, "100x6")], 300, None)]


def build_rules(sla: SlaSpec, mapping: MetricsMapping, options: AlertOptions, inline: bool = False) -> RuleSet:
    """The production rules of an SLA file for a service with these server metrics."""
    builder = RuleBuilder(sla, mapping, options, inline)
    builder.service_rules()
    skipped = []
    for o in sla.objectives:
        if options.phase is not None and o.phase not in (None, options.phase):
            continue
        why = o.kind_of.production(o, builder)
        if why:
            skipped.append((key_path(o), why))
    return RuleSet(sla, mapping, options, builder.selectors, list(builder.records.values()), builder.alerts, skipped)
