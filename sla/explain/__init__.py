"""`sla explain RUN_DIR [--phase P]`: why a run measured what it did; `sla diff RUN_A RUN_B`: why two differ. Also written by `sla run`
(explain.json, explain.md, a section of report.html, and a short block under a FAIL).

evidence.py reads each phase's figures from the run's Prometheus and run.json; findings.py turns
them into the breakdown, the load, the findings and the what-if (pure); queueing.py is the what-if's
queue model. This module ties them to a run and writes them out.
"""

from __future__ import annotations

import io
import json
import math
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from sla.environment import environment_lines
from sla.explain.evidence import PhaseEvidence, gather, target_info
from sla.explain.findings import Finding, PhaseExplanation, explain
from sla.manifest import write_json
from sla.slafile import DEFAULT_MAX_LAG_P99
from sla.units import format_duration

EXPLAIN_JSON, EXPLAIN_MD = "explain.json", "explain.md"


@dataclass
class Explanation:
    phases: list[PhaseExplanation]
    findings: list[Finding]  # the run's own (warm-up)
    evidence: list[PhaseEvidence] = field(default_factory=list)
    environment: list[tuple[str, str]] = field(default_factory=list)  # where it ran (sla/environment.py)

    def to_json(self) -> dict[str, Any]:
        return {"phases": [p.to_json() for p in self.phases], "findings": [f.__dict__ for f in self.findings],
                "evidence": [e.to_json() for e in self.evidence], "environment": [list(line) for line in self.environment]}

    def all_findings(self) -> list[tuple[str | None, Finding]]:
        return [(None, f) for f in self.findings] + [(p.phase, f) for p in self.phases for f in p.findings]


def judged_phases(manifest: Any, objectives: list[Any], only: str | None = None) -> list[Any]:
    """The phases to explain: `only`, else those the SLA judges, else all."""
    if only is not None:
        return [w for w in manifest.phases if w.name == only]
    judged = {o.phase for o in objectives if o.phase}
    return [w for w in manifest.phases if w.name in judged] or list(manifest.phases)


def explain_run(analyzer: Any, sla: Any, cold_start: dict[str, Any], only: str | None = None) -> Explanation:
    """The explanation of a judged run, read while its Prometheus is up."""
    manifest = analyzer.manifest
    objectives = list(sla.objectives) if sla is not None else []  # None: the SLA file is not here (a copied run)
    evidence = [gather(analyzer, w) for w in manifest.phases]
    explained = [w.name for w in judged_phases(manifest, objectives, only)]
    scenario = manifest.scenario.get("path", "SCENARIO")
    phases, run_findings = explain(evidence, explained, objectives, cold_start, _short(scenario), _short(str(sla.path)) if sla else "SLA_FILE",
                                   sla.max_lag_p99 if sla else DEFAULT_MAX_LAG_P99, manifest.target_api == "reference",
                                   target_info(manifest, "ocr_server_config_info").get("warmup"))
    return Explanation(phases, run_findings, evidence, environment_lines(manifest.environment or {}))


def _short(path: str) -> str:
    """A path as a user would type it: relative to the current folder when under it."""
    try:
        return str(Path(path).resolve().relative_to(Path.cwd()))
    except ValueError:
        return path


def _d(v: float | None) -> str:
    return "-" if v is None or not math.isfinite(v) else format_duration(v)


def render(explanation: Explanation) -> str:
    """The explanation as text (the terminal and explain.md)."""
    out = [f"{who}: {what}" for who, what in explanation.environment]
    by_phase = {e.phase: e for e in explanation.evidence}
    for p in explanation.phases:
        ld = p.load
        out.append(f"phase {p.phase}:")
        out.append(f"  {'where the time went':<40} {'mean':>9} {'P50':>9} {'P99':>9}")
        for r in p.breakdown:
            name = "  " * r["level"] + r["part"]
            out.append(f"  {name:<40} {_d(r['mean']):>9} {_d(r['p50']):>9} {_d(r['p99']):>9}" + (f"  ({r['note']})" if r["note"] else ""))
        facts = [f"asked {ld.asked:.3g}/s" if ld.asked is not None else "",
                 f"served {ld.served:.3g}/s" if ld.served is not None else "",
                 f"in flight ~{ld.in_flight:.3g} (Little's law)" if ld.in_flight is not None else "",
                 f"server CPU {ld.cpu_used:.2f} of {ld.cores:g} cores" if ld.cpu_used is not None and ld.cores else
                 f"server CPU {ld.cpu_used:.2f} cores" if ld.cpu_used is not None else "",
                 f"capacity ~{ld.capacity:.3g}/s ({ld.capacity_how})" if ld.capacity else "",
                 f"utilization {ld.utilization:.2f}" if ld.utilization is not None else ""]
        trend = by_phase[p.phase].queue_trend if p.phase in by_phase else None
        if trend:
            facts.append(f"queue wait {_d(trend[0])} in its first third, {_d(trend[1])} in its last")
        out.append("  load: " + ", ".join(f for f in facts if f) + ("; SATURATED" if ld.saturated else "; near capacity" if ld.near else ""))
        for f in p.findings:
            out.append(f"  finding ({f.kind}): {f.text}")
            if f.advice:
                out.append(f"    -> {f.advice}" + (f": {f.command}" if f.command else ""))
            elif f.command:
                out.append(f"    -> {f.command}")
        if p.what_if:
            w = p.what_if
            if w.get("rate") is not None:
                out.append(f"  what-if: {w['objective']} <= {_d(w['limit'])} holds up to ~{w['rate']:.3g}/s ({w['how']})")
            else:
                out.append(f"  what-if: {w['objective']}: " + ("not met even at a trickle of load: the service time alone is over "
                                                                "the limit" if "percentile" in w else w.get("how", "")))
            if (at := w.get("at_asked_rate")) is not None:
                out.append(f"  model check: at the asked {at['rate']:.3g}/s ({at.get('arrivals', 'poisson')} arrivals), phase "
                           f"{at['from_phase']}'s service times alone give "
                           f"P{w['percentile']:g} " + (f"~{_d(at['predicted'])}" if at["predicted"] is not None else "unbounded")
                           + (f", its own mean service time ~{_d(at['predicted_own_service'])}" if at.get("predicted_own_service") else "")
                           + f"; measured {_d(at['measured'])}")
        out += [f"  missing: {m}" for m in p.missing]
    for f in explanation.findings:
        out.append(f"run finding ({f.kind}): {f.text}\n  -> {f.advice}" + (f": {f.command}" if f.command else ""))
    return "\n".join(out)


