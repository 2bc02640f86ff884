"""Tables as the reports print them: Markdown (report.md, capacity.md, compare.md, the replay) and
aligned terminal text (the summary `sla run` prints); and milliseconds as the tables show them."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence


def markdown_table(header: Sequence[str], rows: Iterable[Sequence[object]]) -> list[str]:
    """The lines of a Markdown table; a cell's `|` would end it, so it is written `/`."""
    def line(cells: Sequence[object]) -> str:
        return "| " + " | ".join(str(c).replace("|", "/") for c in cells) + " |"

    return [line(header), "|" + "---|" * len(header), *(line(r) for r in rows)]


def text_table(rows: Sequence[Sequence[str]], gap: str = "  ") -> list[str]:
    """Rows (the first is the header) in columns as wide as their widest cell."""
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return [gap.join(cell.ljust(w) for cell, w in zip(row, widths)) for row in rows]


def ms(v: float | None) -> str:
    """Seconds as milliseconds with one decimal, "-" when unknown."""
    return f"{v * 1e3:.1f} ms" if v is not None and math.isfinite(v) else "-"
