"""How much a run changed against the runs before it, with the noise of both (pure).

One run of a new release is compared with the last N comparable runs. Two kinds of noise make the
comparison uncertain, and the interval carries both:
- between runs: the same build measures 10-30 % apart from run to run on a noisy machine. Its size
  is read from the baseline runs themselves, robustly (the median absolute deviation of their log
  values, so that one odd run, or the first run of a regression, does not widen it), and it applies
  twice: to this run, which is one draw, and to the baseline's median, estimated from N draws;
- within this run: its percentile is an estimate from a finite sample, whose order-statistic
  interval comes from its own histogram.
The change is judged on the log scale (a ratio), with Student's t for the N runs. FAIL only when the
whole interval is beyond the allowed change, PASS when it lies within, INCONCLUSIVE when it straddles.
"""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass
from typing import Callable

CONFIDENCE = 0.95
MAD_TO_SIGMA = 1.4826  # the MAD of a normal distribution is 0.6745 sigma


@dataclass(frozen=True)
class Change:
    estimate: float  # this run / baseline median - 1
    low: float  # the interval of that change
    high: float
    baseline: float  # the baseline runs' median value
    runs: int
    between_runs: float  # the runs' spread (sigma of log values)

    def describe(self, what: str) -> str:
        return (f"{what} {self.estimate * 100:+.0f} % ({CONFIDENCE * 100:g} % CI {self.low * 100:+.0f} % … {self.high * 100:+.0f} %) "
                f"over the last {self.runs} runs")


def t_quantile(p: float, dof: int) -> float:
    from scipy.stats import t

    return float(t.ppf(p, dof))


def sampling_sigma(value_at: Callable[[float], float | None], count: float, q: float) -> float:
    """The sampling error (sigma, on the log scale) of a run's q-quantile from `count` observations:
    the values at the ranks of the order statistic's 95 % interval, from `value_at(quantile)`."""
    if count <= 0 or not 0 < q < 1:
        return 0.0
    z = 1.959964
    spread = z * math.sqrt(count * q * (1 - q))
    low, high = value_at(max(0.0, (count * q - spread) / count)), value_at(min(1.0, (count * q + spread) / count))
    if not low or not high or low <= 0 or high <= 0:
        return 0.0
    return (math.log(high) - math.log(low)) / (2 * z)


def change_against(value: float, baseline: list[float], within: float = 0.0) -> Change | None:
    """This run's `value` against the `baseline` runs' values (at least 2, all positive), with this
    run's own sampling error `within` (sigma on the log scale). None when it cannot be computed."""
    logs = [math.log(v) for v in baseline if v and v > 0]
    if len(logs) < 2 or not value or value <= 0:
        return None
    n = len(logs)
    centre = statistics.median(logs)
    between = MAD_TO_SIGMA * statistics.median(abs(x - centre) for x in logs)
    between = max(between, within)  # one run scatters at least as much as its own sampling error
    # this run is one draw (between^2 + within^2); the median of n draws has variance ~ pi/2 * between^2 / n
    se = math.sqrt(within ** 2 + between ** 2 * (1 + math.pi / (2 * n)))
    delta = math.log(value) - centre
    half = t_quantile(0.5 + CONFIDENCE / 2, n - 1) * se
    return Change(math.exp(delta) - 1, math.exp(delta - half) - 1, math.exp(delta + half) - 1, math.exp(centre), n, between)


def judge_change(change: Change, allowed: float, direction: str) -> str:
    """PASS, FAIL or INCONCLUSIVE for a change allowed up to +allowed (direction max: a latency may
    grow that much) or down to -allowed (direction min: a throughput may drop that much)."""
    if direction == "max":
        return "FAIL" if change.low > allowed else "PASS" if change.high <= allowed else "INCONCLUSIVE"
    return "FAIL" if change.high < -allowed else "PASS" if change.low >= -allowed else "INCONCLUSIVE"
