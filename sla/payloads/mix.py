"""The scenario's payload mix: synthetic classes (`mix`), or the user's files (`files`/`manifest`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from sla.payloads.files import PayloadFile, load_files
from sla.payloads.model import Payload
from sla.payloads.synthetic import load_corpus


@dataclass(frozen=True)
class PayloadMix:
    mix: dict[str, float] = field(default_factory=dict)  # synthetic class -> weight
    variants: int = 4  # distinct images per synthetic class
    files: tuple[PayloadFile, ...] = ()  # the user's files

    def names(self) -> list[str]:
        """Request names, each once, in order (Locust's statistics and the metrics' `name` label)."""
        return list(dict.fromkeys([*self.mix, *(f.name for f in self.files)]))

    def checked_names(self) -> list[str]:
        """Request names whose payloads all say what they read (synthetic pages, manifest lines
        with expected_text): the answers to them can be scored."""
        unchecked = {f.name for f in self.files if f.expected_text is None}
        return [n for n in self.names() if n not in unchecked]

    def load(self, cache_dir: Path | None) -> tuple[list[Payload], list[float]]:
        """Every payload with its selection weight; the user's files are read here, once."""
        payloads: list[Payload] = []
        weights: list[float] = []
        for name, items in load_corpus(list(self.mix), self.variants, cache_dir).items():
            payloads += items
            weights += [self.mix[name] / len(items)] * len(items)
        payloads += load_files(self.files)
        weights += [f.weight for f in self.files]
        return payloads, weights
