"""A Grafana dashboard of the production service, built with Grafana's own dashboards-as-code
library (grafana-foundation-sdk, the Grafana 11.6 schema).

The SLA panels draw the recorded series of the rules (`sla alerts` writes both; load the rules
first) with each SLA limit as a threshold line; the service panels read the server's own series:
requests by status, queue wait, in-flight requests, batch size, time to ready and first request.
A series the target's metrics mapping does not have gives no panel.

Validation is what the library offers: typed builders, then the JSON read back into the SDK's
models (`Dashboard.from_json`, with the panel and query plugins registered) and encoded again,
which must give the same document.
"""

from __future__ import annotations

import json
from typing import Any

from grafana_foundation_sdk.builders import common as common_b
from grafana_foundation_sdk.builders import dashboard as dash_b
from grafana_foundation_sdk.builders import prometheus, stat, timeseries
from grafana_foundation_sdk.cog.encoder import JSONEncoder
from grafana_foundation_sdk.cog.plugins import register_default_plugins
from grafana_foundation_sdk.models import common
from grafana_foundation_sdk.models import dashboard as dash_m

from sla.alerts.model import Rule, RuleSet
from sla.units import format_duration

DATASOURCE = dash_m.DataSourceRef(type_val="prometheus", uid="${datasource}")
RATE = "$__rate_interval"
UNITS = {"s": "s", "/s": "reqps", "fraction": "percentunit"}


def _query(expr: str, legend: str, instant: bool = False) -> prometheus.Dataquery:
    q = prometheus.Dataquery().expr(expr).legend_format(legend).datasource(DATASOURCE)
    return q.instant() if instant else q.range()


def _limits(limits: list[float], red_is_high: bool = True) -> dash_b.ThresholdsConfig:
    steps = [dash_m.Threshold(value=None, color="green" if red_is_high else "red")]
    steps += [dash_m.Threshold(value=v, color="red" if red_is_high else "green") for v in sorted(set(limits))]
    return dash_b.ThresholdsConfig().mode(dash_m.ThresholdsMode.ABSOLUTE).steps(steps)


def _series_panel(title: str, unit: str, targets: list[prometheus.Dataquery], limits: list[float] | None = None,
                  red_is_high: bool = True, description: str = "") -> timeseries.Panel:
    panel = timeseries.Panel().title(title).unit(unit).datasource(DATASOURCE).span(12).height(8).min(0).fill_opacity(10)
    if description:
        panel = panel.description(description)
    for ref, t in zip("ABCDEFGHIJKLMNOPQRSTUVWXYZ", targets):
        panel = panel.with_target(t.ref_id(ref))
    if limits:
        panel = panel.thresholds(_limits(limits, red_is_high)).thresholds_style(
            common_b.GraphThresholdsStyleConfig().mode(common.GraphThresholdsStyleMode.DASHED))
    return panel


def _stat_panel(title: str, unit: str, target: prometheus.Dataquery, limit: float | None) -> stat.Panel:
    panel = stat.Panel().title(title).unit(unit).datasource(DATASOURCE).span(6).height(5).with_target(target.ref_id("A"))
    return panel.thresholds(_limits([limit])) if limit is not None else panel


def build_dashboard(rules: RuleSet) -> dash_b.Dashboard:
    job, sla = rules.options.job, rules.sla
    board = (dash_b.Dashboard(f"SLA {sla.name}: {job}").uid(f"sla-{sla.name}-{job}"[:40]).tags(["sla", "generated"])
             .description(f"From the SLA file {sla.path.name} by `sla alerts`; the SLA panels draw the rules' recordings")
             .refresh("30s").time("now-3h", "now").timezone("browser")
             .with_variable(dash_b.DatasourceVariable("datasource").label("Prometheus").type("prometheus")))
    board = _objective_panels(board.with_row(dash_b.Row("SLA objectives")), rules)
    return _service_panels(board.with_row(dash_b.Row("Service")), rules)


