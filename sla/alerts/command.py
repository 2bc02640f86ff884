"""The `sla alerts` verb: the SLA file as production alerts, and their replay over a gated run.

generate: SLA file + the target's server metrics mapping -> recording rules and alerts
          (rules.py) + their promtool cases (cases.py, promtool.py) + a Grafana dashboard (dashboard.py)
          -> `promtool check rules` and `promtool test rules` on what was written.
replay:   the same, from a run's SLA and mapping, then every alert evaluated over the run's kept
          Prometheus data at the run's times (replay.py) beside the gate's verdicts.
"""

from __future__ import annotations

import json
import sys
import time
from contextlib import ExitStack
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TextIO

from sla.alerts.dashboard import dashboard_json, validate
from sla.alerts.promtool import check_and_test, promtool_binary, write_rules
from sla.alerts.replay import replay, replay_table
from sla.alerts.model import AlertOptions, RuleSet, prom_duration
from sla.alerts.rules import build_rules
from sla.analysis.analyzer import Analyzer, load_hdr
from sla.analysis.promql import SERVER_JOB
from sla.errors import SlaError
from sla.manifest import write_json
from sla.slafile import SlaSpec, load_sla
from sla.targets import API_REGISTRY, DEFAULT_API, MetricsMapping, metrics_of_run
from sla.targets.metrics import MAPPINGS

DEFAULT_REPLAY_STEP_S = 60.0  # Prometheus' default evaluation_interval


@dataclass(frozen=True)
class AlertsRequest:
    sla: Path | None
    target_api: str | None = None
    metrics: str | None = None
    out: Path | None = None
    replay: Path | None = None
    prometheus: str | None = None
    options: AlertOptions = AlertOptions()


def _mapping(api: str, metrics: str | None) -> MetricsMapping:
    if api not in API_REGISTRY:
        raise SlaError(f"--target-api {api!r} is not a target API; known: {', '.join(API_REGISTRY)}")
    if metrics is not None:
        if metrics not in MAPPINGS:
            raise SlaError(f"--metrics {metrics!r} is not a shipped server metrics mapping; shipped: {', '.join(MAPPINGS)}")
        return MAPPINGS[metrics]
    mapping = API_REGISTRY[api].metrics
    if mapping is None:
        raise SlaError(f"the {api} target API has no server metrics of its own, and production alerts read server metrics: "
                       f"name your stack's with --metrics ({', '.join(MAPPINGS)})")
    return mapping


def _build(sla: SlaSpec, mapping: MetricsMapping, options: AlertOptions, inline: bool = False) -> RuleSet:
    try:
        return build_rules(sla, mapping, options, inline)
    except ValueError as exc:  # a user's mapping whose label matchers no example value satisfies
        raise SlaError(f"cannot write the promtool cases of the {mapping.name} metrics: {exc}") from None


def _check_phase(sla: SlaSpec, options: AlertOptions) -> None:
    phases = sorted({o.phase for o in sla.objectives if o.phase is not None})
    if options.phase is not None and options.phase not in phases:
        raise SlaError(f"--phase {options.phase!r}: the SLA file {sla.path} has no such phase; its phases: {', '.join(phases) or 'none'}")


def _generate(rules: RuleSet, out_dir: Path, out: TextIO) -> bool:
    """Write the rules, their promtool cases and the dashboard; run promtool. False: promtool failed."""
    stem = rules.sla.name
    written = write_rules(rules, out_dir, stem)
    board = dashboard_json(rules)
    problems = validate(board)
    if problems:
        raise SlaError(f"the generated dashboard does not read back in grafana-foundation-sdk: {'; '.join(problems)}")
    board_path = out_dir / f"{stem}.dashboard.json"
    board_path.write_text(json.dumps(board, indent=2) + "\n")
    o = rules.options
    print(f"{len(rules.records)} recording rules and {len(rules.alerts)} alerts for job {o.job} ({rules.mapping.name} metrics; "
          f"window {prom_duration(o.window_s)}, for {prom_duration(o.for_s)}"
          + (f", evaluated every {prom_duration(o.interval_s)}" if o.interval_s else "") + ")", file=out)
    for where, why in rules.skipped:
        print(f"  no production rule for {where}: {why}", file=out)
    print(f"rules: {written.rules}\npromtool cases: {', '.join(str(t) for t in written.tests)}\ndashboard: {board_path} "
          f"({len(board['panels'])} panels, read back by grafana-foundation-sdk)", file=out)
    if promtool_binary() is None:
        print("promtool is not installed: the rules were not checked (`make setup` installs it)", file=out)
        return True
    ok = True
    for command, passed, text in check_and_test(written):
        print(f"{command}: {'SUCCESS' if passed else 'FAILED'}", file=out)
        if not passed:
            print(text, file=out)
            ok = False
    return ok


