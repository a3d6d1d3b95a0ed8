"""The statistics reports use: Wilson intervals, percentiles, McNemar, paired bootstrap."""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from statistics import NormalDist, fmean

Z_95 = NormalDist().inv_cdf(0.975)


def wilson_interval(successes: int, n: int, *, z: float = Z_95) -> tuple[float, float]:
    """The Wilson score interval for a binomial proportion (95% by default).

    ``(c ± h) / (1 + z²/n)`` with ``c = p + z²/2n`` and ``h = z·√(p(1-p)/n + z²/4n²)``.
    Unlike the normal approximation it stays inside [0, 1] and behaves at 0/n and n/n.

    Args:
        successes: Successes, 0 to ``n``.
        n: Trials; with none the interval is the whole of [0, 1].
        z: The normal quantile of the confidence level.

    Examples:
        >>> [round(x, 3) for x in wilson_interval(8, 10)]
        [0.49, 0.943]
    """
    if n < 0 or not 0 <= successes <= max(n, 0):
        raise ValueError(f"need 0 <= successes <= n, got {successes}/{n}")
    if n == 0:
        return 0.0, 1.0
    p = successes / n
    z2 = z * z
    denominator = 1 + z2 / n
    centre = (p + z2 / (2 * n)) / denominator
    half = z * math.sqrt(p * (1 - p) / n + z2 / (4 * n * n)) / denominator
    low = 0.0 if successes == 0 else max(0.0, centre - half)
    high = 1.0 if successes == n else min(1.0, centre + half)
    return low, high


def percentile(values: Sequence[float], q: float) -> float:
    """The ``q``-th percentile (0–100) by linear interpolation between closest ranks.

    The same as numpy's default (``method="linear"``, Hyndman & Fan type 7): with the
    values sorted, position ``h = (n - 1)·q/100`` and the result
    ``x[⌊h⌋] + (h - ⌊h⌋)·(x[⌊h⌋+1] - x[⌊h⌋])``.

    Examples:
        >>> percentile([10, 20, 30, 40], 50)
        25.0
    """
    if not values:
        raise ValueError("percentile of no values")
    if not 0 <= q <= 100:
        raise ValueError(f"percentile must be within 0..100, got {q}")
    ordered = sorted(values)
    position = (len(ordered) - 1) * q / 100
    low = math.floor(position)
    high = min(low + 1, len(ordered) - 1)
    return float(ordered[low] + (position - low) * (ordered[high] - ordered[low]))


def mcnemar_exact(b: int, c: int) -> float:
    """Two-sided exact McNemar p-value for ``b`` and ``c`` discordant pairs.

    Under the null each discordant pair goes either way with probability ½, so the p-value
    is ``min(1, 2·P(X ≤ min(b, c)))`` for ``X ~ Binomial(b + c, ½)``; 1 with no discordant
    pairs.

    Examples:
        >>> round(mcnemar_exact(10, 2), 4)
        0.0386
    """
    if b < 0 or c < 0:
        raise ValueError(f"discordant counts must not be negative, got {b}, {c}")
    n = b + c
    if n == 0:
        return 1.0
    tail = sum(math.comb(n, i) for i in range(min(b, c) + 1))
    return min(1.0, 2 * tail / (1 << n))


def paired_bootstrap(
    differences: Sequence[float],
    *,
    resamples: int = 2000,
    seed: int = 0,
    confidence: float = 0.95,
) -> tuple[float, float]:
    """A percentile bootstrap confidence interval for the mean of paired differences.

    Each resample draws ``len(differences)`` pairs with replacement from
    ``random.Random(seed)``; the interval is the linear-interpolated percentiles of the
    resampled means. The same inputs and seed give the same interval.

    Args:
        differences: One difference (b - a) per pair.
        resamples: How many resamples to draw.
        seed: Seed of the random generator.
        confidence: Coverage of the interval.
    """
    if not differences:
        raise ValueError("bootstrap of no differences")
    if resamples < 1 or not 0 < confidence < 1:
        raise ValueError("need resamples >= 1 and 0 < confidence < 1")
    rng = random.Random(seed)
    data = list(differences)
    n = len(data)
    means = [fmean(rng.choices(data, k=n)) for _ in range(resamples)]
    tail = (1 - confidence) / 2 * 100
    return percentile(means, tail), percentile(means, 100 - tail)
