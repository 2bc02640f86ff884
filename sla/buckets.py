"""Histogram bucket boundaries shared by the server and the load generator: both
expose `le` labels from this one layout, so their percentiles can be compared bucket for bucket.

`histogram_quantile` can be off by a whole bucket width, so buckets are narrow: each boundary is
about 10 % above the previous one, from 1 ms to 60 s, rounded to 3 significant digits so the
`le` labels stay readable. Every SLA threshold is added as a boundary of its own, so that
"P99 <= T" can be read exactly from the bucket at T.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

LOWEST_S = 0.001
HIGHEST_S = 60.0
STEP = 1.1


def _round_sig(value: float, digits: int = 3) -> float:
    return round(value, digits - 1 - int(math.floor(math.log10(abs(value)))))


def latency_buckets(extra: Iterable[float] = ()) -> tuple[float, ...]:
    """Boundaries in seconds, ascending, without +Inf (the client adds it)."""
    bounds = set()
    value = LOWEST_S
    while value < HIGHEST_S * STEP:
        bounds.add(_round_sig(min(value, HIGHEST_S)))
        value *= STEP
    for e in extra:
        if not (e > 0 and math.isfinite(e)):
            raise ValueError(f"bucket boundary {e!r} must be a positive number of seconds")
        bounds.add(float(e))
    return tuple(sorted(bounds))
