"""What-if: the highest arrival rate at which a server meets a latency percentile, from the service
times it was measured with (pure; no clock, no network).

The server is modelled as FIFO with `workers` parallel workers and Poisson arrivals (or evenly
spaced ones, as an `arrival_rate` phase sends by default), and simulated: service times are drawn from the measured distribution, and a
request's latency is its wait for a worker, its service time and the time spent outside the
server (network, HTTP, the client). The simulation is seeded, so a figure is repeatable.
"""

from __future__ import annotations

import heapq
import math
import random
from collections.abc import Sequence

from sla.analysis.stats import Buckets

SIMULATED = 20_000  # arrivals per simulated rate (the first tenth is left out: the queue filling)
SEED = 1


def samples_from(buckets: Buckets, mean: float | None = None, n: int = 2000, seed: int = SEED) -> list[float]:
    """`n` values spread through a histogram as its counts say (uniform inside each bucket; the
    +Inf bucket at its lower bound), scaled to `mean` when given."""
    rng = random.Random(seed)
    edges, weights = [], []
    lower, before = 0.0, 0.0
    for bound, count in zip(buckets.bounds, buckets.counts):
        if count > before:
            edges.append((lower, bound if math.isfinite(bound) else lower))
            weights.append(count - before)
        lower, before = (bound if math.isfinite(bound) else lower), count
    if not edges:
        return []
    values = [rng.uniform(lo, hi) for lo, hi in rng.choices(edges, weights, k=n)]
    got = sum(values) / len(values)
    if mean is not None and got > 0:
        values = [v * mean / got for v in values]
    return values


def simulated_percentile(rate: float, service: Sequence[float], workers: int, percentile: float, outside: float = 0.0,
                         poisson: bool = True, n: int = SIMULATED, seed: int = SEED) -> float:
    """The `percentile` (0-100) of latency at `rate` arrivals/s: wait + service + outside."""
    rng = random.Random(seed)
    free = [0.0] * max(workers, 1)
    t, latencies = 0.0, []
    for _ in range(n):
        t += rng.expovariate(rate) if poisson else 1.0 / rate
        start = max(t, heapq.heappop(free))
        end = start + service[rng.randrange(len(service))]
        heapq.heappush(free, end)
        latencies.append(end - t + outside)
    kept = sorted(latencies[n // 10:])
    return kept[min(len(kept) - 1, int(math.ceil(percentile / 100 * len(kept))) - 1)]


def highest_rate(service: Sequence[float], workers: int, percentile: float, limit: float, outside: float = 0.0,
                 resolution: float = 0.02) -> float | None:
    """The highest Poisson arrival rate whose simulated `percentile` stays at or under `limit`
    (bisection to `resolution` of the rate), or None when even a trickle of load misses it."""
    if not service:
        return None
    mean = sum(service) / len(service)
    capacity = max(workers, 1) / mean
    low, high = capacity * 0.01, capacity * 0.999
    if simulated_percentile(low, service, workers, percentile, outside) > limit:
        return None
    if simulated_percentile(high, service, workers, percentile, outside) <= limit:
        return high
    while (high - low) / high > resolution:
        mid = (low + high) / 2
        if simulated_percentile(mid, service, workers, percentile, outside) <= limit:
            low = mid
        else:
            high = mid
    return low
