"""Annotation queues in the SDK: `engine.queues.create(run, filter="failed")`, then each
annotator's `queue.next(...)`, `queue.submit(...)` or `queue.skip(...)`, and the queue's
`progress()`, `agreement()` and (pairwise) `tally()`.

Examples:
    >>> queue = engine.queues.create(run, filter="failed", annotators_per_item=2)  # doctest: +SKIP
    >>> item = queue.next("ann")                                                    # doctest: +SKIP
    >>> queue.submit(item, "ann", verdict="pass", comment="fine")                  # doctest: +SKIP
    >>> queue.agreement().kappa                                                     # doctest: +SKIP
"""

from __future__ import annotations

import builtins
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from domain.annotation import (
    Agreement,
    Answer,
    Choice,
    Item,
    ItemKind,
    Progress,
    Queue,
    QueueFilter,
    Tally,
)
from domain.annotation.queue import Where
from domain.feedback import Verdict
from engine.evaluation.queues import QueueItem, QueueStore, stream_key
from engine.evaluation.streams import encode

if TYPE_CHECKING:
    from engine.sdk.run import Run

STREAM_MAXLEN = 10_000
"""Events a queue's live stream keeps (approximately)."""


def redis_publisher(redis: Any) -> Any:
    """A `Publish` that appends a queue's events to its Redis stream."""

    def publish(queue_id: str, event: dict[str, Any]) -> None:
        redis.xadd(stream_key(queue_id), encode(event), maxlen=STREAM_MAXLEN, approximate=True)

    return publish


def _run_id(run: Run | str) -> str:
    return run if isinstance(run, str) else run.id


def _position(item: QueueItem | Item | int) -> int:
    if isinstance(item, QueueItem):
        return item.item.position
    if isinstance(item, Item):
        return item.position
    return item


class AnnotationQueue:
    """A handle on one annotation queue of the owner."""

    def __init__(self, store: QueueStore, owner: str, queue_id: str) -> None:
        self._store = store
        self._owner = owner
        self.id = queue_id

    def __repr__(self) -> str:
        info = self.info()
        return f"AnnotationQueue({self.id!r}, kind={info.kind!r}, items={info.item_count})"

    def info(self) -> Queue:
        """The queue as made: runs, filter, kind, assignees, annotators per item, seed."""
        return self._store.get(self._owner, self.id)

    def items(self) -> list[Item]:
        """Every item, in the order they are served (with each pairwise item's order)."""
        return self._store.items(self._owner, self.id)

    def item(self, position: int) -> QueueItem:
        """One item with its cell(s) and their cases."""
        return self._store.item(self._owner, self.id, position)

    def next(self, annotator: str) -> QueueItem | None:
        """Claim the next item for ``annotator`` (held for them ten minutes): the one they
        hold, else the first assigned to them (or to nobody) that they neither answered nor
        skipped and that still needs answers. ``None`` when nothing is left for them.

        Raises:
            ValidationError: ``annotator`` is not one of the queue's assignees.
        """
        return self._store.next(self._owner, self.id, annotator)

    def submit(
        self,
        item: QueueItem | Item | int,
        annotator: str,
        *,
        verdict: Verdict | None = None,
        score: float | None = None,
        correction: str | None = None,
        comment: str | None = None,
        tags: Sequence[str] = (),
        choice: Choice | None = None,
    ) -> Answer:
        """Answer an item (a `QueueItem`, an `Item` or its position).

        A single item takes a ``verdict`` and/or a ``score`` (and optionally a
        ``correction``, ``comment`` and ``tags``): it is recorded as feedback on the cell,
        authored by ``annotator``, so `run.records()`, the report's effective pass rate and
        judge alignment count it. A pairwise item takes a ``choice``: ``"left"``,
        ``"right"`` or ``"tie"``, as the item was shown.

        Raises:
            ValidationError: a missing label, bad values, or an item not assigned to them.
            ConflictError: already answered or skipped, or the item needs no more answers.
        """
        return self._store.submit(
            self._owner,
            self.id,
            _position(item),
            annotator,
            verdict=verdict,
            score=score,
            correction=correction,
            comment=comment,
            tags=tags,
            choice=choice,
        )

    def skip(self, item: QueueItem | Item | int, annotator: str) -> None:
        """Pass on an item: never offered to ``annotator`` again; its slot stays open."""
        self._store.skip(self._owner, self.id, _position(item), annotator)

    def reassign(
        self, source: str, target: str, *, positions: Sequence[int] | None = None
    ) -> list[int]:
        """Hand ``source``'s open items over to ``target``, who joins the assignees: every
        item of theirs that still needs answers and that they neither answered nor skipped
        (their answers stay theirs), or exactly ``positions``. Their claims on those end.

        Returns:
            The positions moved.

        Raises:
            ValidationError: a queue without assignees, or ``source`` not among them.
            ConflictError: a named position cannot move (``not-movable``); nothing moves.

        Examples:
            >>> queue.reassign("ann", "dan")                                # doctest: +SKIP
            [2, 6, 8]
        """
        return self._store.reassign(self._owner, self.id, source, target, positions)

    def answers(self) -> list[Answer]:
        """Every answer given, by position then annotator (skips left out)."""
        return self._store.answers(self._owner, self.id)

    def progress(self) -> Progress:
        """Items, complete items, answers given and needed, skips, and each annotator's."""
        return self._store.progress(self._owner, self.id)

    def agreement(self) -> Agreement:
        """How far annotators agree on the items with every answer they need: Cohen's kappa
        for two annotators, Fleiss' kappa for more."""
        return self._store.agreement(self._owner, self.id)

    def tally(self) -> Tally:
        """A pairwise queue's preferences per version, each item's left/right order undone.

        Raises:
            ValidationError: not a pairwise queue.
        """
        return self._store.tally(self._owner, self.id)


