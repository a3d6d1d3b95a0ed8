"""The acceptance rule, the stopping rule and the call/budget accounting of the loop."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass


def accepts(
    candidate: Mapping[str, float], parent: Mapping[str, float], cases: Sequence[str]
) -> bool:
    """Whether a candidate's minibatch score sum is strictly greater than its parent's.

    Examples:
        >>> accepts({"a": 1, "b": 0}, {"a": 0, "b": 0}, ["a", "b"])
        True
        >>> accepts({"a": 1, "b": 0}, {"a": 0, "b": 1}, ["a", "b"])
        False
    """
    return minibatch_sum(candidate, cases) > minibatch_sum(parent, cases)


def minibatch_sum(scores: Mapping[str, float], cases: Sequence[str]) -> float:
    """The sum of ``scores`` over ``cases`` (a missing case scores 0)."""
    return float(sum(scores.get(c, 0.0) for c in cases))


@dataclass(frozen=True)
class Usage:
    """What an optimization spent so far, counted against ``max_metric_calls`` and budget.

    Attributes:
        cells: Candidate-evaluation cells worked (train and validation; not test).
        reflection_calls: Calls to the reflection model.
        judge_calls: Calls judge (and embedding) scorers made on those cells.
        cost_usd: USD of all of the above.
    """

    cells: int = 0
    reflection_calls: int = 0
    judge_calls: int = 0
    cost_usd: float = 0.0

    @property
    def calls(self) -> int:
        """The metric calls: cells + reflection calls + judge calls."""
        return self.cells + self.reflection_calls + self.judge_calls


def generation_calls(
    *,
    parallel: int,
    minibatch: int,
    val_cases: int,
    models: int,
    judges_per_cell: int,
    reflection: bool,
) -> int:
    """The most metric calls one candidate of a generation may make: its reflection call,
    the parent's minibatch (when not yet evaluated), its own minibatch and validation.

    Examples:
        >>> generation_calls(parallel=2, minibatch=4, val_cases=10, models=1,
        ...                  judges_per_cell=0, reflection=True)
        38
    """
    per_cell = models * (1 + judges_per_cell)
    one = (1 if reflection else 0) + per_cell * (2 * minibatch + val_cases)
    return parallel * one


def affordable_parallel(
    *,
    used: int,
    max_calls: int,
    parallel: int,
    minibatch: int,
    val_cases: int,
    models: int,
    judges_per_cell: int,
    reflection: bool,
) -> int:
    """How many candidates (≤ ``parallel``) the next generation can propose without ever
    going over ``max_calls``; 0 means stop.

    Examples:
        >>> affordable_parallel(used=0, max_calls=40, parallel=4, minibatch=4, val_cases=10,
        ...                     models=1, judges_per_cell=0, reflection=True)
        2
    """
    one = generation_calls(
        parallel=1,
        minibatch=minibatch,
        val_cases=val_cases,
        models=models,
        judges_per_cell=judges_per_cell,
        reflection=reflection,
    )
    room = max_calls - used
    return max(0, min(parallel, room // one)) if one > 0 else parallel


def stop_reason(
    *,
    usage: Usage,
    max_calls: int,
    budget_usd: float | None,
    stale_generations: int,
    patience: int | None,
    affordable: int,
) -> str | None:
    """Why the loop stops before the next generation, or None to go on.

    ``"budget-exceeded"`` (USD spent), ``"max-metric-calls"`` (no candidate fits in the
    calls left), ``"patience"`` (that many generations without a new best).

    Examples:
        >>> stop_reason(usage=Usage(cells=10), max_calls=100, budget_usd=None,
        ...             stale_generations=0, patience=None, affordable=1) is None
        True
        >>> stop_reason(usage=Usage(cost_usd=1.0), max_calls=100, budget_usd=0.5,
        ...             stale_generations=0, patience=None, affordable=1)
        'budget-exceeded'
    """
    if budget_usd is not None and usage.cost_usd >= budget_usd:
        return "budget-exceeded"
    if affordable <= 0 or usage.calls >= max_calls:
        return "max-metric-calls"
    if patience is not None and stale_generations >= patience:
        return "patience"
    return None
