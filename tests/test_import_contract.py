"""The import contract of `sla/`: no circle between its modules, and the arrows between its layers
run one way. Read from the source (ast). Circles: every import at a module's top level, including
those under `if TYPE_CHECKING:` (a type is a dependency too); an import inside a function is
deferred on purpose (the objective registry, a verb's command) and left out. Layers: every import,
deferred ones too."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SLA = ROOT / "sla"
# (importer prefix, imported prefix): a module under the first never imports one under the second.
FORBIDDEN = [
    ("sla.objectives", "sla.alerts"), ("sla.objectives", "sla.gate"), ("sla.objectives", "sla.analysis.analyzer"),
    ("sla.objectives", "sla.reports"), ("sla.objectives", "sla.html"),
    ("sla.analysis", "sla.alerts"), ("sla.analysis", "sla.gate"), ("sla.analysis", "sla.reports"), ("sla.analysis", "sla.html"),
    ("sla.targets", "sla.analysis"), ("sla.targets", "sla.objectives"), ("sla.targets", "sla.alerts"), ("sla.targets", "sla.gate"),
    ("sla.alerts", "sla.gate"), ("sla.explain", "sla.gate"), ("sla.rundir", "sla.gate"), ("sla.service", "sla.gate"), ("sla.supervise", "sla.gate"), ("sla.history", "sla.gate"), ("sla.inputs", "sla.gate"), ("sla.loadgen", "sla.gate"), ("sla.loadgen", "sla.analysis.analyzer"),
]


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports(path: Path, deferred: bool = False) -> set[str]:
    """Modules imported at the top level (or under `if TYPE_CHECKING:`); with `deferred`, anywhere."""
    tree = ast.parse(path.read_text())
    body = list(ast.walk(tree)) if deferred else list(tree.body)
    for node in [] if deferred else tree.body:
        if isinstance(node, ast.If):  # if TYPE_CHECKING: ...
            body.extend(node.body)
    found = set()
    for node in body:
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found |= {f"{node.module}.{a.name}" for a in node.names}  # `from sla.analysis import promql`
    return found


def graph(deferred: bool = False) -> dict[str, set[str]]:
    modules = {module_name(p): p for p in SLA.rglob("*.py")}
    return {name: {m for m in imports(path, deferred) if m in modules and m != name} for name, path in modules.items()}


def circles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    out: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        for w in sorted(edges[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                out.append(sorted(component))

    for v in sorted(edges):
        if v not in index:
            visit(v)
    return out


def test_no_module_of_sla_imports_itself_in_a_circle():
    assert circles(graph()) == []


def test_the_layers_import_one_way():
    wrong = sorted(f"{a} imports {b}" for a, targets in graph(deferred=True).items() for b in targets
                   for low, high in FORBIDDEN if (a == low or a.startswith(low + ".")) and (b == high or b.startswith(high + ".")))
    assert wrong == []


def test_the_check_finds_a_circle_when_there_is_one():
    assert circles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
