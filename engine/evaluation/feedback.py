"""People's feedback on recorded cells, in the database: append-only, scoped by run owner."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, Engine, insert, select, tuple_

from domain.errors import NotFoundError, ValidationError
from domain.feedback import Feedback, Verdict
from engine.evaluation.runs import RunStore
from engine.evaluation.tables import cell_feedback, results
from engine.store_util import new_id, utc_now_iso

FeedbackCursor = tuple[str, str]
"""A feedback's place in a listing: (created at, id)."""


class FeedbackStore:
    """Feedback on the cells of runs; only a run's owner gives or reads it."""

    def __init__(self, db: Engine, runs: RunStore) -> None:
        self.db = db
        self.runs = runs

    def add(
        self,
        owner: str,
        run_id: str,
        case_id: str,
        *,
        version: str | None = None,
        model: str | None = None,
        repeat: int = 0,
        verdict: Verdict | None = None,
        score: float | None = None,
        correction: str | None = None,
        comment: str | None = None,
        tags: Sequence[str] = (),
        author: str | None = None,
    ) -> Feedback:
        """Record feedback on the one recorded cell that ``case_id``, ``repeat`` and (when
        the run has several) ``version`` (an id or its prefix) and ``model`` name.
        ``author`` (default: ``owner``) is the user who gives it, ``owner`` the run's workspace.

        Raises:
            NotFoundError: no such run of ``owner``, or no such recorded cell.
            ValidationError: bad feedback, or the cell is ambiguous (name version/model).
        """
        self.runs.get(owner, run_id)
        prompt_version, asked_model = self._cell(run_id, case_id, version, model, repeat)
        feedback = Feedback(
            run_id=run_id,
            prompt_version=prompt_version,
            model=asked_model,
            case_id=case_id,
            repeat=repeat,
            author=owner if author is None else author,
            created_at=utc_now_iso(),
            verdict=verdict,
            score=score,
            correction=correction,
            comment=comment,
            tags=tuple(tags),
        )
        with self.db.begin() as conn:
            insert_feedback(conn, feedback)
        return feedback

    def _cell(
        self, run_id: str, case_id: str, version: str | None, model: str | None, repeat: int
    ) -> tuple[str, str]:
        query = select(results.c.prompt_version, results.c.model).where(
            results.c.run_id == run_id, results.c.case_id == case_id, results.c.repeat == repeat
        )
        if version is not None:
            query = query.where(results.c.prompt_version.startswith(version, autoescape=True))
        if model is not None:
            query = query.where(results.c.model == model)
        with self.db.connect() as conn:
            found = [(str(v), str(m)) for v, m in conn.execute(query.limit(2))]
        if not found:
            raise NotFoundError(
                f"run {run_id!r} has no recorded cell for case {case_id!r} (repeat {repeat})",
                reason="unknown-cell",
            )
        if len(found) > 1:
            raise ValidationError(
                f"case {case_id!r} has cells for several prompt versions or models: "
                "name the version and the model",
                reason="ambiguous-cell",
            )
        return found[0]

    def for_run(
        self,
        owner: str | None,
        run_id: str,
        *,
        after: FeedbackCursor | None = None,
        limit: int | None = None,
    ) -> list[Feedback]:
        """A run's feedback, oldest first (``after`` and ``limit`` page it).

        Raises:
            NotFoundError: no such run of ``owner``.
        """
        self.runs.get(owner, run_id)
        return [feedback for _, feedback in self.page(run_id, after=after, limit=limit)]

    def page(
        self, run_id: str, *, after: FeedbackCursor | None = None, limit: int | None = None
    ) -> list[tuple[FeedbackCursor, Feedback]]:
        """A run's feedback with each one's cursor, oldest first; the caller checked the owner."""
        key = tuple_(cell_feedback.c.created_at, cell_feedback.c.id)
        query = select(cell_feedback).where(cell_feedback.c.run_id == run_id)
        if after is not None:
            query = query.where(key > tuple_(*after))
        query = query.order_by(*key.clauses)
        if limit is not None:
            query = query.limit(limit)
        with self.db.connect() as conn:
            rows = conn.execute(query).mappings().all()
        return [((row["created_at"], row["id"]), _feedback(dict(row))) for row in rows]


def insert_feedback(conn: Connection, feedback: Feedback) -> str:
    """Append ``feedback`` within the caller's transaction (the caller checked the run's
    owner and the cell); returns its id. An annotation queue's answer writes through here."""
    row = {**feedback.to_dict(), "id": new_id("fb"), "tags": json.dumps(list(feedback.tags))}
    conn.execute(insert(cell_feedback), [row])  # parameters, not values(): compiled once
    return str(row["id"])


def _feedback(row: dict[str, Any]) -> Feedback:
    return Feedback(
        run_id=row["run_id"],
        prompt_version=row["prompt_version"],
        model=row["model"],
        case_id=row["case_id"],
        repeat=row["repeat"],
        author=row["author"],
        created_at=row["created_at"],
        verdict=row["verdict"],
        score=row["score"],
        correction=row["correction"],
        comment=row["comment"],
        tags=tuple(json.loads(row["tags"])),
    )
