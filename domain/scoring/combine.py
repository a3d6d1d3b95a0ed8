"""Combining one cell's scores into its overall verdict."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from domain.errors import ValidationError
from domain.scoring._common import clamp01
from domain.scoring.base import Score, _finite


@dataclass(frozen=True)
class CellScore:
    """The overall verdict on one cell, with every scorer's own score.

    Args:
        value: Weighted mean of the scores' values (see `combine`).
        passed: True when every scorer with weight > 0 passed.
        scores: Each scorer's `Score`, in the order given.
        weights: The weight of each score, aligned with ``scores``.
    """

    value: float
    passed: bool
    scores: tuple[Score, ...]
    weights: tuple[float, ...]

    @property
    def by_name(self) -> dict[str, Score]:
        """Scores keyed by scorer display name."""
        return {score.name: score for score in self.scores}

    @property
    def failed(self) -> tuple[Score, ...]:
        """The gating scores (weight > 0) that did not pass."""
        return tuple(
            s for s, w in zip(self.scores, self.weights, strict=True) if w > 0 and not s.passed
        )

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe form: overall value and verdict plus each weighted score."""
        return {
            "value": self.value,
            "passed": self.passed,
            "scores": [
                {**s.to_dict(), "weight": w} for s, w in zip(self.scores, self.weights, strict=True)
            ],
        }


def combine(scores: Sequence[tuple[Score, float]]) -> CellScore:
    """Combine ``(score, weight)`` pairs into a `CellScore`.

    ``value`` is the weighted mean of the values; when every weight is 0 it is their plain
    mean. ``passed`` requires every scorer with weight > 0 to have passed: weight 0 makes a
    scorer informational, shown but never gating. No gating scorer at all means passed.

    Args:
        scores: One ``(Score, weight)`` pair per scorer, weights >= 0.

    Returns:
        The combined verdict, keeping each score and weight.

    Raises:
        ValidationError: ``scores`` is empty or a weight is negative or not finite.

    Examples:
        >>> a = Score(1.0, True, "ok", "equals")
        >>> b = Score(0.0, False, "slow", "latency")
        >>> combine([(a, 3), (b, 1)]).value
        0.75
    """
    if not scores:
        raise ValidationError("combine needs at least one score")
    for score, weight in scores:
        if not _finite(weight) or weight < 0:
            raise ValidationError(
                f"weight of scorer {score.name!r} must be a number >= 0, got {weight!r}"
            )
    weights = tuple(float(w) for _, w in scores)
    values = [s.value for s, _ in scores]
    total = math.fsum(weights)
    if total > 0:
        value = math.fsum(v * w for v, w in zip(values, weights, strict=True)) / total
    else:
        value = math.fsum(values) / len(values)
    return CellScore(
        value=clamp01(value),
        passed=all(s.passed for s, w in scores if w > 0),
        scores=tuple(s for s, _ in scores),
        weights=weights,
    )
