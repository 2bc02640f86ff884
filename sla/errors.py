"""User-facing errors of the harness. Only the CLI turns them into exit codes."""

from __future__ import annotations


class SlaError(Exception):
    """Something the user can fix: a bad file or value, a part that did not start."""

    exit_code = 3
