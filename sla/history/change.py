"""How much a run changed against the runs before it, beyond the noise between runs (pure).

One run of a new release is compared with the last N comparable runs. The same build measures
10-30 % apart from run to run on a noisy machine, so a one-to-one comparison either cries wolf or
misses real regressions. Here the noise is read from the baseline runs themselves: the spread of
their log values, taken robustly (the median absolute deviation, so that one odd run, or the first
run of a regression, does not widen it). Each baseline run's value is a sampled percentile of as many
requests as this run's, so that spread holds this run's own sampling error too.

This run is one draw from its build's distribution, and the baseline's median is estimated from N
draws: the change, on the log scale, has the standard error spread * sqrt(1 + pi / 2N), and its
interval uses Student's t with N - 1 degrees of freedom. FAIL only when the whole interval is beyond
the allowed change, PASS when it lies within, INCONCLUSIVE when it straddles it.
"""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass

CONFIDENCE = 0.95
MAD_TO_SIGMA = 1.4826  # the MAD of a normal distribution is 0.6745 sigma
MIN_SPREAD = 0.005  # runs that measured the same (a quantised percentile) are still 0.5 % apart


@dataclass(frozen=True)
class Change:
    estimate: float  # this run / baseline median - 1
    low: float  # the interval of that change
    high: float
    baseline: float  # the baseline runs' median value
    runs: int
    between_runs: float  # the runs' spread (sigma of their log values)

    def describe(self, what: str) -> str:
        return (f"{what} {self.estimate * 100:+.0f} % ({CONFIDENCE * 100:g} % CI {self.low * 100:+.0f} % … {self.high * 100:+.0f} %) "
                f"over the last {self.runs} runs")


def t_quantile(p: float, dof: int) -> float:
    from scipy.stats import t

    return float(t.ppf(p, dof))


def change_against(value: float, baseline: list[float]) -> Change | None:
    """This run's `value` against the `baseline` runs' values (at least 2, all positive); None
    when it cannot be computed."""
    logs = [math.log(v) for v in baseline if v and v > 0]
    if len(logs) < 2 or not value or value <= 0:
        return None
    n = len(logs)
    centre = statistics.median(logs)
    spread = max(MIN_SPREAD, MAD_TO_SIGMA * statistics.median(abs(x - centre) for x in logs))
    delta = math.log(value) - centre
    half = t_quantile(0.5 + CONFIDENCE / 2, n - 1) * spread * math.sqrt(1 + math.pi / (2 * n))
    return Change(math.exp(delta) - 1, math.exp(delta - half) - 1, math.exp(delta + half) - 1, math.exp(centre), n, spread)


def judge_change(change: Change, allowed: float, direction: str) -> str:
    """PASS, FAIL or INCONCLUSIVE for a change allowed up to +allowed (direction max: a latency may
    grow that much) or down to -allowed (direction min: a throughput may drop that much)."""
    if direction == "max":
        return "FAIL" if change.low > allowed else "PASS" if change.high <= allowed else "INCONCLUSIVE"
    return "FAIL" if change.high < -allowed else "PASS" if change.low >= -allowed else "INCONCLUSIVE"
