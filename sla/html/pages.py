"""Render the HTML pages from what the harness already wrote: a run's result document and its
timeline (report.html), a capacity search (capacity.html), a comparison (compare.html)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any
from urllib.parse import quote

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape

from sla.analysis.timeline import Timeline
from sla.environment import environment_lines, harness_version
from sla.explain import render as render_explanation
from sla.html.charts import Chart, capacity_chart, run_charts, small_multiples
from sla.limits import PERIOD_US, cpu_rows
from sla.units import format_duration, show

HTML_NAME = "report.html"
_ENV = Environment(loader=FileSystemLoader(Path(__file__).parent / "templates"), autoescape=select_autoescape(["html", "j2"]),
                   undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True)


_ENV.filters["show"] = show
_ENV.filters["duration"] = lambda v: "-" if v is None else format_duration(v)


def graph_link(prometheus_url: str | None, promql: str) -> str | None:
    """The query in the run's Prometheus expression browser (a link; the page loads nothing)."""
    if not prometheus_url or not promql or promql.startswith("(not PromQL)"):
        return None
    return f"{prometheus_url.rstrip('/')}/graph?g0.expr={quote(promql)}&g0.tab=1"


def artifacts(out_dir: Path, extra: tuple[Path, ...] = ()) -> list[dict[str, str]]:
    """Every file beside the page (and the run's, for a check), as relative links."""
    files = [p for d in (out_dir, *extra) for p in sorted(d.iterdir()) if p.is_file() and p.name != HTML_NAME]
    return [{"href": quote(os.path.relpath(p, out_dir)), "name": os.path.relpath(p, out_dir)} for p in files]


def render(template: str, **context: Any) -> str:
    return _ENV.get_template(template).render(**context)


def write_run_page(out_dir: Path, result: dict[str, Any], timeline: Timeline | None, manifest: dict[str, Any],
                   run_dir: Path | None = None, explanation: Any = None) -> Path:
    """report.html of a run (or of a check, with links to the run's own files too)."""
    charts: list[Chart] = run_charts(timeline) if timeline is not None else []
    duration = sum(p["end"] - p["start"] for p in manifest.get("phases", []))
    extra = (run_dir,) if run_dir is not None and run_dir.resolve() != out_dir.resolve() else ()
    html = render("report.html.j2", result=result, manifest=manifest, charts=charts, duration=duration,
                  version=harness_version(), links=artifacts(out_dir, extra),
                  cpu=cpu_rows(manifest.get("server") or {}), period_ms=PERIOD_US // 1000,
                  environment=environment_lines(manifest.get("environment") or {}),
                  explanation=explanation, why=render_explanation(explanation) if explanation is not None else "",
                  graph=lambda q: graph_link(result.get("prometheus_url"), q))
    path = out_dir / HTML_NAME
    path.write_text(html)
    return path


def _run_link(page_dir: Path, run_dir: str) -> str:
    return quote(os.path.relpath(Path(run_dir) / HTML_NAME, page_dir))


def write_capacity_page(directory: Path, result: Any, options: Any, limits: list[tuple[str, float]]) -> Path:
    """capacity.html: the chart of every step, the table with a link to each step's own report."""
    chart = capacity_chart(result.steps, result.capacity, result.knee, limits, result.replicas, options.target_peak)
    steps = [{"step": s, "href": _run_link(directory, s.run_dir)} for s in result.steps]
    html = render("capacity.html.j2", result=result, options=options, chart=chart, steps=steps, version=harness_version(),
                  links=artifacts(directory))
    path = directory / "capacity.html"
    path.write_text(html)
    return path


def write_compare_page(directory: Path, rows: list[Any], phase: str, scenario: str, sla_file: Path) -> Path:
    """compare.html: one row of small multiples per configuration, the best one marked."""
    shown = []
    for i, r in enumerate(rows):
        timeline = Timeline.read(Path(r.run_dir))
        latency, throughput = small_multiples(timeline, f"config{i}") if timeline is not None else ("", "")
        shown.append({"row": r, "latency": latency, "throughput": throughput, "href": _run_link(directory, r.run_dir)})
    html = render("compare.html.j2", rows=shown, phase=phase, scenario=scenario, sla_file=str(sla_file), version=harness_version(),
                  best=next((r.label for r in rows if r.best), None))
    path = directory / "compare.html"
    path.write_text(html)
    return path
