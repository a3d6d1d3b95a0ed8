"""Annotation queues in the database, scoped by owner like runs and their feedback.

An item is claimed with a lease: a claim lapses after ``lease_s`` (an annotator who walked
away frees the slot); an annotator holds one claim per queue, and asking again returns it.
Given Redis, leases live there (`engine.evaluation.queue_leases`) and the database records
only answers; without it (the CLI beside no engine) claims are rows written under the
database's write lock (`engine.evaluation.queue_sql`), which Redis-leasing processes honour.
"""

from __future__ import annotations

import builtins
import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

from sqlalchemy import Connection, Engine, case, func, insert, select, tuple_

from domain.annotation import (
    Agreement,
    AnnotatorProgress,
    Answer,
    Choice,
    Item,
    ItemKind,
    Progress,
    Queue,
    QueueFilter,
    Tally,
    agreement,
    check_annotator,
    deal,
    pair_cells,
    select_cells,
    tally,
)
from domain.errors import ConflictError, NotFoundError, ValidationError
from domain.feedback import Verdict, judge_thresholds
from domain.reports import ResultRecord
from domain.workspaces import can, is_shared_id
from engine.evaluation import queue_sql as sql
from engine.evaluation.datasets import case_from_row
from engine.evaluation.feedback import insert_feedback
from engine.evaluation.queue_leases import HELD, RedisLeases
from engine.evaluation.queue_reassign import check_reassign, move_items
from engine.evaluation.queue_rows import (
    answer_feedback,
    answer_row,
    item_of,
    item_row,
    pass_marks,
    queue_of,
    queue_row,
    two_versions,
    versions_of,
)
from engine.evaluation.queue_tables import (
    annotation_answers,
    annotation_assignments,
    annotation_items,
    annotation_queues,
)
from engine.evaluation.runs import RunInfo, RunStore, to_record
from engine.store_util import new_id, unique_as_conflict, utc_now_iso
from engine.workspaces import WorkspaceStore

LEASE_S = 600.0
"""How long a claimed item stays reserved for its annotator without an answer."""
CLAIM_ATTEMPTS = 8
WINDOW = 32
"""Candidates a Redis claim looks through at once: more than the annotators usually at work,
so one window nearly always has a free slot."""
KNOWN_QUEUES = 1024
_KNOWN: dict[str, tuple[str, Queue]] = {}
"""Queues read lately, by id, with their owner: a queue never changes once made."""
_DATASETS: dict[str, tuple[str, str]] = {}
"""Run id → its dataset version id and owner (a run keeps both for good)."""
_LEASED: dict[tuple[str, str], tuple[int, float]] = {}
"""(queue, annotator) → (position, lapses at) of the Redis leases this process granted (the
API makes a store per request: the record outlives it)."""
KNOWN_LEASES = 100_000
Publish = Callable[[str, dict[str, Any]], None]
"""``publish(queue_id, event)``: hands a progress event to the queue's live stream."""


def stream_key(queue_id: str) -> str:
    """The Redis stream of a queue's live progress events.

    Examples:
        >>> stream_key("q_1")
        'af:queue:q_1:events'
    """
    return f"af:queue:{queue_id}:events"


@dataclass(frozen=True)
class QueueItem:
    """An item as an annotator sees it: the item and its cell(s), each with its case.

    Attributes:
        queue_id: The queue.
        item: The item (position, cell key, pairwise sides and order).
        cells: The item's cell; a pairwise item's two, side A then side B.
    """

    queue_id: str
    item: Item
    cells: tuple[ResultRecord, ...]

    @property
    def left(self) -> ResultRecord:
        """A pairwise item's cell shown on the left."""
        return self.cells[1] if self.item.swapped else self.cells[0]

    @property
    def right(self) -> ResultRecord:
        """A pairwise item's cell shown on the right."""
        return self.cells[0] if self.item.swapped else self.cells[1]


