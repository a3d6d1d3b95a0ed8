"""A queue's items: which cells it holds (`select_cells`, `pair_cells`), and the left/right
order of a pairwise item, drawn from the queue's seed and kept with the item."""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from domain.annotation.queue import QueueFilter
from domain.errors import ValidationError
from domain.reports.records import ResultRecord

Side = tuple[str, str, str]
"""One side of a pairwise item: (run id, prompt version, model)."""


@dataclass(frozen=True)
class Item:
    """One item of a queue.

    Attributes:
        position: Its place in the queue, from 0 (items are served in this order).
        run_id, prompt_version, model, case_id, repeat: The cell (a pairwise item: side A).
        other: A pairwise item's side B (same case and repeat); ``None`` for a single item.
        swapped: A pairwise item shows side B on the left (drawn from the seed, recorded).
    """

    position: int
    run_id: str
    prompt_version: str
    model: str
    case_id: str
    repeat: int = 0
    other: Side | None = None
    swapped: bool = False

    @property
    def side_a(self) -> Side:
        return (self.run_id, self.prompt_version, self.model)

    @property
    def left(self) -> Side:
        """The side shown on the left."""
        assert self.other is not None
        return self.other if self.swapped else self.side_a

    @property
    def right(self) -> Side:
        """The side shown on the right."""
        assert self.other is not None
        return self.side_a if self.swapped else self.other


def failed(cell: ResultRecord) -> bool:
    """The scorers failed the cell, or it errored."""
    return cell.verdict is False


def scorers_disagree(cell: ResultRecord, marks: Mapping[str, float]) -> bool:
    """At least two of the cell's scorers with a known pass mark give different verdicts."""
    verdicts = {cell.scores[name] >= mark for name, mark in marks.items() if name in cell.scores}
    return len(verdicts) > 1


def near_threshold(cell: ResultRecord, marks: Mapping[str, float], band: float) -> bool:
    """A score of one of ``marks``' scorers lies within ``band`` of its mark."""
    return any(
        abs(cell.scores[name] - mark) <= band + 1e-12
        for name, mark in marks.items()
        if name in cell.scores
    )


def _matches(
    cell: ResultRecord, where: QueueFilter, marks: Mapping[str, float], judges: Mapping[str, float]
) -> bool:
    if where.where == "failed":
        return failed(cell)
    if where.where == "disagree":
        return scorers_disagree(cell, marks)
    if where.where == "near-threshold":
        return near_threshold(cell, _band_marks(where, marks, judges), where.band)
    return True


def _band_marks(
    where: QueueFilter, marks: Mapping[str, float], judges: Mapping[str, float]
) -> Mapping[str, float]:
    if where.scorer is None:
        if not judges:
            raise ValidationError(
                "near-threshold needs an llm-judge scorer in the run, or name a scorer",
                field="scorer",
                reason="no-judge",
            )
        return judges
    if where.scorer not in marks:
        raise ValidationError(
            f"the run has no scorer {where.scorer!r} with a pass mark",
            field="scorer",
            reason="unknown-scorer",
        )
    return {where.scorer: marks[where.scorer]}


def _sample(keys: list[int], where: QueueFilter, seed: int) -> list[int]:
    if where.sample is None or where.sample >= len(keys):
        return keys
    return sorted(random.Random(seed).sample(keys, where.sample))


def select_cells(
    cells: Sequence[ResultRecord],
    where: QueueFilter,
    *,
    marks: Mapping[str, float],
    judges: Mapping[str, float],
    seed: int,
) -> list[Item]:
    """The items of a single queue: the cells ``where`` matches, in the order given (a
    seeded sample keeps that order).

    Args:
        cells: The run's recorded cells, in key order.
        where: The filter.
        marks: Scorer name → pass mark (``disagree``, a named ``near-threshold`` scorer).
        judges: ``llm-judge`` scorer name → pass mark (``near-threshold`` without a scorer).
        seed: Seeds the sample.

    Raises:
        ValidationError: ``near-threshold`` with no judge or an unknown scorer, or no cell
            matches (``reason="empty-queue"``).
    """
    picked = [i for i, c in enumerate(cells) if _matches(c, where, marks, judges)]
    chosen = _sample(picked, where, seed)
    if not chosen:
        raise _empty(where)
    return [
        Item(n, c.run_id, c.prompt_version, c.model, c.case_id, c.repeat)
        for n, c in enumerate(cells[i] for i in chosen)
    ]


def pair_cells(
    a: Sequence[ResultRecord],
    b: Sequence[ResultRecord],
    where: QueueFilter,
    *,
    marks: Mapping[str, float],
    judges: Mapping[str, float],
    seed: int,
    match_model: bool,
) -> list[Item]:
    """The items of a pairwise queue: each case (and repeat) both sides recorded, kept when
    ``where`` matches either side's cell, each with its left/right order drawn from ``seed``
    (one draw per item, in order, after the sample).

    Args:
        a, b: The two sides' cells (two versions of one run, or two runs), in key order.
        match_model: Pair cells of the same model (two versions of one run); otherwise each
            side holds one model and cells pair on case and repeat alone.

    Raises:
        ValidationError: no pair matches (``reason="empty-queue"``).
    """

    def pair_key(c: ResultRecord) -> tuple[str, ...]:
        return (c.model, c.case_id, str(c.repeat)) if match_model else (c.case_id, str(c.repeat))

    others = {pair_key(c): c for c in b}
    pairs = [(c, others[pair_key(c)]) for c in a if pair_key(c) in others]
    picked = [
        i
        for i, (x, y) in enumerate(pairs)
        if _matches(x, where, marks, judges) or _matches(y, where, marks, judges)
    ]
    chosen = _sample(picked, where, seed)
    if not chosen:
        raise _empty(where)
    order = random.Random(f"pairwise:{seed}")
    items = []
    for n, i in enumerate(chosen):
        x, y = pairs[i]
        items.append(
            Item(
                n,
                x.run_id,
                x.prompt_version,
                x.model,
                x.case_id,
                x.repeat,
                other=(y.run_id, y.prompt_version, y.model),
                swapped=order.random() < 0.5,
            )
        )
    return items


def _empty(where: QueueFilter) -> ValidationError:
    return ValidationError(
        f"no recorded cell matches the filter {where.where!r}: the queue would be empty",
        reason="empty-queue",
    )
