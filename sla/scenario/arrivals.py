"""Arrival schedules of `arrival_rate` phases (pure): when each request is meant to be sent.

A rate that ramps linearly from `a` to `b` over `D` seconds has the cumulative count
Lambda(t) = a t + (b - a) t^2 / (2 D). Arrival k is sent at Lambda^-1(x_k), where x_k = k for evenly
spaced arrivals and x_k = E_1 + ... + E_k (E_i ~ Exp(1), from the phase's seed) for Poisson
arrivals (time rescaling of a non-homogeneous Poisson process). Worker w of N takes arrivals
k = w, w + N, w + 2N, ...: together the workers send the whole schedule once.
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterator


def cumulative(rate: float, to_rate: float, duration: float, t: float) -> float:
    """Lambda(t): arrivals expected in [0, t)."""
    return rate * t + (to_rate - rate) * t * t / (2.0 * duration)


def inverse(rate: float, to_rate: float, duration: float, x: float) -> float:
    """The t with Lambda(t) = x (t >= 0)."""
    slope = (to_rate - rate) / duration
    if abs(slope) < 1e-12:
        return x / rate
    # slope/2 t^2 + rate t - x = 0
    disc = rate * rate + 2.0 * slope * x
    if disc < 0:
        return math.inf
    return (-rate + math.sqrt(disc)) / slope


def planned_count(rate: float, to_rate: float, duration: float) -> int:
    return int(math.floor(cumulative(rate, to_rate, duration, duration) + 1e-9))


def offsets(
    rate: float, to_rate: float, duration: float, poisson: bool = False, seed: int = 0, worker: int = 0, workers: int = 1
) -> Iterator[float]:
    """Intended send times (seconds after the phase start) of this worker's share of arrivals."""
    rng = random.Random(seed)
    x = 0.0
    k = 0
    while True:
        if poisson:
            x += rng.expovariate(1.0)
        t = inverse(rate, to_rate, duration, x if poisson else float(k))
        if not t < duration:
            return
        if k % workers == worker:
            yield t
        k += 1