class QueueStore:
    """Annotation queues of runs; only the runs' owner makes, reads or works them.

    Args:
        db: The database.
        runs: The run store (owner checks, recorded cells).
        publish: Where progress events go (a Redis stream), when anywhere.
        lease_s: How long a claim holds.
        clock: Seconds since the epoch (a fake one in tests of lapsing claims).
        leases: Redis leases for claims; ``None``: claim rows in the database.
    """

    def __init__(
        self,
        db: Engine,
        runs: RunStore,
        *,
        publish: Publish | None = None,
        lease_s: float = LEASE_S,
        clock: Callable[[], float] = time.time,
        leases: RedisLeases | None = None,
    ) -> None:
        self.leases = leases
        self.db = db
        self.runs = runs
        self.publish = publish
        self.lease_s = lease_s
        self.clock = clock

    def create(
        self,
        owner: str,
        run_ids: Sequence[str],
        *,
        name: str = "",
        where: QueueFilter | None = None,
        kind: ItemKind = "single",
        versions: Sequence[str] = (),
        assignees: Sequence[str] = (),
        annotators_per_item: int = 1,
        seed: int = 0,
    ) -> Queue:
        """Make a queue of the recorded cells of ``run_ids`` that ``where`` selects.

        Raises:
            NotFoundError: a run is not one of ``owner``'s.
            ValidationError: bad settings, unknown versions, or no cell matches.
        """
        queue = Queue(
            id=new_id("q"),
            name=name,
            run_ids=tuple(run_ids),
            filter=where or QueueFilter(),
            kind=kind,
            versions=tuple(versions),
            assignees=tuple(assignees),
            annotators_per_item=annotators_per_item,
            seed=seed,
            created_by=owner,
            created_at=utc_now_iso(),
        )
        self._check_workers(owner, queue.assignees, field="assignees")
        infos = [self.runs.get(owner, run_id) for run_id in queue.run_ids]
        items = self._items(owner, queue, infos)
        queue = replace(queue, versions=versions_of(queue, items), item_count=len(items))
        dealt = deal(len(items), queue.assignees, queue.annotators_per_item)
        with self.db.begin() as conn:
            conn.execute(insert(annotation_queues).values(**queue_row(owner, queue)))
            conn.execute(
                insert(annotation_items),
                [item_row(queue, item, bool(dealt[item.position])) for item in items],
            )
            assigned = [
                {"queue_id": queue.id, "position": n, "annotator": who}
                for n, names in enumerate(dealt)
                for who in names
            ]
            if assigned:
                conn.execute(insert(annotation_assignments), assigned)
        return queue

    def _items(self, owner: str, queue: Queue, infos: list[RunInfo]) -> list[Item]:
        scorers = [record for info in infos for record in info.spec.scorers]
        marks, judges = pass_marks(scorers), judge_thresholds(scorers)
        if queue.kind == "single":
            cells = self.runs.results(owner, infos[0].id)
            return select_cells(cells, queue.filter, marks=marks, judges=judges, seed=queue.seed)
        if len(infos) == 2:
            a, b = (self.runs.results(owner, info.id) for info in infos)
            for info in infos:
                if len(info.spec.prompt_versions) != 1:
                    raise ValidationError(
                        f"run {info.id} holds several prompt versions: make a pairwise queue "
                        "of that one run, naming two of its versions",
                        field="runs",
                        reason="bad-runs",
                    )
            same_models = set(infos[0].spec.models) == set(infos[1].spec.models)
            single_models = len(infos[0].spec.models) == len(infos[1].spec.models) == 1
            if not (same_models or single_models):
                raise ValidationError(
                    "the two runs must call the same models, or one model each",
                    field="runs",
                    reason="bad-runs",
                )
            return pair_cells(
                a, b, queue.filter, marks=marks, judges=judges, seed=queue.seed,
                match_model=same_models,
            )  # fmt: skip
        first, second = two_versions(infos[0], queue.versions)
        cells = self.runs.results(owner, infos[0].id)
        return pair_cells(
            [c for c in cells if c.prompt_version == first],
            [c for c in cells if c.prompt_version == second],
            queue.filter,
            marks=marks,
            judges=judges,
            seed=queue.seed,
            match_model=True,
        )

    def get(self, owner: str | None, queue_id: str) -> Queue:
        """A queue; ``owner=None`` for trusted internal callers only.

        Raises:
            NotFoundError: no such queue of ``owner``.
        """
        cached = _KNOWN.get(queue_id)
        if cached is not None and owner in (None, cached[0]):
            return cached[1]
        with self.db.connect() as conn:
            row = conn.execute(sql.QUEUE, {"id": queue_id}).mappings().first()
        if row is None or owner not in (None, row["owner"]):
            raise NotFoundError(f"queue {queue_id!r} not found", reason="unknown-queue")
        queue = queue_of(dict(row))
        _KNOWN[queue_id] = (row["owner"], queue)
        while len(_KNOWN) > KNOWN_QUEUES:
            _KNOWN.pop(next(iter(_KNOWN)))
        return queue

    def list(
        self, owner: str, *, after: tuple[str, str] | None = None, limit: int = 50
    ) -> builtins.list[tuple[tuple[str, str], Queue]]:
        """``owner``'s queues, newest first, each with its cursor (created at, id)."""
        key = tuple_(annotation_queues.c.created_at, annotation_queues.c.id)
        query = select(annotation_queues).where(annotation_queues.c.owner == owner)
        if after is not None:
            query = query.where(key < tuple_(*after))
        query = query.order_by(*(c.desc() for c in key.clauses)).limit(limit)
        with self.db.connect() as conn:
            rows = conn.execute(query).mappings().all()
        return [((row["created_at"], row["id"]), queue_of(dict(row))) for row in rows]

    def items(self, owner: str, queue_id: str) -> builtins.list[Item]:
        """Every item of a queue, in position order (with each pairwise item's order)."""
        self.get(owner, queue_id)
        with self.db.connect() as conn:
            rows = conn.execute(
                select(annotation_items)
                .where(annotation_items.c.queue_id == queue_id)
                .order_by(annotation_items.c.position)
            ).mappings()
            return [item_of(dict(row)) for row in rows]

    def item(self, owner: str, queue_id: str, position: int) -> QueueItem:
        """One item with its cell(s).

        Raises:
            NotFoundError: no such queue of ``owner``, or no such item.
        """
        queue = self.get(owner, queue_id)
        with self.db.connect() as conn:
            return self._view(conn, queue, position)[0]

    def next(self, owner: str, queue_id: str, annotator: str) -> QueueItem | None:
        """Claim the next item for ``annotator``: the one they hold, else the first item
        assigned to them (or, in a queue without assignees, to nobody) that they neither
        answered nor skipped and that still needs answers no other live claim reserves.

        Returns:
            The item, or ``None`` when nothing is left for them.

        Raises:
            NotFoundError: no such queue of ``owner``.
            ValidationError: ``annotator`` is not one of the queue's assignees.
        """
        queue = self.get(owner, queue_id)
        queue = self._may_work(queue, annotator)
        if self.leases is not None:
            return self._lease_next(queue, annotator, self.leases)
        find = sql.HELD_OR_ASSIGNED if queue.assignees else sql.HELD_OR_OPEN
        for attempt in range(CLAIM_ATTEMPTS):
            now = self.clock()
            params = {"q": queue.id, "a": annotator, "now": now}
            # The lock before the connection: a thread waiting for the lock must not hold
            # one of the pool's connections the lock's holder may need. The first find is
            # outside it (cheap, and usually right); after a lost race the find moves
            # inside, so no other annotator of this process can take the item between the
            # find and the claim: found outside every time, 20 annotators all found the
            # same first open item and one could lose every try (measured: a
            # `claim-contended` within 20 s of a closed loop). Only another process's
            # claim can still beat it, and the loop looks again.
            if attempt == 0:
                with self.db.connect() as conn:
                    position = conn.execute(find, params).scalar()
                if position is None:
                    return None
                with sql.WRITES, self.db.begin() as conn:
                    claim = {**params, "p": position, "until": now + self.lease_s}
                    claimed = conn.execute(sql.CLAIM, claim).rowcount == 1
            else:
                with sql.WRITES, self.db.begin() as conn:
                    position = conn.execute(find, params).scalar()
                    if position is None:
                        return None
                    claim = {**params, "p": position, "until": now + self.lease_s}
                    claimed = conn.execute(sql.CLAIM, claim).rowcount == 1
            if claimed:
                with self.db.connect() as conn:
                    return self._view(conn, queue, int(position))[0]
        raise ConflictError(
            "the queue is too busy to claim an item now; ask again", reason="claim-contended"
        )

    def _lease_next(self, queue: Queue, annotator: str, leases: RedisLeases) -> QueueItem | None:
        window = sql.ASSIGNED_WINDOW if queue.assignees else sql.OPEN_WINDOW
        after = -1
        for _ in range(CLAIM_ATTEMPTS):
            now = self.clock()
            params = {"q": queue.id, "a": annotator, "now": now, "after": after, "n": WINDOW}
            with self.db.connect() as conn:
                candidates = [(int(p), int(f)) for p, f in conn.execute(window, params).all()]
            if not candidates:
                return None
            got = leases.claim(queue.id, annotator, candidates, now, self.lease_s)
            if got is None:
                if len(candidates) < WINDOW:
                    return None
                after = candidates[-1][0]
                continue
            position, rank = got
            with self.db.connect() as conn:
                view, remaining = self._view(conn, queue, position)
            # The slots came from a read before the claim; `remaining`, read after it, holds
            # every answer whose lease was gone when the claim was taken.
            if (rank == HELD and remaining > 0) or 0 < rank <= remaining:
                _LEASED[(queue.id, annotator)] = (position, now + self.lease_s)
                if len(_LEASED) > KNOWN_LEASES:
                    _LEASED.clear()  # a forgotten lease costs only a renewal at submit
                return view
            leases.release(queue.id, annotator, position)
            after = -1
        raise ConflictError(
            "the queue is too busy to claim an item now; ask again", reason="claim-contended"
        )

    def submit(
        self,
        owner: str,
        queue_id: str,
        position: int,
        annotator: str,
        *,
        verdict: Verdict | None = None,
        score: float | None = None,
        correction: str | None = None,
        comment: str | None = None,
        tags: Sequence[str] = (),
        choice: Choice | None = None,
    ) -> Answer:
        """Answer an item: a single item's verdict and/or score (with an optional correction,
        comment and tags) is recorded as feedback on its cell, as `Run.feedback` records it;
        a pairwise item's ``choice`` (``left``, ``right`` or ``tie``, as shown) is kept
        with the queue. The answer and the feedback are written together or not at all.

        Raises:
            NotFoundError: no such queue of ``owner``, or no such item.
            ValidationError: bad values, a missing verdict/score (single) or choice
                (pairwise), or ``annotator`` may not work this item.
            ConflictError: already answered or skipped (``already-answered``), or the item
                has every answer it needs or other annotators hold its open slots
                (``item-taken``).
        """
        queue = self.get(owner, queue_id)
        queue = self._may_work(queue, annotator)
        now = utc_now_iso()
        with self.db.connect() as conn:
            item, remaining = self._item_at(conn, queue, position)
        _check_assigned(self.db, queue, position, annotator)
        feedback = answer_feedback(queue, item, annotator, now, verdict, score, correction, comment,
                             tags, choice)  # fmt: skip
        answer = Answer(position, annotator, verdict, None if score is None else float(score),
                        choice, now)  # fmt: skip
        clock = self.clock()
        params: dict[str, Any] = {"q": queue.id, "p": position, "a": annotator, "now": clock,
                                  "rank": 1}  # fmt: skip
        leases = self.leases
        if leases is not None and not self._still_leased(queue.id, annotator, position):
            # Leased while the answer commits, released after: a claim that finds the slot
            # free then reads the answer (see `engine.evaluation.queue_leases`).
            rank = leases.hold(queue.id, annotator, position, remaining, clock, self.lease_s)
            if rank is None:
                with self.db.connect() as conn:
                    self._refuse_answered(conn, queue.id, position, annotator)
                raise _taken(position)
            params["rank"] = max(rank, 1)
        try:
            # Every write transaction here starts with its write: one that read first would
            # hold a snapshot it may not upgrade once another annotator has written (SQLite
            # then answers "database is locked" after the busy timeout).
            with sql.WRITES, self.db.begin() as conn:
                if conn.execute(sql.TAKE_SLOT, params).rowcount != 1:
                    self._refuse_answered(conn, queue.id, position, annotator)
                    raise _taken(position)
                conn.execute(insert(annotation_answers), [answer_row(queue.id, answer)])
                if feedback is not None:
                    insert_feedback(conn, feedback)
                conn.execute(sql.RELEASE, params)
        finally:
            if leases is not None:
                _LEASED.pop((queue.id, annotator), None)
                leases.release(queue.id, annotator, position)
        self._announce(queue.id, "answered", position, annotator)
        return answer

    def skip(self, owner: str, queue_id: str, position: int, annotator: str) -> None:
        """Pass on an item: it is not offered to ``annotator`` again, and its slot stays
        open for others.

        Raises:
            NotFoundError: no such queue of ``owner``, or no such item.
            ConflictError: already answered or skipped (``already-answered``).
        """
        queue = self.get(owner, queue_id)
        queue = self._may_work(queue, annotator)
        _check_position(queue, position)
        _check_assigned(self.db, queue, position, annotator)
        params = {"q": queue.id, "p": position, "a": annotator}
        answered = unique_as_conflict(
            f"{annotator} already answered or skipped item {position}",
            reason="already-answered",
            position=position,
        )
        with answered, sql.WRITES, self.db.begin() as conn:
            row = {
                "queue_id": queue.id,
                "position": position,
                "annotator": annotator,
                "status": "skipped",
                "created_at": utc_now_iso(),
            }
            conn.execute(insert(annotation_answers), [row])
            conn.execute(sql.RELEASE, params)
        if self.leases is not None:
            _LEASED.pop((queue.id, annotator), None)
            self.leases.release(queue.id, annotator, position)
        self._announce(queue.id, "skipped", position, annotator)

    def reassign(
        self,
        owner: str,
        queue_id: str,
        source: str,
        target: str,
        positions: Sequence[int] | None = None,
    ) -> builtins.list[int]:
        """Hand ``source``'s open items over to ``target`` (added to the assignees): every
        item of theirs that still needs answers and that they neither answered nor skipped
        (answers stay theirs), or exactly ``positions``. Their claims on moved items end.

        Returns:
            The positions moved.

        Raises:
            NotFoundError: no such queue of ``owner``.
            ValidationError: a queue without assignees, ``source`` not among them, or
                ``target`` the same.
            ConflictError: a named position cannot move (``not-movable``); nothing moves.
        """
        queue = self._fresh(self.get(owner, queue_id))
        for position in positions or ():
            _check_position(queue, position)
        changed = check_reassign(queue, source, target)
        self._check_workers(owner, (target,), field="to")
        with sql.WRITES, self.db.begin() as conn:
            moved = move_items(conn, owner, changed, source, target, positions)
        _KNOWN.pop(queue.id, None)
        if self.leases is not None:
            for position in moved:
                if _LEASED.get((queue.id, source), (None,))[0] == position:
                    _LEASED.pop((queue.id, source), None)
                self.leases.release(queue.id, source, position)
        return moved

    def _check_workers(self, owner: str, names: Sequence[str], *, field: str) -> None:
        """In a shared workspace, an assignee is a member whose role may work queues (in a
        personal one, names are the owner's own labels for who works it)."""
        if not is_shared_id(owner):
            return
        members = WorkspaceStore(self.db)
        for name in names:
            found = members.role_of(owner, name)
            if found is None or not can(found[1], "queue.work"):
                raise ValidationError(
                    f"assignee {name!r} is not a member of this workspace who may work queues "
                    "(owner, editor or annotator)",
                    field=field,
                )

    def _still_leased(self, queue_id: str, annotator: str, position: int) -> bool:
        """Whether this store leased the item to the annotator with half the lease still to
        run: no hold needed before the answer then (a Redis round trip, ~0.1 ms idle, a few
        under load). A live lease ends early only by an answer or skip of the item (the
        answer's guard refuses it) or a reassignment (the assignment check refuses it): a
        claim of another item leaves a live lease alone."""
        got = _LEASED.get((queue_id, annotator))
        return got is not None and got[0] == position and got[1] - self.clock() > self.lease_s / 2

    def _fresh(self, queue: Queue) -> Queue:
        _KNOWN.pop(queue.id, None)
        return self.get(None, queue.id)

    def _may_work(self, queue: Queue, annotator: str) -> Queue:
        check_annotator(annotator)
        if queue.assignees and annotator not in queue.assignees:
            queue = self._fresh(queue)  # another process may have reassigned items to them
            _may_work(queue, annotator)
        return queue

    def answers(self, owner: str, queue_id: str) -> builtins.list[Answer]:
        """Every answer given (skips left out), by position then annotator."""
        self.get(owner, queue_id)
        return self._answers(queue_id)

    def _answers(self, queue_id: str) -> builtins.list[Answer]:
        t = annotation_answers.c
        query = (
            select(annotation_answers)
            .where(t.queue_id == queue_id, t.status == "done")
            .order_by(t.position, t.annotator)
        )
        with self.db.connect() as conn:
            rows = conn.execute(query).mappings().all()
        return [
            Answer(
                r["position"],
                r["annotator"],
                r["verdict"],
                r["score"],
                r["choice"],
                r["created_at"],
            )  # fmt: skip
            for r in rows
        ]

    def progress(self, owner: str, queue_id: str) -> Progress:
        """Items, complete items, answers given and needed, skips, and each annotator's."""
        queue = self.get(owner, queue_id)
        items, answers = annotation_items.c, annotation_answers.c
        with self.db.connect() as conn:
            total, complete = conn.execute(
                select(
                    func.count(),
                    func.coalesce(func.sum(case((items.remaining == 0, 1), else_=0)), 0),
                ).where(items.queue_id == queue.id)
            ).one()
            counts = conn.execute(
                select(answers.annotator, answers.status, func.count())
                .where(answers.queue_id == queue.id)
                .group_by(answers.annotator, answers.status)
            ).all()
            assigned: dict[str, int] = dict(
                conn.execute(
                    select(annotation_assignments.c.annotator, func.count())
                    .where(annotation_assignments.c.queue_id == queue.id)
                    .group_by(annotation_assignments.c.annotator)
                ).all()
            )
        done: dict[str, int] = {}
        skipped: dict[str, int] = {}
        for who, status, n in counts:
            (done if status == "done" else skipped)[who] = int(n)
        people = sorted({*done, *skipped, *assigned, *queue.assignees})
        return Progress(
            items=int(total),
            complete=int(complete),
            answers=sum(done.values()),
            needed=int(total) * queue.annotators_per_item,
            skipped=sum(skipped.values()),
            annotators=tuple(
                AnnotatorProgress(
                    who, done.get(who, 0), skipped.get(who, 0), int(assigned.get(who, 0))
                )
                for who in people
            ),
        )

    def agreement(self, owner: str, queue_id: str) -> Agreement:
        """How far the annotators agree (see `domain.annotation.agreement`)."""
        queue = self.get(owner, queue_id)
        return agreement(self._answers(queue.id), queue.annotators_per_item)

    def tally(self, owner: str, queue_id: str) -> Tally:
        """A pairwise queue's preferences per version, the left/right order undone.

        Raises:
            ValidationError: not a pairwise queue.
        """
        queue = self.get(owner, queue_id)
        if queue.kind != "pairwise":
            raise ValidationError("only a pairwise queue has a tally", reason="not-pairwise")
        return tally(self.items(owner, queue_id), self._answers(queue.id))

    def _refuse_answered(self, conn: Connection, queue_id: str, position: int, who: str) -> None:
        t = annotation_answers.c
        found = conn.execute(
            select(t.status).where(
                t.queue_id == queue_id, t.position == position, t.annotator == who
            )  # fmt: skip
        ).scalar()
        if found is not None:
            raise ConflictError(
                f"{who} already {'answered' if found == 'done' else 'skipped'} item {position}",
                reason="already-answered",
                position=position,
            )

    def _item_at(self, conn: Connection, queue: Queue, position: int) -> tuple[Item, int]:
        """The item and the answers it still needs."""
        _check_position(queue, position)
        row = conn.execute(sql.ITEM, {"q": queue.id, "p": position}).mappings().first()
        if row is None:
            raise NotFoundError(f"queue {queue.id} has no item {position}", reason="unknown-item")
        return item_of(dict(row)), int(row["remaining"])

    def _view(self, conn: Connection, queue: Queue, position: int) -> tuple[QueueItem, int]:
        item, remaining = self._item_at(conn, queue, position)
        sides = [item.side_a] + ([item.other] if item.other else [])
        cells = tuple(
            self._cell(conn, run, version, model, item.case_id, item.repeat)
            for run, version, model in sides
        )
        return QueueItem(queue.id, item, cells), remaining

    def _cell(
        self, conn: Connection, run_id: str, version: str, model: str, case_id: str, repeat: int
    ) -> ResultRecord:
        known = _DATASETS.get(run_id)
        if known is None:
            info = self.runs.get(None, run_id)
            known = _DATASETS[run_id] = (info.spec.dataset_version_id, info.owner)
        dataset, owner = known
        key = {"r": run_id, "v": version, "m": model, "c": case_id, "n": repeat, "d": dataset,
               "o": owner}  # fmt: skip
        row = dict(conn.execute(sql.RESULT, key).mappings().one())
        body = row.pop("case_body")
        case = case_from_row(json.loads(body)) if body is not None else None
        return to_record(row, case)

    def _announce(self, queue_id: str, kind: str, position: int, annotator: str) -> None:
        if self.publish is None:
            return
        t = annotation_answers.c
        with self.db.connect() as conn:
            answered = conn.execute(
                select(func.count()).where(t.queue_id == queue_id, t.status == "done")
            ).scalar_one()
            left = conn.execute(
                select(annotation_items.c.remaining).where(
                    annotation_items.c.queue_id == queue_id,
                    annotation_items.c.position == position,
                )
            ).scalar_one()
        event = {
            "type": kind,
            "queue_id": queue_id,
            "position": position,
            "annotator": annotator,
            "item_remaining": int(left),
            "answers": int(answered),
            "at": utc_now_iso(),
        }
        try:
            self.publish(queue_id, event)
        except Exception:  # the answer is recorded; a lost event only delays a view
            pass


def _taken(position: int) -> ConflictError:
    return ConflictError(
        f"item {position} has every answer it needs, or others hold its open slots",
        reason="item-taken",
        position=position,
    )


def _may_work(queue: Queue, annotator: str) -> None:
    check_annotator(annotator)
    if queue.assignees and annotator not in queue.assignees:
        raise ValidationError(
            f"{annotator!r} is not among the queue's assignees",
            field="annotator",
            reason="not-assigned",
        )


def _check_position(queue: Queue, position: int) -> None:
    if isinstance(position, bool) or not isinstance(position, int):
        raise ValidationError("an item position is an integer", field="position")
    if not 0 <= position < queue.item_count:
        raise NotFoundError(f"queue {queue.id} has no item {position}", reason="unknown-item")


def _check_assigned(db: Engine, queue: Queue, position: int, annotator: str) -> None:
    if not queue.assignees:
        return
    t = annotation_assignments.c
    with db.connect() as conn:
        found = conn.execute(
            select(t.annotator).where(
                t.queue_id == queue.id, t.position == position, t.annotator == annotator
            )
        ).scalar()
    if found is None:
        raise ValidationError(
            f"item {position} is not assigned to {annotator!r}",
            field="annotator",
            reason="not-assigned",
        )
