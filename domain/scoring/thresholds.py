"""Operational scorers: latency and cost ceilings, and the model's finish reason.

The ceilings' value is ``min(1, ceiling / actual)``: 1.0 within the ceiling, shrinking as the call
gets slower or dearer, so with the default threshold 1.0 they pass exactly when the call
stayed within the ceiling. An unknown latency or cost fails: it cannot be shown to hold.
"""

from __future__ import annotations

from domain.scoring._common import BaseScorer, ScorerArgs
from domain.scoring.base import Score, ScoreContext, register_scorer
from domain.scoring.listing import ScorerArgument


def _ratio(ceiling: float, actual: float) -> float:
    if actual <= ceiling:
        return 1.0
    return ceiling / actual


@register_scorer("latency")
class Latency(BaseScorer):
    """The model call took at most ``max_ms`` milliseconds (required, > 0)."""

    arguments = (ScorerArgument("max_ms", "number", "latency ceiling in ms (> 0)", required=True),)

    def configure(self, args: ScorerArgs) -> None:
        self.max_ms = args.required_number("max_ms", minimum=0.0, strictly_above=True)

    def score(self, ctx: ScoreContext) -> Score:
        if ctx.latency_ms is None:
            return self.fail("latency unknown")
        value = _ratio(self.max_ms, ctx.latency_ms)
        relation = "within" if ctx.latency_ms <= self.max_ms else "over"
        return self.result(value, f"latency {ctx.latency_ms:g} ms is {relation} {self.max_ms:g} ms")


@register_scorer("cost")
class Cost(BaseScorer):
    """The model call cost at most ``max_usd`` dollars (required, >= 0)."""

    arguments = (ScorerArgument("max_usd", "number", "cost ceiling in USD (>= 0)", required=True),)

    def configure(self, args: ScorerArgs) -> None:
        self.max_usd = args.required_number("max_usd", minimum=0.0)

    def score(self, ctx: ScoreContext) -> Score:
        if ctx.cost_usd is None:
            return self.fail("cost unknown (the model has no known price)")
        value = _ratio(self.max_usd, ctx.cost_usd)
        relation = "within" if ctx.cost_usd <= self.max_usd else "over"
        return self.result(value, f"cost ${ctx.cost_usd:g} is {relation} ${self.max_usd:g}")


@register_scorer("finish-reason")
class FinishReason(BaseScorer):
    """The model stopped for the reason ``value`` (e.g. ``stop``, ``length``; any case)."""

    arguments = (
        ScorerArgument("value", "string", "expected finish reason, e.g. stop", required=True),
    )

    def configure(self, args: ScorerArgs) -> None:
        self.value = args.required_text("value", non_empty=True)

    def score(self, ctx: ScoreContext) -> Score:
        if ctx.finish_reason is None:
            return self.fail("finish reason unknown")
        if ctx.finish_reason.casefold() == self.value.casefold():
            return self.result(1.0, f"finish reason is {ctx.finish_reason!r}")
        return self.result(0.0, f"finish reason is {ctx.finish_reason!r}, not {self.value!r}")