def _objective_panels(board: dash_b.Dashboard, rules: RuleSet) -> dash_b.Dashboard:
    """A panel per objective kind, drawing the rules' recordings against their limits."""
    sla = rules.sla
    by_kind: dict[str, list[Rule]] = {}
    for rule in rules.alerts:
        if rule.value and rule.objective:
            kind = next(o.kind for o in sla.objectives if o.id == rule.objective)
            by_kind.setdefault(kind, []).append(rule)
    kinds = {o.kind: o for o in sla.objectives}
    for kind, group in by_kind.items():
        unit = UNITS.get(kinds[kind].unit, "short")
        targets = [_query(r.value, f"{r.objective} (limit {_shown(r.limit, kinds[kind].unit)})") for r in group]
        board = board.with_panel(_series_panel(kinds[kind].kind_of.panel or kind, unit, targets, [r.limit for r in group if r.limit is not None],
                                               red_is_high=kinds[kind].direction != "min",
                                               description=f"Over the rules' {rules.options.window_s:g} s window"))
    return board


def _service_panels(board: dash_b.Dashboard, rules: RuleSet) -> dash_b.Dashboard:
    """The service's own series: requests by status, latency, stages, queue, batches, cold start, replicas."""
    m, job, sla, s = rules.mapping, rules.options.job, rules.sla, rules.selectors
    if m.requests_counter:
        by = m.status_label or "job"
        targets = [_query(s.rate(m.requests_counter, "", RATE, by=by), "{{" + by + "}}" if m.status_label else "answered")]
        if m.failures_counter:
            targets.append(_query(s.rate(m.failures_counter, "", RATE), "failed"))
        board = board.with_panel(_series_panel("Requests/s by status", "reqps", targets))
    if m.request_histogram:
        quantiles = [_query(s.quantile(q, m.request_histogram, RATE), f"P{q * 100:g}") for q in (0.5, 0.99)]
        board = board.with_panel(_series_panel("P50 and P99 latency (server)", "s", quantiles,
                                               [o.limit for o in sla.objectives if o.kind_of.request_latency]))
    if m.stage_histogram:
        stages = _query(s.quantile(0.99, m.stage_histogram, RATE, by=f"{m.stage_label}, le"), "{{" + m.stage_label + "}} P99")
        board = board.with_panel(_series_panel("Stage P99 latency", "s", [stages]))
    if m.queue_histogram:
        board = board.with_panel(_series_panel("Queue wait P99", "s", [_query(s.quantile(0.99, m.queue_histogram, RATE), "P99")]))
    if m.in_flight_gauge:
        board = board.with_panel(_series_panel("Requests in flight", "short", [_query(f"sum by (instance) ({s.sel(m.in_flight_gauge)})",
                                                                                      "{{instance}}")]))
    if m.batch_histogram:
        board = board.with_panel(_series_panel("Mean batch size", "short", [_query(
            f"{s.rate(m.batch_histogram, '_sum', RATE)} / {s.rate(m.batch_histogram, '_count', RATE)}", "mean")]))
    cold = {o.kind: o.limit for o in sla.objectives if o.phase is None}
    if m.ready_timestamp and m.process_start:
        board = board.with_panel(_stat_panel("Time to ready", "s", _query(
            f"max by (instance) ({s.sel(m.ready_timestamp)} - {s.sel(m.process_start)})", "{{instance}}", True), cold.get("time_to_ready")))
    if m.first_request_gauge:
        board = board.with_panel(_stat_panel("First request after start", "s", _query(
            f"max by (instance) ({s.sel(m.first_request_gauge)})", "{{instance}}", True), cold.get("first_request")))
    board = board.with_panel(_stat_panel("Replicas up", "short", _query(f'sum (up{{job="{job}"}})', "up", True), None))
    return board


def _shown(value: float | None, unit: str) -> str:
    if value is None:
        return ""
    return format_duration(value) if unit == "s" else f"{value:.2%}" if unit == "fraction" else f"{value:g}/s"


def dashboard_json(rules: RuleSet) -> dict[str, Any]:
    doc = json.loads(JSONEncoder(sort_keys=True).encode(build_dashboard(rules).build()))
    for n, panel in enumerate(doc.get("panels", []), 1):
        panel["id"] = n  # Grafana keys panel links and state by id
    return doc


def validate(doc: dict[str, Any]) -> list[str]:
    """Problems found reading the document back into the SDK's models (none: it round-trips)."""
    register_default_plugins()
    try:
        again = json.loads(JSONEncoder(sort_keys=True).encode(dash_m.Dashboard.from_json(doc)))
    except (KeyError, TypeError, ValueError) as exc:
        return [f"the SDK cannot read it back: {exc!r}"]
    if again != doc:
        return [f"reading it back changed it: {key}" for key in sorted(set(doc) | set(again)) if doc.get(key) != again.get(key)]
    return []
