"""Custom scorers: a user's Python function, made safe to run inside an evaluation."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, ClassVar

from domain.errors import ValidationError
from domain.scoring._common import clamp01, clip
from domain.scoring.base import CUSTOM_TYPE, Needs, Score, ScoreContext, _finite

CustomFn = Callable[[ScoreContext], Any]
"""A user function ``(ctx) -> Score | float | bool``."""


def _qualname(fn: Callable[..., Any]) -> str:
    module = getattr(fn, "__module__", None) or type(fn).__module__
    qualname = getattr(fn, "__qualname__", None) or type(fn).__qualname__
    return f"{module}.{qualname}"


class CustomScorer:
    """A wrapped user function; see `custom_scorer`."""

    needs: ClassVar[Needs] = None

    def __init__(self, fn: CustomFn, name: str, threshold: float, weight: float) -> None:
        self.fn = fn
        self.name = name
        self.threshold = threshold
        self.weight = weight
        self.qualname = _qualname(fn)

    def record(self) -> dict[str, Any]:
        """What the run records; custom scorers cannot be rebuilt from it."""
        return {
            "type": CUSTOM_TYPE,
            "name": self.name,
            "qualname": self.qualname,
            "weight": self.weight,
            "threshold": self.threshold,
        }

    def score(self, ctx: ScoreContext) -> Score:
        """Run the function; any exception or odd return value becomes a failed `Score`."""
        try:
            returned = self.fn(ctx)
        except Exception as exc:  # user code must never crash a run
            return self._fail(f"custom scorer {self.name!r} raised {type(exc).__name__}: {exc}")
        if isinstance(returned, Score):
            return Score(returned.value, returned.passed, returned.reason, self.name)
        if isinstance(returned, bool):
            return Score(float(returned), returned, f"custom scorer returned {returned}", self.name)
        if isinstance(returned, int | float):
            if math.isnan(returned):
                return self._fail(f"custom scorer {self.name!r} returned NaN")
            value = clamp01(float(returned))
            note = "" if value == returned else f" (clamped from {returned!r})"
            return Score(value, value >= self.threshold, f"custom score {value:g}{note}", self.name)
        return self._fail(
            f"custom scorer {self.name!r} returned {type(returned).__name__} "
            f"{clip(repr(returned), 40)}; expected Score, float or bool"
        )

    def _fail(self, reason: str) -> Score:
        return Score(0.0, False, reason, self.name)


def custom_scorer(
    fn: CustomFn, *, name: str | None = None, threshold: float = 1.0, weight: float = 1.0
) -> CustomScorer:
    """Wrap a Python function as a scorer.

    The function gets a `ScoreContext` and returns a `Score` (kept as is, renamed), a bool
    (1.0/0.0, passed as returned) or a number (clamped to [0, 1], passed when it reaches
    ``threshold``). An exception, NaN or any other return value gives a failed score whose
    reason says what happened. Custom scorers are recorded by name and qualified name only,
    so a run using one cannot be rebuilt from its record alone.

    Args:
        fn: The scoring function.
        name: Display name; defaults to the function's name.
        threshold: Pass mark within [0, 1] for numeric returns.
        weight: Weight in the cell's combined score, >= 0.

    Returns:
        A scorer with ``needs = None`` and ``score(ctx)``.

    Raises:
        ValidationError: ``fn`` is not callable, or ``threshold``/``weight`` is out of range.

    Examples:
        >>> short = custom_scorer(lambda ctx: len(ctx.output) < 20, name="short")
        >>> short.score(ScoreContext(output="ok")).passed
        True
    """
    if not callable(fn):
        raise ValidationError(f"custom scorer function must be callable, got {fn!r}")
    if not _finite(threshold) or not 0.0 <= threshold <= 1.0:
        raise ValidationError(f"custom scorer threshold must be within [0, 1], got {threshold!r}")
    if not _finite(weight) or weight < 0:
        raise ValidationError(f"custom scorer weight must be a number >= 0, got {weight!r}")
    default = getattr(fn, "__name__", "") or "custom"
    label = name or ("custom" if default == "<lambda>" else default)
    return CustomScorer(fn, label, float(threshold), float(weight))
