"""The gate's use of a history store: the comparable runs a run is judged against, then the run
appended once its reports are written (`sla run --history URL`, `sla check --history URL`)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from sla.history.store import Comparable, HistoryStore


@dataclass
class History:
    store: HistoryStore
    any_environment: bool = False  # compare with runs of any environment fingerprint

    @classmethod
    def open(cls, url: str | None, any_environment: bool = False) -> "History | None":
        """The store at `url`, checked before any traffic (HistoryError: nothing was written)."""
        return cls(HistoryStore(url).open(), any_environment) if url else None

    def comparable(self, manifest: dict[str, Any], runs: int) -> Comparable:
        return self.store.comparable(manifest, runs, self.any_environment) if runs else Comparable((), "")

    def record(self, result_path: Path, manifest: dict[str, Any], hdr: dict[str, Any], report: Path, out: TextIO) -> None:
        pk = self.store.append(json.loads(result_path.read_text()), manifest, hdr, report)
        if pk is None:
            print(f"history: run {manifest['run_id']} is already in {self.store.url}; left as it was", file=out)
        else:
            print(f"history: run {manifest['run_id']} stored in {self.store.url}", file=out)
