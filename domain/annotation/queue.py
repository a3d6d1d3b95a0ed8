"""`Queue`: cells of one or more runs put before people, each item to be answered by
``annotators_per_item`` of them; `QueueFilter`: which cells it holds."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Literal

from domain.errors import ValidationError

ItemKind = Literal["single", "pairwise"]
Where = Literal["all", "failed", "disagree", "near-threshold"]
Choice = Literal["left", "right", "tie"]
WHERE: tuple[Where, ...] = ("all", "failed", "disagree", "near-threshold")
CHOICES: tuple[Choice, ...] = ("left", "right", "tie")
MAX_ANNOTATORS = 50
MAX_NAME = 200


@dataclass(frozen=True)
class QueueFilter:
    """Which cells a queue takes from its runs.

    Attributes:
        where: ``all``; ``failed`` (the scorers failed the cell, or it errored);
            ``disagree`` (its scorers' verdicts differ); ``near-threshold`` (a judge's score
            lies within ``band`` of its pass mark).
        scorer: For ``near-threshold``: the scorer whose mark counts (default: every
            ``llm-judge`` of the run).
        band: For ``near-threshold``: how far from the mark, in score units.
        sample: Keep a seeded random sample of this many of the matching cells.
    """

    where: Where = "all"
    scorer: str | None = None
    band: float = 0.1
    sample: int | None = None

    def __post_init__(self) -> None:
        if self.where not in WHERE:
            raise ValidationError(
                f"filter must be one of {', '.join(WHERE)}, got {self.where!r}",
                field="filter",
                reason="unknown-filter",
            )
        if (
            isinstance(self.band, bool)
            or not isinstance(self.band, int | float)
            or not math.isfinite(self.band)
            or not 0.0 < self.band <= 1.0
        ):
            raise ValidationError(f"band must be within (0, 1], got {self.band!r}", field="band")
        object.__setattr__(self, "band", float(self.band))
        if self.sample is not None and (
            isinstance(self.sample, bool) or not isinstance(self.sample, int) or self.sample < 1
        ):
            raise ValidationError(
                f"sample must be an integer >= 1, got {self.sample!r}", field="sample"
            )
        if self.scorer is not None and (not isinstance(self.scorer, str) or not self.scorer):
            raise ValidationError("scorer must be a non-empty name", field="scorer")

    def to_dict(self) -> dict[str, Any]:
        return {
            "where": self.where,
            "scorer": self.scorer,
            "band": self.band,
            "sample": self.sample,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> QueueFilter:
        return cls(
            where=data.get("where", "all"),
            scorer=data.get("scorer"),
            band=data.get("band", 0.1),
            sample=data.get("sample"),
        )


@dataclass(frozen=True, kw_only=True)
class Queue:
    """An annotation queue.

    Attributes:
        id: Its id.
        name: A label.
        run_ids: The runs its cells come from (two runs: a pairwise queue of their cells).
        filter: Which cells it holds.
        kind: ``single`` (one cell per item: verdict, score, correction) or ``pairwise``
            (two prompt versions' outputs for one case: which is better).
        versions: For a pairwise queue of one run: the two prompt versions compared.
        assignees: Who works it; empty: anyone. Items are dealt to them round robin.
        annotators_per_item: Answers each item needs.
        seed: Seeds the sample and the left/right order of pairwise items.
        created_by: Who made it.
        created_at: When (ISO 8601, UTC).
        item_count: Items it holds.
    """

    id: str
    name: str
    run_ids: tuple[str, ...]
    filter: QueueFilter = field(default_factory=QueueFilter)
    kind: ItemKind = "single"
    versions: tuple[str, ...] = ()
    assignees: tuple[str, ...] = ()
    annotators_per_item: int = 1
    seed: int = 0
    created_by: str
    created_at: str
    item_count: int = 0

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or len(self.name) > MAX_NAME:
            raise ValidationError(f"name must be at most {MAX_NAME} characters", field="name")
        runs = tuple(self.run_ids)
        if not runs or len(runs) > 2 or len(set(runs)) != len(runs):
            raise ValidationError(
                "a queue takes one run, or two distinct runs for a pairwise queue",
                field="runs",
                reason="bad-runs",
            )
        object.__setattr__(self, "run_ids", runs)
        if self.kind not in ("single", "pairwise"):
            raise ValidationError(
                f"kind must be 'single' or 'pairwise', got {self.kind!r}", field="kind"
            )
        if len(runs) == 2 and self.kind != "pairwise":
            raise ValidationError(
                "two runs make a pairwise queue: set kind='pairwise'",
                field="kind",
                reason="bad-runs",
            )
        versions = tuple(self.versions)
        if versions and (self.kind != "pairwise" or len(runs) != 1 or len(versions) != 2):
            raise ValidationError(
                "versions names the two prompt versions of a pairwise queue of one run",
                field="versions",
            )
        object.__setattr__(self, "versions", versions)
        assignees = tuple(self.assignees)
        if len(assignees) > MAX_ANNOTATORS or len(set(assignees)) != len(assignees):
            raise ValidationError(
                f"assignees must be at most {MAX_ANNOTATORS} distinct names", field="assignees"
            )
        for name in assignees:
            check_annotator(name)
        object.__setattr__(self, "assignees", assignees)
        per_item = self.annotators_per_item
        if (
            isinstance(per_item, bool)
            or not isinstance(per_item, int)
            or not 1 <= per_item <= MAX_ANNOTATORS
        ):
            raise ValidationError(
                f"annotators_per_item must be within 1..{MAX_ANNOTATORS}, got {per_item!r}",
                field="annotators_per_item",
            )
        if assignees and per_item > len(assignees):
            raise ValidationError(
                f"{per_item} annotators per item but only {len(assignees)} assignees",
                field="annotators_per_item",
                reason="too-few-assignees",
            )
        if isinstance(self.seed, bool) or not isinstance(self.seed, int):
            raise ValidationError(f"seed must be an integer, got {self.seed!r}", field="seed")

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready values."""
        return {
            "id": self.id,
            "name": self.name,
            "run_ids": list(self.run_ids),
            "filter": self.filter.to_dict(),
            "kind": self.kind,
            "versions": list(self.versions),
            "assignees": list(self.assignees),
            "annotators_per_item": self.annotators_per_item,
            "seed": self.seed,
            "created_by": self.created_by,
            "created_at": self.created_at,
            "item_count": self.item_count,
        }


def check_annotator(name: object) -> str:
    """``name`` if it can name an annotator.

    Raises:
        ValidationError: not a non-empty name of at most 200 characters without surrounding
            spaces (``field="annotator"``).
    """
    if not isinstance(name, str) or not 0 < len(name) <= MAX_NAME or name.strip() != name:
        raise ValidationError(
            "an annotator is a non-empty name of at most 200 characters", field="annotator"
        )
    return name


def deal(positions: int, assignees: tuple[str, ...], per_item: int) -> list[tuple[str, ...]]:
    """Who each item is assigned to: ``per_item`` distinct assignees per item, dealt round
    robin (item ``i`` goes to assignees ``i*k .. i*k+k-1`` modulo their number); nobody
    when there are no assignees (anyone may take it).

    Examples:
        >>> deal(3, ("ann", "bob", "cy"), 2)
        [('ann', 'bob'), ('cy', 'ann'), ('bob', 'cy')]
    """
    if not assignees:
        return [() for _ in range(positions)]
    n = len(assignees)
    return [
        tuple(assignees[(i * per_item + j) % n] for j in range(per_item)) for i in range(positions)
    ]
