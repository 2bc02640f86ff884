"""Strict reading of YAML files: every problem at once, each with file, key path, value, and what
is accepted (k6's habit: decode strictly, report everything, then fail).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from sla.errors import SlaError

MISSING = object()


class FileProblems(SlaError):
    """One or more problems in one input file."""

    def __init__(self, path: Path | str, problems: list[str]) -> None:
        self.path = str(path)
        self.problems = problems
        lines = "\n".join(f"  - {p}" for p in problems)
        super().__init__(f"{self.path}: {len(problems)} problem(s):\n{lines}")


@dataclass
class Reader:
    """Collects problems while reading a parsed YAML document."""

    path: Path
    problems: list[str] = field(default_factory=list)

    def problem(self, key_path: str, message: str) -> None:
        self.problems.append(f"{key_path}: {message}" if key_path else message)

    def mapping(self, value: Any, key_path: str, allowed: Mapping[str, str]) -> dict[str, Any]:
        """A mapping whose keys must be among `allowed` (key -> short description)."""
        if not isinstance(value, dict):
            self.problem(key_path, f"expected a mapping with keys {', '.join(allowed)}; got {_show(value)}")
            return {}
        for key in value:
            if key not in allowed:
                self.problem(_join(key_path, str(key)), f"unknown key; accepted keys here: {', '.join(allowed)}")
        return value

    def get(
        self,
        doc: Mapping[str, Any],
        key_path: str,
        key: str,
        convert: Callable[[Any], Any],
        expected: str,
        default: Any = MISSING,
    ) -> Any:
        """`doc[key]` converted; a missing required key or a failed conversion is a problem (returns None)."""
        path = _join(key_path, key)
        if key not in doc or doc[key] is None:
            if default is MISSING:
                self.problem(path, f"missing; expected {expected}")
                return None
            return default
        try:
            return convert(doc[key])
        except (ValueError, TypeError) as exc:
            detail = str(exc) if str(exc) else f"got {_show(doc[key])}"
            self.problem(path, f"{detail}; expected {expected}")
            return None

    def raise_if_any(self) -> None:
        if self.problems:
            raise FileProblems(self.path, self.problems)


def load_yaml(path: Path | str, what: str) -> Any:
    """Parse a YAML file; a missing, unreadable, empty or non-YAML file is a FileProblems."""
    p = Path(path)
    try:
        text = p.read_bytes().decode("utf-8")
    except OSError as exc:
        raise FileProblems(p, [f"cannot read the {what} file: {exc.strerror or exc}"]) from None
    except UnicodeDecodeError as exc:
        raise FileProblems(p, [f"not a text file (byte {exc.start} is not UTF-8); expected a {what} in YAML"]) from None
    try:
        doc = yaml.safe_load(text)
    except (yaml.YAMLError, ValueError, RecursionError) as exc:
        raise FileProblems(p, [f"not valid YAML: {str(exc)[:300]}"]) from None
    if doc is None:
        raise FileProblems(p, [f"the file is empty; expected a {what} (docs/scenarios.md and docs/sla-files.md give the formats)"])
    return doc


def _join(key_path: str, key: str) -> str:
    return f"{key_path}.{key}" if key_path else key


def _show(value: Any) -> str:
    return f"{type(value).__name__} {value!r}" if not isinstance(value, (dict, list)) else type(value).__name__


def positive(convert: Callable[[Any], float]) -> Callable[[Any], float]:
    def check(value: Any) -> float:
        number = convert(value)
        if not number > 0:
            raise ValueError(f"{value!r} must be positive")
        return number

    return check


def non_negative(convert: Callable[[Any], float]) -> Callable[[Any], float]:
    def check(value: Any) -> float:
        number = convert(value)
        if number < 0:
            raise ValueError(f"{value!r} must not be negative")
        return number

    return check


def integer(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"got {_show(value)}, not a whole number")
    return value


NAME_RULE = "letters, digits, '.', '_' and '-', starting with a letter or digit, at most 64 characters"
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


def is_safe_name(value: Any) -> bool:
    return isinstance(value, str) and bool(_NAME.match(value))


def safe_name(value: Any) -> str:
    """A name that reaches PromQL, file paths or HTML: scenario, phase, run and request names."""
    if not is_safe_name(value):
        raise ValueError(f"{value!r} is not a safe name ({NAME_RULE})")
    return value


def at_most(limit: float, what: str, convert: Callable[[Any], float]) -> Callable[[Any], float]:
    def check(value: Any) -> float:
        number = convert(value)
        if number > limit:
            raise ValueError(f"{value!r} is over the most this harness plans ({what})")
        return number

    return check


def text(value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"got {_show(value)}, not a non-empty string")
    return value


def one_of(options: tuple[str, ...]) -> Callable[[Any], str]:
    def convert(value: Any) -> str:
        if value not in options:
            raise ValueError(f"got {value!r}")
        return value

    return convert
