"""Quantities as people write them: `150ms`, `1.5s`, `2m`, `0.1%`, `120/s`.

Grammar (whitespace allowed between number and unit):
    duration := NUMBER ("ms" | "s" | "m" | "h")   -> seconds; a bare number is seconds
    percent  := NUMBER "%"                         -> fraction (0.1% -> 0.001)
    rate     := NUMBER ("/s" | "/m")               -> per second
"""

from __future__ import annotations

import math
import re

_NUMBER = r"([-+]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+))"
_DURATION = re.compile(rf"^{_NUMBER}\s*(ms|s|m|h)$")
_PERCENT = re.compile(rf"^{_NUMBER}\s*%$")
_RATE = re.compile(rf"^{_NUMBER}\s*/\s*(s|m)$")
_DURATION_SCALE = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}


def _number(value: object) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)) and math.isfinite(value):
        return float(value)
    return None


def parse_duration(value: object) -> float:
    """Seconds from `150ms`, `1.5s`, `2m`, `1h` or a bare number of seconds. Raises ValueError."""
    number = _number(value)
    if number is not None:
        return number
    match = _DURATION.match(str(value).strip()) if isinstance(value, str) else None
    if not match:
        raise ValueError(f"{value!r} is not a duration; write it like 150ms, 1.5s, 2m or 1h")
    return float(match.group(1)) * _DURATION_SCALE[match.group(2)]


def parse_percent(value: object) -> float:
    """A fraction from `0.1%` (-> 0.001). Raises ValueError."""
    match = _PERCENT.match(value.strip()) if isinstance(value, str) else None
    if not match:
        raise ValueError(f"{value!r} is not a percentage; write it like 0.1% or 5%")
    return float(match.group(1)) / 100.0


def parse_rate(value: object) -> float:
    """Per second from `120/s` or `600/m`; a bare number is per second. Raises ValueError."""
    number = _number(value)
    if number is not None:
        return number
    match = _RATE.match(value.strip()) if isinstance(value, str) else None
    if not match:
        raise ValueError(f"{value!r} is not a rate; write it like 120/s or 600/m")
    return float(match.group(1)) / (60.0 if match.group(2) == "m" else 1.0)


def format_duration(seconds: float) -> str:
    if seconds < 1:
        return f"{seconds * 1e3:.4g}ms"
    if seconds < 120:
        return f"{seconds:.4g}s"
    return f"{seconds / 60:.4g}m"


def show(value: float | None, unit: str) -> str:
    """A measured value in its unit (s, /s or fraction), as every report shows it."""
    if value is None:
        return "-"
    if unit == "s":
        return format_duration(value)
    if unit == "/s":
        return f"{value:.2f}/s"
    return f"{value * 100:.3g}%"
