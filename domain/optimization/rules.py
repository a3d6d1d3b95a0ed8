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


def candidate_calls(*, minibatch: int, val_cases: int, models: int, judges_per_cell: int) -> int:
    """The most one new candidate spends once proposed: its own minibatch and, accepted,
    the validation split.

    Examples:
        >>> candidate_calls(minibatch=4, val_cases=10, models=1, judges_per_cell=0)
        14
    """
    return models * (1 + judges_per_cell) * (minibatch + val_cases)


def affordable_slots(costs: Sequence[int], *, used: int, max_calls: int, reserve: int) -> int:
    """How many of a generation's planned slots (in slot order) it can open without ever
    going over ``max_calls``; 0 means stop.

    ``costs`` are what each slot spends at most before its proposal is known (its
    reflection call and the parent's minibatch cells not yet evaluated); ``reserve`` keeps
    room for one new candidate (`candidate_calls`), so a generation always evaluates what
    it proposes first. Each further new proposal is evaluated only if it fits as well
    (`fits_candidate`): late in a run most proposals are known candidates, which cost
    nothing more, and reserving a candidate's worst case for every slot would shrink the
    generations (and serialise the reflection calls) for nothing.

    Examples:
        >>> affordable_slots([9, 1, 1, 9], used=0, max_calls=50, reserve=38)
        3
        >>> affordable_slots([9], used=10, max_calls=50, reserve=38)
        0
    """
    room = max_calls - used - reserve
    total = 0
    for opened, cost in enumerate(costs):
        total += cost
        if total > room:
            return opened
    return len(costs)


def fits_candidate(*, used: int, unrecorded: int, reserved: int, one: int, max_calls: int) -> bool:
    """Whether one more new candidate (``one`` calls at most) can be evaluated: ``used``
    calls are recorded, ``unrecorded`` are spent but not yet recorded (the generation's
    later reflection calls), ``reserved`` are kept for the generation's earlier new
    candidates.

    Examples:
        >>> fits_candidate(used=20, unrecorded=2, reserved=14, one=14, max_calls=50)
        True
        >>> fits_candidate(used=20, unrecorded=3, reserved=14, one=14, max_calls=50)
        False
    """
    return used + unrecorded + reserved + one <= max_calls


IDLE_GENERATIONS = 10
"""Generations in a row that spend no call (nothing to reflect on, nothing new proposed)
after which the loop stops: more of them would change nothing."""


def stop_reason(
    *,
    usage: Usage,
    max_calls: int,
    budget_usd: float | None,
    stale_generations: int,
    patience: int | None,
    affordable: int,
    idle_generations: int = 0,
) -> str | None:
    """Why the loop stops before the next generation, or None to go on.

    ``"budget-exceeded"`` (USD spent), ``"max-metric-calls"`` (no candidate fits in the
    calls left), ``"patience"`` (that many generations without a new best), ``"exhausted"``
    (`IDLE_GENERATIONS` in a row spent no call: the optimizer has nothing left to try).

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
    if idle_generations >= IDLE_GENERATIONS:
        return "exhausted"
    return None
