"""Reports of an analysis: result.json (machine-readable, the basis of baselines), report.md (a CI
job summary), junit.xml (one test case per objective), report.html (the page with the charts, from
timeline.json: sla/html), and the terminal table.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any
from xml.etree import ElementTree as ET

from dataclasses import asdict

from sla.tables import markdown_table, text_table
from sla.analysis.analyzer import Analysis
from sla.analysis.timeline import Timeline
from sla.html.pages import write_run_page
from sla.analysis.verdict import EXIT_CODES, FAIL, INCONCLUSIVE
from sla.environment import environment_lines
from sla.explain import write_explanation
from sla.limits import PERIOD_US, cpu_rows
from sla.manifest import SCHEMA_VERSION, RunManifest, json_value, write_json
from sla.units import show

RESULT_NAME, REPORT_NAME, JUNIT_NAME = "result.json", "report.md", "junit.xml"


def write_reports(out_dir: Path, manifest: RunManifest, analysis: Analysis, sla_path: Path, timeline: Timeline | None = None,
                  run_dir: Path | None = None, explanation: Any = None) -> dict[str, Path]:
    """Every report of a judged run into `out_dir` (for a check, `run_dir` is the run's own folder:
    the page links its files too)."""
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = {"result": out_dir / RESULT_NAME, "report": out_dir / REPORT_NAME, "junit": out_dir / JUNIT_NAME}
    doc = {
        "run_id": manifest.run_id,
        "verdict": analysis.verdict,
        "exit_code": EXIT_CODES[analysis.verdict],
        "judged_at": time.time(),
        "scenario": manifest.scenario,
        "sla": {"path": str(Path(sla_path).resolve())},
        "prometheus_url": manifest.prometheus_url,
        "objectives": [r.to_json() for r in analysis.results],
        "phases": {name: s.to_json() for name, s in analysis.phases.items()},
        "cold_start": analysis.cold_start,
        "notes": analysis.notes,
        "warnings": analysis.warnings,
        **({"replicas": analysis.replicas} if analysis.replicas else {}),
    }
    write_json(paths["result"], doc)
    paths["report"].write_text(markdown(manifest, analysis, explanation))
    if explanation is not None:
        paths["explain"] = write_explanation(out_dir, explanation)[1]
    ET.ElementTree(junit(manifest, analysis)).write(paths["junit"], encoding="utf-8", xml_declaration=True)
    if timeline is not None:
        paths["timeline"] = timeline.write(out_dir)
    paths["html"] = write_run_page(out_dir, {"schema_version": SCHEMA_VERSION, **doc}, timeline, json_value(asdict(manifest)), run_dir,
                                   explanation)
    return paths


def markdown(manifest: RunManifest, analysis: Analysis, explanation: Any = None) -> str:
    lines = [
        f"## SLA gate: {analysis.verdict}",
        "",
        f"Run `{manifest.run_id}`, scenario `{manifest.scenario.get('name')}`, target `{manifest.target}`.",
        "",
        *markdown_table(("Objective", "Source", "Measured", "Limit", "Samples", "Verdict", "Detail"), (
            (f"`{r.id}`", r.source, show(r.value, r.unit), f"{r.comparator} {show(r.limit, r.unit)}",
             f"{r.samples:.0f}" if r.samples is not None else "-", f"**{r.verdict}**",
             r.detail + (f" → {r.recommendation}" if r.recommendation and r.verdict != "PASS" else "")) for r in analysis.results)),
        "",
        *markdown_table(("Phase", "Requests", "Throughput", "Error rate", "P50", "P99", "P99 uncorrected", "P99 HdrHistogram", "Sent / asked",
                         "Lag P99", "Exact lines", "CER"), (
            (name, f"{s.requests:.0f}", show(s.throughput, "/s"), show(s.error_rate, "fraction"), show(s.p50, "s"), show(s.p99, "s"),
             show(s.uncorrected.get("p99"), "s"), show(s.hdr_p99, "s"),
             f"{s.delivery.sent:.0f} / {s.delivery.planned:.0f}" if s.delivery and s.delivery.planned else "-",
             show(s.delivery.lag_p99 if s.delivery else None, "s"), show((s.accuracy or {}).get("exact_lines"), "fraction"),
             show((s.accuracy or {}).get("cer"), "fraction")) for name, s in analysis.phases.items())),
        "",
    ]
    lines.append("Arrival-rate phases are judged from the intended send time (coordinated omission corrected); "
                 "'P99 uncorrected' is from the actual send time. Exact lines and CER: the answers the load generator "
                 "scored against what each payload says it reads.")
    if analysis.replicas:
        lines += ["", "Served by replica: HAProxy's counters per phase, answers by status class and connections that failed "
                  "(exact to one scrape interval at the phase edges: readiness probes through HAProxy just before the first "
                  "phase may count in it):", "",
                  *markdown_table(("Phase", "Replica", "2xx", "5xx", "other", "connection errors"), (
                      (phase, replica, f"{c.get('2xx', 0):.0f}", f"{c.get('5xx', 0):.0f}",
                       f"{sum(v for k, v in c.items() if k not in ('2xx', '5xx', 'connection errors')):.0f}",
                       f"{c.get('connection errors', 0):.0f}") for phase, per in analysis.replicas.items() for replica, c in per.items()))]
    if rows := cpu_rows(manifest.server):
        lines += ["", "CPU limit of the service (target.cpus as a CFS quota, target.cpuset as pinning); throttled: periods of "
                  f"{PERIOD_US // 1000} ms in which it used up its quota and waited:", "",
                  *markdown_table(("Service", "Limit", "Phase", "Periods", "Throttled", "Throttled time"), (
                      (r["service"], r["limit"], r["phase"] or "-", "-" if r["periods"] is None else f"{r['periods']:.0f}",
                       f"{r['throttled']:.0f} ({r['throttled'] / r['periods']:.0%})" if r["periods"] else
                       "-" if r["throttled"] is None else f"{r['throttled']:.0f}", show(r["throttled_s"], "s")) for r in rows))]
    if explanation is not None and (found := explanation.all_findings()):
        lines += ["", "Why (`sla explain`; explain.md has the breakdown):", ""]
        lines += [f"- {phase or 'run'}: {f.text}" + (f" → {f.advice}" if f.advice else "") + (f" (`{f.command}`)" if f.command else "")
                  for phase, f in found]
    if env := environment_lines(manifest.environment):
        lines += ["", "Environment:", ""] + [f"- {who}: {what}" for who, what in env]
    lines += [""] + [f"- {note}" for note in analysis.notes]
    lines += [""] + [f"- **warning:** {w}" for w in analysis.warnings]
    return "\n".join(lines).rstrip() + "\n"


def junit(manifest: RunManifest, analysis: Analysis) -> ET.Element:
    results = analysis.results
    suite = ET.Element(
        "testsuite", name=f"sla.{manifest.scenario.get('name', 'run')}", tests=str(len(results)),
        failures=str(sum(r.verdict == FAIL for r in results)), errors="0",
        skipped=str(sum(r.verdict == INCONCLUSIVE for r in results)), timestamp=time.strftime("%Y-%m-%dT%H:%M:%S"),
    )
    ET.SubElement(ET.SubElement(suite, "properties"), "property", name="run_id", value=manifest.run_id)
    for r in results:
        case = ET.SubElement(suite, "testcase", classname=f"sla.{r.phase or 'cold_start'}", name=r.id, time="0")
        message = f"{show(r.value, r.unit)} {r.comparator} {show(r.limit, r.unit)}: {r.detail}"
        if r.verdict == FAIL:
            ET.SubElement(case, "failure", message=message, type="FAIL").text = f"{r.recommendation}\nPromQL: {r.promql}"
        elif r.verdict == INCONCLUSIVE:
            ET.SubElement(case, "skipped", message=f"INCONCLUSIVE: {message}")
        warning = next((w for w in analysis.warnings if w.startswith(f"{r.id}: ")), None)
        ET.SubElement(case, "system-out").text = f"PromQL: {r.promql}" + (f"\nwarning: {warning}" if warning else "")
    return suite


def summary_table(analysis: Analysis) -> str:
    rows = [("objective", "measured", "limit", "samples", "verdict")]
    for r in analysis.results:
        rows.append((r.id, show(r.value, r.unit), f"{r.comparator} {show(r.limit, r.unit)}",
                     f"{r.samples:.0f}" if r.samples is not None else "-", r.verdict))
    out = text_table(rows)
    for r in analysis.results:
        if r.verdict != "PASS":
            out.append(f"  {r.id}: {r.verdict}: {r.detail}" + (f"\n    -> {r.recommendation}" if r.recommendation else ""))
    out += [f"  note: {n}" for n in analysis.notes]
    out += [f"  warning: {w}" for w in analysis.warnings]
    out.append(f"verdict: {analysis.verdict} (exit code {EXIT_CODES[analysis.verdict]})")
    return "\n".join(out)
