"""The Pareto front over per-case validation scores, and parent selection from it.

A candidate dominates another when it scores at least as well on every validation case and
better on one. The front holds the candidates nobody dominates (of equal score vectors only
the earliest). A parent is sampled from the front weighted by how many validation cases
each member is best on (ties count for every member that reaches the best score).
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence

Scores = Mapping[str, float]


def dominates(a: Scores, b: Scores, cases: Sequence[str]) -> bool:
    """Whether ``a`` is at least ``b`` on every case of ``cases`` and above it on one.

    Examples:
        >>> dominates({"x": 1, "y": 1}, {"x": 1, "y": 0}, ["x", "y"])
        True
        >>> dominates({"x": 1, "y": 0}, {"x": 0, "y": 1}, ["x", "y"])
        False
    """
    better = False
    for case in cases:
        sa, sb = a.get(case, 0.0), b.get(case, 0.0)
        if sa < sb:
            return False
        better = better or sa > sb
    return better


def front(candidates: Sequence[tuple[str, Scores]], cases: Sequence[str]) -> list[str]:
    """The ids of the non-dominated candidates, in the order given (first of equals kept).

    Examples:
        >>> front([("c0", {"x": 0, "y": 1}), ("c1", {"x": 1, "y": 0}),
        ...        ("c2", {"x": 0, "y": 0}), ("c3", {"x": 1, "y": 0})], ["x", "y"])
        ['c0', 'c1']
    """
    kept: list[str] = []
    vectors: list[tuple[float, ...]] = []
    for i, (cid, scores) in enumerate(candidates):
        vector = tuple(scores.get(c, 0.0) for c in cases)
        if vector in vectors:
            continue
        if any(
            dominates(other, scores, cases) for j, (_, other) in enumerate(candidates) if j != i
        ):
            continue
        kept.append(cid)
        vectors.append(vector)
    return kept


def best_counts(
    members: Sequence[str], scores: Mapping[str, Scores], cases: Sequence[str]
) -> dict[str, int]:
    """For each member, on how many ``cases`` it reaches the best score among ``members``.

    Examples:
        >>> best_counts(["a", "b"], {"a": {"x": 1, "y": 1}, "b": {"x": 1, "y": 0}}, ["x", "y"])
        {'a': 2, 'b': 1}
    """
    counts = dict.fromkeys(members, 0)
    for case in cases:
        top = max((scores[m].get(case, 0.0) for m in members), default=0.0)
        for m in members:
            if scores[m].get(case, 0.0) == top:
                counts[m] += 1
    return counts


def select_parent(
    members: Sequence[str],
    scores: Mapping[str, Scores],
    cases: Sequence[str],
    rng: random.Random,
) -> str:
    """Sample a parent from the front ``members``, weighted by `best_counts`.

    Members best on no case are never drawn unless all are (then the draw is uniform).

    Raises:
        ValueError: ``members`` is empty.
    """
    if not members:
        raise ValueError("an empty front has no parent to select")
    counts = best_counts(members, scores, cases)
    weights = [counts[m] for m in members]
    if sum(weights) == 0:
        weights = [1] * len(members)
    return rng.choices(list(members), weights=weights, k=1)[0]