def short_block(explanation: Explanation, failed_phases: set[str]) -> str:
    """Under a FAIL in the terminal: the findings of the phases that failed (and the run's own)."""
    lines = [f"why ({p}): {f.text}" + (f"\n  -> {f.advice}" + (f": {f.command}" if f.command else "") if f.advice or f.command else "")
             for p, f in explanation.all_findings() if p is None or p in failed_phases]
    return "\n".join(lines)


def write_explanation(out_dir: Path, explanation: Explanation) -> tuple[Path, Path]:
    js = write_json(out_dir / EXPLAIN_JSON, explanation.to_json())
    md = out_dir / EXPLAIN_MD
    md.write_text("## Why: `sla explain`\n\n```\n" + render(explanation) + "\n```\n")
    return js, md


def run_explain(run_dir: Path, phase: str | None, prometheus: str | None, out: TextIO, sla_path: Path | None = None) -> int:
    """The `sla explain` verb: explain a recorded run (its kept Prometheus data) and print it. A run
    copied from another machine may not find its SLA file: it is explained without one (every phase,
    no what-if), unless `sla_path` names one."""
    from sla.analysis.analyzer import Analyzer, load_hdr
    from sla.errors import SlaError
    from sla.rundir import open_run, read_manifest, run_prometheus

    manifest = read_manifest(run_dir)
    try:
        manifest, sla = open_run(run_dir, sla_path)
    except SlaError as exc:
        if sla_path is not None:
            raise
        sla = None
        print(f"note: the run's SLA could not be read ({' '.join(str(exc).split())}): every phase is explained, with no "
              "what-if; pass --sla FILE", file=out)
    if phase is not None and phase not in {w.name for w in manifest.phases}:
        raise SlaError(f"--phase {phase!r}: the run has no such phase; its phases: {', '.join(w.name for w in manifest.phases)}")
    with ExitStack() as stack:
        reader, manifest = run_prometheus(run_dir, manifest, prometheus, stack)
        analyzer = Analyzer(reader, manifest, None, load_hdr(run_dir))
        analyzer.sla = sla
        explanation = explain_run(analyzer, sla, analyzer.cold_start_summary(), phase)
    print(render(explanation), file=out)
    js, md = write_explanation(run_dir if phase is None else run_dir / f"explain-{phase}", explanation)
    print(f"written: {js}, {md}", file=out)
    return 0


def recorded(run_dir: Path, prometheus: str | None) -> dict[str, Any]:
    """What a run wrote, for `sla diff`: run.json, result.json and explain.json (made now from the
    run's kept data when the run is older than `sla explain`)."""
    from sla.errors import SlaError
    from sla.rundir import read_manifest

    read_manifest(run_dir)  # a run directory, or a clear error
    docs = {}
    for key, name in (("manifest", "run.json"), ("result", "result.json")):
        try:
            docs[key] = json.loads((run_dir / name).read_text())
        except (OSError, ValueError) as exc:
            raise SlaError(f"{run_dir}: no readable {name} ({exc}); judge it first with sla check") from None
    if not (run_dir / EXPLAIN_JSON).is_file():  # a run older than sla explain: explain it from its kept data
        run_explain(run_dir, None, prometheus, io.StringIO())
    docs["explain"] = json.loads((run_dir / EXPLAIN_JSON).read_text())
    return docs


def run_diff(run_a: Path, run_b: Path, phase: str | None, prometheus: str | None, out: TextIO) -> int:
    """The `sla diff` verb: two runs side by side, and the gap between them explained."""
    from sla.errors import SlaError
    from sla.explain.diff import diff, render as render_diff

    a, b = recorded(run_a, prometheus), recorded(run_b, prometheus)
    names = [[p["phase"] for p in r["explain"]["phases"]] for r in (a, b)]
    if phase is not None:
        missing = [str(r) for r, n in zip((run_a, run_b), names) if phase not in n]
        if missing:
            raise SlaError(f"--phase {phase!r} is not a judged phase of {' and '.join(missing)}; A has {', '.join(names[0])}, "
                           f"B has {', '.join(names[1])}")
        phases = [phase]
    elif names[0] != names[1]:
        raise SlaError(f"the runs have different phases (A: {', '.join(names[0]) or 'none'}; B: {', '.join(names[1]) or 'none'}): "
                       "compare runs of one scenario, or name a phase both have with --phase")
    else:
        phases = names[0]
    doc = diff(a, b, phases)
    print(render_diff(doc, f"{a['manifest']['run_id']} ({run_a})", f"{b['manifest']['run_id']} ({run_b})"), file=out)
    return 0
