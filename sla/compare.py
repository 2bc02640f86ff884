"""`sla compare`: the same scenario once per server configuration, side by side.

`--vary threads=1,2 --vary onednn=on,off` runs the scenario for every combination, each an
`sla run` (the one orchestration path) with a fresh reference server whose options are the
scenario's `target.server` overridden by the combination. The table gives, for the judged phase,
P50, P99, throughput, error rate and accuracy (exact lines, CER: where the payloads say what they
read), plus time to ready, first request and the verdict; the best
configuration that meets the SLA (highest throughput, then lowest P99) is marked.
"""

from __future__ import annotations

import itertools
import math
import sys
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, TextIO

import yaml

from sla.tables import markdown_table, ms
from sla.analysis.verdict import PASS
from sla.errors import SlaError
from sla.gate import RunOptions, run_gate_once_more_on_failure
from sla.inputs import load_inputs
from sla.html.pages import write_compare_page
from sla.progress import SeriesProgress
from sla.manifest import json_value, new_run_id, write_json
from sla.scenario.target import SERVER_KEYS, server_value
from sla.units import show


@dataclass
class Row:
    config: dict[str, Any]
    verdict: str
    p50: float | None
    p99: float | None
    throughput: float | None
    error_rate: float | None
    time_to_ready: float | None
    first_request: float | None
    run_dir: str
    exact_lines: float | None = None  # accuracy of the judged phase's scored answers
    cer: float | None = None
    best: bool = False
    note: str = ""  # e.g. run again after a failure to run

    @property
    def label(self) -> str:
        return " ".join(f"{k}={_show(v)}" for k, v in self.config.items())


def mark_best(rows: list[Row]) -> Row | None:
    """The best configuration: of those that PASS, the highest throughput, then the lowest P99."""
    passing = [r for r in rows if r.verdict == PASS]
    if not passing:
        return None
    best = max(passing, key=lambda r: (r.throughput or 0.0, -(r.p99 if r.p99 is not None else math.inf)))
    best.best = True
    return best


def _show(value: Any) -> str:
    return ("on" if value else "off") if isinstance(value, bool) else str(value)


def parse_vary(items: list[str]) -> dict[str, list[Any]]:
    """`["threads=1,2", "onednn=on,off"]` -> {"threads": [1, 2], "onednn": [True, False]}; errors say what is accepted."""
    out: dict[str, list[Any]] = {}
    for item in items:
        key, sep, values = item.partition("=")
        key = key.strip().replace("-", "_")
        if not sep or not values.strip():
            raise SlaError(f"--vary {item!r}: write OPTION=V1,V2 such as threads=1,2")
        if key not in SERVER_KEYS:
            raise SlaError(f"--vary {item!r}: {key!r} is not a server option; accepted: {', '.join(SERVER_KEYS)}")
        convert = server_value(key)
        parsed = []
        for raw in values.split(","):
            try:
                parsed.append(convert(yaml.safe_load(raw.strip())))
            except (ValueError, TypeError) as exc:
                raise SlaError(f"--vary {item!r}: value {raw!r}: {exc}") from None
        out[key] = parsed
    if not out:
        raise SlaError("give at least one --vary OPTION=V1,V2")
    return out


def judged_phase(sla_phases: list[str], scenario_phases: list[str]) -> str:
    """The phase the table reports: the first the SLA judges, else the scenario's last."""
    return next((p for p in sla_phases if p in scenario_phases), scenario_phases[-1])


def run_compare(scenario_path: Path, sla_path: Path | None, vary: list[str], out_dir: Path,
                prometheus: str | None = None, out: TextIO | None = None) -> int:
    out = out or sys.stdout
    inputs = load_inputs(scenario_path, sla_path)
    scenario, sla = inputs
    if scenario.target.command or scenario.target.api_name != "reference":
        raise SlaError(f"{scenario_path}: sla compare varies the reference server's options; this scenario's target is "
                       f"{scenario.target.started_by_gate} with api {scenario.target.api_name}: write one scenario per configuration and compare their result.json")
    grid = parse_vary(vary)
    phase = judged_phase([o.phase for o in sla.objectives if o.phase], [p.name for p in scenario.phases])
    directory = out_dir / new_run_id(f"compare-{scenario.name}")
    rows: list[Row] = []
    combos = [dict(zip(grid, values)) for values in itertools.product(*grid.values())]
    progress = SeriesProgress("configuration", out)
    for i, config in enumerate(combos, 1):
        label = "-".join(f"{k}{_show(v)}" for k, v in config.items())
        progress.begin(i, len(combos), label)
        outcome, note = run_gate_once_more_on_failure(RunOptions(scenario=scenario_path, sla=sla.path, prometheus=prometheus,
                                                                 out=directory / "runs", run_id=label, server_options=config,
                                                                 inputs=inputs), out)
        progress.end()
        s = outcome.analysis.phases.get(phase)
        cold = outcome.analysis.cold_start
        accuracy = (s.accuracy if s else None) or {}
        p50, p99, throughput, error_rate = (s.p50, s.p99, s.throughput, s.error_rate) if s else (None, None, None, None)
        rows.append(Row(config, outcome.analysis.verdict, p50, p99, throughput, error_rate,
                        cold.get("time_to_ready"), cold.get("first_request"), str(outcome.run_dir.resolve()),
                        accuracy.get("exact_lines"), accuracy.get("cer"), note=note))
    best = mark_best(rows)
    md = directory / "compare.md"
    md.write_text(markdown(rows, phase, scenario.name, sla.path))
    write_json(directory / "compare.json", {"phase": phase, "rows": json_value([asdict(r) for r in rows])})
    page = write_compare_page(directory, rows, phase, scenario.name, sla.path)
    print("\n" + md.read_text(), file=out)
    print(f"comparison: {page}, {md}, {directory / 'compare.json'}", file=out)
    if best is not None:
        return 0
    return 1 if any(r.verdict == "FAIL" for r in rows) else 2


def markdown(rows: list[Row], phase: str, scenario: str, sla_file: Path) -> str:
    lines = [f"## Configurations compared: scenario `{scenario}`, phase `{phase}`, SLA `{sla_file}`", "", *markdown_table(
        ("Configuration", "P50", "P99", "Throughput", "Error rate", "Exact lines", "CER", "Time to ready", "First request", "Verdict"),
        ((f"`{r.label}`" + (" ⭐ best" if r.best else ""), ms(r.p50), ms(r.p99), f"{r.throughput or 0:.2f}/s", f"{(r.error_rate or 0) * 100:.2f}%",
          show(r.exact_lines, "fraction"), show(r.cer, "fraction"), ms(r.time_to_ready), ms(r.first_request),
          f"**{r.verdict}**" + (f" ({r.note})" if r.note else "")) for r in rows))]
    if not any(r.best for r in rows):
        lines += ["", "No configuration met the SLA."]
    return "\n".join(lines) + "\n"