class Queues:
    """The owner's annotation queues (``engine.queues``).

    Args:
        store: The queue store.
        owner: Who every call acts as; another owner's queues and runs are not found.
    """

    def __init__(self, store: QueueStore, owner: str) -> None:
        self._store = store
        self._owner = owner

    def create(
        self,
        run: Run | str | Sequence[Run | str],
        *,
        filter: Where | QueueFilter = "all",
        sample: int | None = None,
        band: float = 0.1,
        scorer: str | None = None,
        kind: ItemKind = "single",
        versions: Sequence[str] = (),
        assignees: Sequence[str] = (),
        annotators_per_item: int = 1,
        seed: int = 0,
        name: str = "",
    ) -> AnnotationQueue:
        """Make a queue of a run's recorded cells (or of two runs', pairwise).

        Args:
            run: A run (handle or id), or two runs for a pairwise queue of their cells.
            filter: ``"all"``, ``"failed"``, ``"disagree"`` (its scorers' verdicts differ),
                ``"near-threshold"`` (a judge's score within ``band`` of its pass mark), or a
                `QueueFilter`.
            sample: Keep a random sample of this many matching cells (seeded by ``seed``).
            band: For ``near-threshold``: the distance from the pass mark.
            scorer: For ``near-threshold``: the scorer whose mark counts (default: every
                ``llm-judge`` of the run).
            kind: ``"single"`` or ``"pairwise"`` (two versions' outputs for one case).
            versions: For a pairwise queue of one run: the two versions (ids or prefixes);
                default its first two.
            assignees: Who works it (items dealt round robin); empty: anyone.
            annotators_per_item: Answers each item needs.
            seed: Seeds the sample and the left/right order of pairwise items.
            name: A label.

        Raises:
            NotFoundError: a run is not yours.
            ValidationError: bad settings, or no cell matches (``empty-queue``).
        """
        runs = [run] if isinstance(run, str) or not isinstance(run, Sequence) else list(run)
        where = (
            filter
            if isinstance(filter, QueueFilter)
            else QueueFilter(filter, scorer=scorer, band=band, sample=sample)
        )
        queue = self._store.create(
            self._owner,
            [_run_id(r) for r in runs],
            name=name,
            where=where,
            kind=kind,
            versions=versions,
            assignees=assignees,
            annotators_per_item=annotators_per_item,
            seed=seed,
        )
        return AnnotationQueue(self._store, self._owner, queue.id)

    def get(self, queue_id: str) -> AnnotationQueue:
        """A handle on one of your queues (`NotFoundError` otherwise)."""
        self._store.get(self._owner, queue_id)
        return AnnotationQueue(self._store, self._owner, queue_id)

    def list(
        self, *, limit: int = 50, after: tuple[str, str] | None = None
    ) -> builtins.list[Queue]:
        """Your queues, newest first (``after``: a cursor from `page`)."""
        return [queue for _, queue in self.page(limit=limit, after=after)]

    def page(
        self, *, limit: int = 50, after: tuple[str, str] | None = None
    ) -> builtins.list[tuple[tuple[str, str], Queue]]:
        """Your queues, newest first, each with its cursor (created at, id)."""
        return self._store.list(self._owner, after=after, limit=limit)
