"""Owner-scoped optimizations and their append-only event logs."""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, func, insert, select, update

from domain.errors import ConflictError, NotFoundError
from domain.optimization.aggregate import TERMINAL, Optimization
from domain.optimization.events import Event
from engine.optimization.tables import optimization_events, optimizations
from engine.store_util import unique_as_conflict, utc_now_iso


def new_optimization_id() -> str:
    """``opt-`` + 16 hex digits: valid inside a branch name (``opt/<id>``)."""
    return f"opt-{uuid.uuid4().hex[:16]}"


@dataclass(frozen=True)
class OptimizationRow:
    """The stored row of an optimization (its state is the fold of its events)."""

    id: str
    owner: str
    name: str
    status: str
    prompt_id: str
    request: dict[str, Any]
    idempotency_key: str | None
    error: str | None
    created_at: str
    updated_at: str
    finished_at: str | None


class OptimizationStore:
    """Optimizations of every owner; each query names the owner (None: trusted callers)."""

    def __init__(self, db: Engine) -> None:
        self.db = db

    def create(
        self,
        owner: str,
        *,
        name: str,
        prompt_id: str,
        request: Mapping[str, Any],
        idempotency_key: str | None = None,
        started: Event,
        optimization_id: str | None = None,
    ) -> tuple[OptimizationRow, bool]:
        """Store a new optimization with its ``started`` event, in one transaction.

        Returns:
            The row, and whether it is new (False: an idempotent replay of ``request``).

        Raises:
            ConflictError: ``reason="idempotency-mismatch"``: the key names another request.
        """
        if idempotency_key is not None:
            existing = self._by_key(owner, idempotency_key)
            if existing is not None:
                if existing.request != json.loads(json.dumps(request, sort_keys=True)):
                    raise ConflictError(
                        "Idempotency-Key already used for a different optimization request",
                        reason="idempotency-mismatch",
                        optimization_id=existing.id,
                    )
                return existing, False
        now = utc_now_iso()
        row = {
            "id": optimization_id or new_optimization_id(),
            "owner": owner,
            "name": name,
            "status": "running",
            "prompt_id": prompt_id,
            "request": json.dumps(request, sort_keys=True),
            "idempotency_key": idempotency_key,
            "error": None,
            "created_at": now,
            "updated_at": now,
            "finished_at": None,
        }
        reused = unique_as_conflict("idempotency key reused", reason="idempotency")
        with reused, self.db.begin() as conn:
            conn.execute(insert(optimizations).values(**row))
            conn.execute(
                insert(optimization_events).values(
                    optimization_id=row["id"],
                    seq=0,
                    type=started.type,
                    data=json.dumps(dict(started.data), sort_keys=True),
                    at=now,
                )
            )
        return _row(row), True

    def _by_key(self, owner: str, key: str) -> OptimizationRow | None:
        query = select(optimizations).where(
            optimizations.c.owner == owner, optimizations.c.idempotency_key == key
        )
        with self.db.connect() as conn:
            row = conn.execute(query).mappings().first()
        return _row(dict(row)) if row else None

    def get(self, owner: str | None, optimization_id: str) -> OptimizationRow:
        """The row; another owner's id is not found.

        Raises:
            NotFoundError: ``reason="unknown-optimization"``.
        """
        query = select(optimizations).where(optimizations.c.id == optimization_id)
        if owner is not None:
            query = query.where(optimizations.c.owner == owner)
        with self.db.connect() as conn:
            row = conn.execute(query).mappings().first()
        if row is None:
            raise NotFoundError(
                f"optimization {optimization_id!r} not found", reason="unknown-optimization"
            )
        return _row(dict(row))

    def list_optimizations(
        self, owner: str, *, limit: int = 50, before: str | None = None
    ) -> list[OptimizationRow]:
        """The owner's optimizations, newest first; ``before``: an id, for the next page."""
        query = select(optimizations).where(optimizations.c.owner == owner)
        if before is not None:
            pivot = (
                select(optimizations.c.created_at)
                .where(optimizations.c.owner == owner, optimizations.c.id == before)
                .scalar_subquery()
            )
            query = query.where(optimizations.c.created_at < pivot)
        query = query.order_by(optimizations.c.created_at.desc()).limit(max(1, min(limit, 500)))
        with self.db.connect() as conn:
            rows = conn.execute(query).mappings().all()
        return [_row(dict(r)) for r in rows]

    def events(self, optimization_id: str, after: int = -1) -> list[Event]:
        """The log after ``seq`` ``after``, in order."""
        query = (
            select(optimization_events)
            .where(
                optimization_events.c.optimization_id == optimization_id,
                optimization_events.c.seq > after,
            )
            .order_by(optimization_events.c.seq)
        )
        with self.db.connect() as conn:
            rows = conn.execute(query).mappings().all()
        return [Event(r["type"], json.loads(r["data"]), r["seq"], r["at"]) for r in rows]

    def load(self, owner: str | None, optimization_id: str) -> Optimization:
        """The aggregate rebuilt from its log (owner-scoped)."""
        row = self.get(owner, optimization_id)
        return Optimization.replay(row.id, row.owner, self.events(row.id))

    def append(self, state: Optimization) -> list[Event]:
        """Store ``state.pending_events`` after the events already stored, and the row's
        status; a second writer of the same log gets a ConflictError (nothing stored).

        Returns:
            The stored events (with ``seq`` and ``at``).
        """
        pending = list(state.pending_events)
        if not pending:
            return []
        first = len(state.events) - len(pending)
        now = utc_now_iso()
        stored = [Event(e.type, dict(e.data), first + i, now) for i, e in enumerate(pending)]
        status = state.status
        values: dict[str, Any] = {"status": status, "updated_at": now, "error": state.error}
        if status in TERMINAL:
            values["finished_at"] = now
        clash = unique_as_conflict(
            "another process writes this optimization", reason="optimization-busy"
        )
        with clash, self.db.begin() as conn:
            conn.execute(
                insert(optimization_events),
                [
                    {
                        "optimization_id": state.id,
                        "seq": e.seq,
                        "type": e.type,
                        "data": json.dumps(dict(e.data), sort_keys=True),
                        "at": e.at,
                    }
                    for e in stored
                ],
            )
            conn.execute(
                update(optimizations).where(optimizations.c.id == state.id).values(**values)
            )
        offset = len(state.events) - len(pending)
        state.events[offset:] = stored
        state.pending_events.clear()
        return stored

    def set_status(self, optimization_id: str, status: str, error: str | None = None) -> None:
        """Set the row's status without an event (``interrupted``, seen by a reader)."""
        with self.db.begin() as conn:
            conn.execute(
                update(optimizations)
                .where(optimizations.c.id == optimization_id)
                .values(status=status, error=error, updated_at=utc_now_iso())
            )

    def count_events(self, optimization_id: str) -> int:
        query = select(func.count()).where(optimization_events.c.optimization_id == optimization_id)
        with self.db.connect() as conn:
            return int(conn.execute(query).scalar() or 0)


def _row(row: Mapping[str, Any]) -> OptimizationRow:
    request = row["request"]
    return OptimizationRow(
        id=row["id"],
        owner=row["owner"],
        name=row["name"],
        status=row["status"],
        prompt_id=row["prompt_id"],
        request=json.loads(request) if isinstance(request, str) else dict(request),
        idempotency_key=row["idempotency_key"],
        error=row["error"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        finished_at=row["finished_at"],
    )
