"""The ``perplexity`` scorer: how surprised the model was by its own answer."""

from __future__ import annotations

import math

from domain.scoring._common import BaseScorer, ScorerArgs
from domain.scoring.base import Score, ScoreContext, register_scorer
from domain.scoring.listing import ScorerArgument
from domain.scoring.thresholds import _ratio


def perplexity(logprobs: tuple[float, ...]) -> float:
    """``exp(-mean(logprobs))``: 1 when every token was certain.

    Examples:
        >>> perplexity((math.log(0.5), math.log(0.5)))
        2.0
    """
    return math.exp(-math.fsum(logprobs) / len(logprobs))


@register_scorer("perplexity")
class Perplexity(BaseScorer):
    """The answer's perplexity (from the model's token log-probabilities) is at most ``max``.

    Args (in the spec): ``max`` (required, >= 1). The run asks the model for ``logprobs``
    when a cell has this scorer. The value is ``min(1, max / perplexity)``, so with the
    default threshold 1.0 it passes exactly when the perplexity stays within ``max``; an
    answer without log-probabilities (a provider that gives none) fails.
    """

    wants_logprobs = True
    arguments = (
        ScorerArgument("max", "number", "highest perplexity that passes (>= 1)", required=True),
    )

    def configure(self, args: ScorerArgs) -> None:
        self.max = args.required_number("max", minimum=1.0)

    def score(self, ctx: ScoreContext) -> Score:
        if not ctx.logprobs:
            return self.fail("no token log-probabilities (the provider gave none)")
        if not all(math.isfinite(x) and x <= 0.0 for x in ctx.logprobs):
            return self.fail("token log-probabilities are not all finite and <= 0")
        value = perplexity(ctx.logprobs)
        relation = "within" if value <= self.max else "over"
        return self.result(
            _ratio(self.max, value), f"perplexity {value:.3f} is {relation} {self.max:g}"
        )
