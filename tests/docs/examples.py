"""The YAML examples of README.md and docs/: each fenced ```yaml block, with the marker comment
that must stand on the line before it and says what the block is and how it is checked:

- `<!-- example: scenario -->`: a whole scenario file, loaded by the harness's loader;
- `<!-- example: scenario part -->`: top-level keys of one (target, payloads, ...), put into
  scenarios/smoke.yaml's in their place, then loaded;
- `<!-- example: sla -->`: a whole SLA file; `<!-- example: sla part -->`: one without its name;
- `<!-- example: refused scenario: MESSAGE -->` (or `refused sla`, `refused scenario part`, ...):
  the loader must refuse it with a message holding MESSAGE;
- `<!-- example: rules: SLA_FILE [OPTIONS] -->`: rules quoted from what `sla alerts SLA_FILE
  [OPTIONS]` writes: each
  quoted rule must be there, as quoted (a value cut with `...` as far as it goes);
- `<!-- example: yaml -->`: YAML of another tool (a CI workflow): it must parse.

Paths relative to the file (your own images: `images/*.png`, `images.jsonl`) resolve in a folder
that holds `images/page.png` and a manifest naming it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
MARKER = re.compile(r"^<!-- example: (?P<what>[^:]+?)(?:: (?P<message>.+?))? -->$")
KINDS = ("scenario", "scenario part", "sla", "sla part", "rules", "yaml")


@dataclass(frozen=True)
class Example:
    path: Path
    line: int  # of the fence, 1-based
    marker: str | None  # the marker's `what` (None: no marker)
    message: str | None  # for a refusal: what the refusal must say
    text: str

    @property
    def where(self) -> str:
        return f"{self.path.relative_to(ROOT) if self.path.is_relative_to(ROOT) else self.path}:{self.line}"

    @property
    def refused(self) -> bool:
        return bool(self.marker and self.marker.startswith("refused "))

    @property
    def kind(self) -> str | None:
        return self.marker.removeprefix("refused ") if self.marker else None


def pages(root: Path = ROOT) -> list[Path]:
    return [root / "README.md", *sorted((root / "docs").glob("*.md"))]


def examples(path: Path) -> list[Example]:
    lines, out, i = path.read_text().splitlines(), [], 0
    while i < len(lines):
        fence = lines[i]
        if not fence.startswith("```"):
            i += 1
            continue
        end = next((j for j in range(i + 1, len(lines)) if lines[j].startswith("```")), len(lines))
        if fence.strip() == "```yaml":
            m = MARKER.match(lines[i - 1].strip()) if i else None
            out.append(Example(path, i + 1, m["what"] if m else None, m["message"] if m else None, "\n".join(lines[i + 1:end]) + "\n"))
        i = end + 1
    return out


def check(example: Example, tmp: Path) -> None:
    """Load the example as its marker says; AssertionError naming its file and line when it is
    not marked, not accepted, or (marked refused) not refused with the docs' message."""
    from sla.errors import SlaError

    assert example.kind in KINDS, f"{example.where}: a ```yaml block needs a marker on the line before it: <!-- example: {' | '.join(KINDS)} -->"
    try:
        _load(example, tmp)
    except (SlaError, yaml.YAMLError) as exc:
        assert example.refused, f"{example.where}: the {example.kind} example is refused: {exc}"
        assert example.message and example.message in str(exc), f"{example.where}: refused, but not with {example.message!r}: {exc}"
        return
    assert not example.refused, f"{example.where}: marked refused ({example.message!r}), but the {example.kind} example loads"


def _load(example: Example, tmp: Path) -> None:
    from sla.scenario import load_scenario
    from sla.slafile import load_sla

    doc = yaml.safe_load(example.text)
    if example.kind == "yaml":
        return
    if example.kind == "rules":
        return _quoted_rules(example, doc, tmp)
    assert isinstance(doc, dict), f"{example.where}: not a mapping"
    if example.kind == "scenario part":
        doc = {**yaml.safe_load((ROOT / "scenarios" / "smoke.yaml").read_text()), **doc}
    elif example.kind == "sla part":
        doc = {"name": "example", **doc}
    _own_images(tmp)
    path = tmp / "example.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    (load_scenario if example.kind.startswith("scenario") else load_sla)(path)


def _own_images(folder: Path) -> None:
    from sla.payloads import make_payload

    (folder / "images").mkdir(exist_ok=True)
    (folder / "images" / "page.png").write_bytes(make_payload("small-plain-png").data)
    (folder / "images.jsonl").write_text('{"path": "images/page.png", "name": "page", "expected_text": ["A LINE"]}\n')


def _quoted_rules(example: Example, quoted: list, tmp: Path) -> None:
    import subprocess
    import sys

    args = (example.message or "").split()
    sla = ROOT / args[0]
    done = subprocess.run([str(Path(sys.executable).parent / "sla"), "alerts", *args, "-o", str(tmp)], cwd=ROOT,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    written = {r.get("alert") or r.get("record"): r for g in yaml.safe_load((tmp / f"{sla.stem}.rules.yml").read_text())["groups"]
               for r in g["rules"]}
    for rule in quoted:
        name = rule.get("alert") or rule.get("record")
        assert name in written, f"{example.where}: `sla alerts {example.message}` writes no rule {name}"
        _same(example, name, rule, written[name])


def _same(example: Example, where: str, quoted, written) -> None:
    if isinstance(quoted, dict):
        for key, value in quoted.items():
            assert isinstance(written, dict) and key in written, f"{example.where}: {where}: no {key} in what `sla alerts` writes"
            _same(example, f"{where}.{key}", value, written[key])
        return
    shown, actual = " ".join(str(quoted).split()), " ".join(str(written).split())
    cut = shown.split("(...")[0].split("...")[0].rstrip()
    assert (actual.startswith(cut) if cut != shown else actual == shown), f"{example.where}: {where}: the docs show {shown!r}, `sla alerts` writes {actual!r}"