def run_alerts(req: AlertsRequest, out: TextIO | None = None) -> int:
    out = out or sys.stdout
    if req.replay is not None:
        return _replay(req, req.replay, out)
    if req.sla is None:
        raise SlaError("name an SLA file (sla alerts SLA_FILE), or a run to replay the alerts on (--replay RUN_DIR)")
    api = req.target_api or DEFAULT_API
    mapping = _mapping(api, req.metrics)
    sla = load_sla(req.sla, None, "", api, mapping)
    _check_phase(sla, req.options)
    rules = _build(sla, mapping, req.options)
    return 0 if _generate(rules, req.out or Path("alerts"), out) else 3


def _replay(req: AlertsRequest, run_dir: Path, out: TextIO) -> int:
    from sla.rundir import read_manifest, run_prometheus

    manifest = read_manifest(run_dir)
    if req.target_api and req.target_api != manifest.target_api:
        raise SlaError(f"--target-api {req.target_api}: the run {run_dir} aimed at the {manifest.target_api} API; leave it out to replay")
    sla_path = req.sla or (Path(manifest.sla["path"]) if manifest.sla else None)
    if sla_path is None:
        raise SlaError(f"{run_dir}: the run names no SLA file; pass one (sla alerts SLA_FILE --replay RUN_DIR)")
    mapping = MAPPINGS[req.metrics] if req.metrics in MAPPINGS else metrics_of_run(manifest)
    if mapping is None:
        raise SlaError(f"{run_dir}: the run's {manifest.target_api} target had no server metrics, which the alerts read")
    if req.options.job != SERVER_JOB:
        print(f"replay: the run's Prometheus scraped the server as job {SERVER_JOB}, so the rules select that job", file=out)
    options = replace(req.options, job=SERVER_JOB)
    sla = load_sla(sla_path, None, "", manifest.target_api, mapping)
    _check_phase(sla, options)
    out_dir = req.out or run_dir / "alerts"
    rules = _build(sla, mapping, options)
    ok = _generate(rules, out_dir, out)
    step = options.interval_s or DEFAULT_REPLAY_STEP_S
    own = manifest.sla and manifest.sla.get("sha256") == sla.sha256  # the run was judged against this very SLA
    gate = _gate_verdicts(run_dir) if own else {}
    began = time.monotonic()
    with ExitStack() as stack:
        reader, manifest = run_prometheus(run_dir, manifest, req.prometheus, stack)
        if not own:  # another SLA: the gate column is this SLA's verdict on the run, judged now
            analysis = Analyzer(reader, manifest, None, load_hdr(run_dir)).run(sla)
            gate = {r.id: r.verdict for r in analysis.results}
        print(f"replaying {len(rules.alerts)} alerts over the run ({manifest.ended_at - manifest.started_at:.0f} s), "
              f"evaluated every {prom_duration(step)} ...", file=out)
        rows = replay(_build(sla, mapping, options, inline=True), reader, manifest, step, gate)
    took = time.monotonic() - began
    table = replay_table(rows)
    print(table, file=out)
    print(f"replay took {took:.1f} s (Prometheus on the kept data included)", file=out)
    write_json(out_dir / "replay.json", {"run_id": manifest.run_id, "sla": str(sla.path), "step_s": step, "took_s": round(took, 3),
                                          "window_s": options.window_s, "for_s": options.for_s,
                                          "alerts": [r.to_json(manifest.started_at) for r in rows]})
    (out_dir / "replay.md").write_text(f"# Alerts of {sla.name} replayed on run {manifest.run_id}\n\n{table}\n")
    print(f"replay: {out_dir / 'replay.json'}, {out_dir / 'replay.md'}", file=out)
    return 0 if ok else 3


def _gate_verdicts(run_dir: Path) -> dict[str, str]:
    try:
        doc = json.loads((run_dir / "result.json").read_text())
    except (OSError, ValueError):
        return {}
    return {o["id"]: o["verdict"] for o in doc.get("objectives", []) if "id" in o and "verdict" in o}
