"""Reassigning a queue's items from one assignee to another after it was made."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Any

from sqlalchemy import Connection, bindparam, delete, exists, select, update

from domain.annotation import Queue, check_annotator
from domain.errors import ConflictError, ValidationError
from engine.evaluation.queue_rows import queue_row
from engine.evaluation.queue_tables import (
    annotation_answers,
    annotation_assignments,
    annotation_claims,
    annotation_items,
    annotation_queues,
)


def check_reassign(queue: Queue, source: str, target: str) -> Queue:
    """The queue with ``target`` among its assignees.

    Raises:
        ValidationError: the queue has no assignees (anyone takes its items), ``source`` is
            not one of them, or ``source`` and ``target`` are the same.
    """
    check_annotator(source)
    check_annotator(target)
    if not queue.assignees:
        raise ValidationError(
            "the queue has no assignees: anyone may take its items",
            field="assignees",
            reason="no-assignees",
        )
    if source not in queue.assignees:
        raise ValidationError(
            f"{source!r} is not among the queue's assignees", field="from", reason="not-assigned"
        )
    if source == target:
        raise ValidationError("reassign to someone else", field="to")
    if target in queue.assignees:
        return queue
    return replace(queue, assignees=(*queue.assignees, target))


def move_items(
    conn: Connection,
    owner: str,
    queue: Queue,
    source: str,
    target: str,
    positions: Sequence[int] | None,
) -> list[int]:
    """Move ``source``'s items that still need answers, and that ``source`` neither answered
    nor skipped and ``target`` is not already assigned, to ``target``: every such item, or
    exactly ``positions``. ``queue`` already names ``target`` among its assignees.

    Returns:
        The positions moved, in order.

    Raises:
        ConflictError: a named position cannot move (``reason="not-movable"``); nothing is
            written then.
    """
    s, i, w = annotation_assignments.c, annotation_items.c, annotation_answers.c
    # The write first: a transaction that read first could not upgrade its snapshot once
    # another writer committed (see `QueueStore.submit`).
    conn.execute(
        update(annotation_queues)
        .where(annotation_queues.c.id == queue.id)
        .values(spec=queue_row(owner, queue)["spec"])
    )
    answered = exists().where(w.queue_id == s.queue_id, w.position == s.position,
                              w.annotator == source)  # fmt: skip
    target_too = (
        select(annotation_assignments.c.position)
        .where(s.queue_id == queue.id, s.annotator == target)
        .scalar_subquery()
    )
    query = (
        select(s.position)
        .join(annotation_items, (i.queue_id == s.queue_id) & (i.position == s.position))
        .where(s.queue_id == queue.id, s.annotator == source, i.remaining > 0, ~answered)
        .where(s.position.not_in(target_too))
        .order_by(s.position)
    )
    if positions is not None:
        query = query.where(s.position.in_(bindparam("wanted", expanding=True)))
    params = {"wanted": sorted(set(positions))} if positions is not None else {}
    movable = [int(p) for p in conn.execute(query, params).scalars()]
    if positions is not None and len(movable) != len(set(positions)):
        stuck = sorted(set(positions) - set(movable))
        raise ConflictError(
            f"items {stuck} are not {source}'s to hand over (not assigned to them, already "
            f"answered or skipped by them, complete, or already {target}'s)",
            reason="not-movable",
            positions=stuck,
        )
    if movable:
        moved: Any = bindparam("moved", expanding=True)
        conn.execute(
            update(annotation_assignments)
            .where(s.queue_id == queue.id, s.annotator == source, s.position.in_(moved))
            .values(annotator=target),
            {"moved": movable},
        )
        c = annotation_claims.c
        conn.execute(
            delete(annotation_claims).where(
                c.queue_id == queue.id, c.annotator == source, c.position.in_(moved)
            ),
            {"moved": movable},
        )
    return movable
