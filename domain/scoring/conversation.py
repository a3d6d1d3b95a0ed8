"""Conversation scorers: judge every turn of the transcript, not only the final answer.

A cell's ``messages`` (`ScoreContext.messages`) is the whole conversation: a case's history,
each turn of a flow's ``conversation`` step and the final answer. ``each-turn`` scores the
messages of one role with a pure scorer and gathers the turns' scores.
"""

from __future__ import annotations

from typing import Any

from domain.errors import ValidationError
from domain.scoring._common import BaseScorer, ScorerArgs
from domain.scoring.base import PureScorer, Score, ScoreContext, build_scorer, register_scorer
from domain.scoring.listing import ScorerArgument

AGGREGATES = ("all", "mean", "any")
ROLES = ("assistant", "user")


@register_scorer("each-turn")
class EachTurn(BaseScorer):
    """Scores each ``role`` message of the conversation (default: every assistant turn)
    with the pure scorer ``scorer`` and gathers them by ``aggregate``: ``all`` (the lowest
    turn's score: every turn must pass), ``mean`` or ``any`` (the highest). Without a
    transcript (a one-call cell) the output alone is scored.

    Examples:
        >>> scorer = build_scorer({"type": "each-turn", "args": {
        ...     "scorer": {"type": "icontains", "args": {"value": "sorry"}, "negate": True}}})
        >>> scorer.score(ScoreContext(output="ok", messages=(
        ...     {"role": "assistant", "content": "sorry"}, {"role": "assistant", "content": "ok"},
        ... ))).value
        0.0
    """

    threshold_arg = "threshold"
    arguments = (
        ScorerArgument(
            "scorer", "object", "a pure scorer spec applied to each turn", required=True
        ),
        ScorerArgument("role", "string", "whose turns: assistant or user", default="assistant"),
        ScorerArgument("aggregate", "string", "all (lowest), mean or any (highest)", default="all"),
        ScorerArgument("threshold", "number", "least aggregate that passes", default=1.0),
    )

    def configure(self, args: ScorerArgs) -> None:
        raw = args.raw("scorer")
        if not isinstance(raw, dict):
            raise args.error("scorer", "must be a scorer spec object")
        if raw.get("type") == "each-turn":
            raise args.error("scorer", "cannot be each-turn itself")
        try:
            inner: Any = build_scorer(raw)
        except ValidationError as exc:
            raise args.error("scorer", f"is not a valid spec: {exc.message}") from None
        if not isinstance(inner, PureScorer) or getattr(inner, "needs", None) is not None:
            raise args.error("scorer", "must be a pure scorer (no model call, no code)")
        self.inner = inner
        self.role = args.text("role", required=False) or "assistant"
        if self.role not in ROLES:
            raise args.error("role", f"must be one of {', '.join(ROLES)}")
        self.aggregate = args.text("aggregate", required=False) or "all"
        if self.aggregate not in AGGREGATES:
            raise args.error("aggregate", f"must be one of {', '.join(AGGREGATES)}")

    def score(self, ctx: ScoreContext) -> Score:
        turns = [
            str(m.get("content") or "")
            for m in ctx.messages
            if m.get("role") == self.role and m.get("content") is not None
        ]
        if not turns and self.role == "assistant":
            turns = [ctx.output]
        if not turns:
            return self.fail(f"the conversation has no {self.role} turn")
        scores = [
            self.inner.score(
                ScoreContext(
                    output=text,
                    expected=ctx.expected,
                    variables=ctx.variables,
                    metadata=ctx.metadata,
                    model=ctx.model,
                )
            )
            for text in turns
        ]
        values = [s.value for s in scores]
        if self.aggregate == "all":
            value = min(values)
        elif self.aggregate == "any":
            value = max(values)
        else:
            value = sum(values) / len(values)
        failed = [i + 1 for i, s in enumerate(scores) if not s.passed]
        where = f"; turn(s) {', '.join(map(str, failed[:5]))} failed" if failed else ""
        return self.result(
            value, f"{self.aggregate} of {len(turns)} {self.role} turn(s): {value:.3g}{where}"
        )
