"""Playground sessions and turns in the database, scoped by owner."""

from __future__ import annotations

import builtins
import json
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine, func, insert, select, update

from domain.errors import ConflictError, NotFoundError
from domain.playground import Answer, PlaygroundSession, Turn
from engine.playground.tables import playground_sessions, playground_turns
from engine.store_util import new_id, unique_as_conflict, utc_now_iso

ABANDONED_AFTER_S = 600.0
"""A turn still `running` this long after it started lost its process: the next turn may
start, and the stale one is closed with an error on every model."""


class PlaygroundStore:
    """Sessions of every owner; each query names the owner (another's ids: not found)."""

    def __init__(self, db: Engine) -> None:
        self.db = db

    def create(
        self,
        owner: str,
        *,
        prompt_id: str,
        prompt_version: str,
        models: Sequence[str],
        params: Mapping[str, Any],
        created_by: str,
    ) -> PlaygroundSession:
        session = PlaygroundSession(
            id=new_id("pg"),
            owner=owner,
            prompt_id=prompt_id,
            prompt_version=prompt_version,
            models=tuple(models),
            created_by=created_by,
            created_at=utc_now_iso(),
            params=dict(params),
        )
        row = {
            **{k: getattr(session, k) for k in ("id", "owner", "prompt_id", "prompt_version")},
            "models": json.dumps(list(session.models)),
            "params": json.dumps(session.params),
            "created_by": created_by,
            "created_at": session.created_at,
        }
        with self.db.begin() as conn:
            conn.execute(insert(playground_sessions).values(**row))
        return session

    def get(self, owner: str, session_id: str) -> PlaygroundSession:
        """Raises: NotFoundError: no such session of ``owner``."""
        with self.db.connect() as conn:
            row = conn.execute(
                select(playground_sessions).where(
                    playground_sessions.c.id == session_id, playground_sessions.c.owner == owner
                )
            ).first()
        if row is None:
            raise NotFoundError(f"no playground session {session_id!r}", session=session_id)
        return _session(row)

    def list(
        self, owner: str, *, limit: int = 50, after: str | None = None
    ) -> builtins.list[PlaygroundSession]:
        """Newest first; ``after`` is the id of the last session of the previous page."""
        query = select(playground_sessions).where(playground_sessions.c.owner == owner)
        if after is not None:
            anchor = self.get(owner, after)
            query = query.where(
                (playground_sessions.c.created_at < anchor.created_at)
                | (
                    (playground_sessions.c.created_at == anchor.created_at)
                    & (playground_sessions.c.id < anchor.id)
                )
            )
        query = query.order_by(
            playground_sessions.c.created_at.desc(), playground_sessions.c.id.desc()
        ).limit(limit)
        with self.db.connect() as conn:
            return [_session(r) for r in conn.execute(query)]

    def follow(self, owner: str, session_id: str, prompt_version: str) -> PlaygroundSession:
        """Make the session's next turns use ``prompt_version``."""
        with self.db.begin() as conn:
            conn.execute(
                update(playground_sessions)
                .where(playground_sessions.c.id == session_id, playground_sessions.c.owner == owner)
                .values(prompt_version=prompt_version)
            )
        return self.get(owner, session_id)

    def start_turn(
        self, owner: str, session_id: str, variables: Mapping[str, Any], author: str
    ) -> Turn:
        """The session's next turn, `running`, on its current prompt version.

        Raises:
            NotFoundError: no such session of ``owner``.
            ConflictError: ``reason="turn-running"``: the session's last turn is running.
        """
        session = self.get(owner, session_id)
        now = utc_now_iso()
        with self.db.begin() as conn:
            last = conn.execute(
                select(playground_turns)
                .where(playground_turns.c.session_id == session_id)
                .order_by(playground_turns.c.number.desc())
                .limit(1)
            ).first()
            if last is not None and last.status == "running":
                if not _abandoned(last.started_at):
                    raise ConflictError(
                        f"turn {last.number} of this session is still running",
                        reason="turn-running",
                        turn=last.number,
                    )
                conn.execute(_closing(session_id, last.number, _abandoned_answers(session)))
            turn = Turn(
                session_id=session_id,
                number=1 if last is None else last.number + 1,
                prompt_version=session.prompt_version,
                variables=dict(variables),
                author=author,
                started_at=now,
            )
            with unique_as_conflict("another turn started at the same time", reason="turn-running"):
                conn.execute(
                    insert(playground_turns).values(
                        session_id=session_id,
                        number=turn.number,
                        prompt_version=turn.prompt_version,
                        variables=json.dumps(turn.variables),
                        author=author,
                        status="running",
                        answers="[]",
                        started_at=now,
                    )
                )
        return turn

    def finish_turn(self, session_id: str, number: int, answers: Sequence[Answer]) -> None:
        with self.db.begin() as conn:
            conn.execute(_closing(session_id, number, answers))

    def turn(self, owner: str, session_id: str, number: int) -> Turn:
        """Raises: NotFoundError: no such session of ``owner``, or no such turn."""
        self.get(owner, session_id)
        with self.db.connect() as conn:
            row = conn.execute(
                select(playground_turns).where(
                    playground_turns.c.session_id == session_id,
                    playground_turns.c.number == number,
                )
            ).first()
        if row is None:
            raise NotFoundError(f"the session has no turn {number}", reason="unknown-turn")
        return _turn(row)

    def turns(self, owner: str, session_id: str) -> builtins.list[Turn]:
        """Every turn of the session, oldest first."""
        self.get(owner, session_id)
        with self.db.connect() as conn:
            rows = conn.execute(
                select(playground_turns)
                .where(playground_turns.c.session_id == session_id)
                .order_by(playground_turns.c.number)
            )
            return [_turn(r) for r in rows]

    def count_turns(self, session_id: str) -> int:
        with self.db.connect() as conn:
            return int(
                conn.execute(
                    select(func.count()).where(playground_turns.c.session_id == session_id)
                ).scalar_one()
            )


def _closing(session_id: str, number: int, answers: Sequence[Answer]) -> Any:
    return (
        update(playground_turns)
        .where(playground_turns.c.session_id == session_id, playground_turns.c.number == number)
        .values(
            status="done",
            answers=json.dumps([a.to_dict() for a in answers]),
            finished_at=utc_now_iso(),
        )
    )


def _abandoned(started_at: str) -> bool:
    started = datetime.fromisoformat(started_at)
    return datetime.now(UTC) - started > timedelta(seconds=ABANDONED_AFTER_S)


def _abandoned_answers(session: PlaygroundSession) -> list[Answer]:
    return [
        Answer(model=m, error="abandoned: the process working the turn stopped")
        for m in session.models
    ]


def _session(row: Any) -> PlaygroundSession:
    return PlaygroundSession(
        id=row.id,
        owner=row.owner,
        prompt_id=row.prompt_id,
        prompt_version=row.prompt_version,
        models=tuple(json.loads(row.models)),
        created_by=row.created_by,
        created_at=row.created_at,
        params=json.loads(row.params),
    )


def _turn(row: Any) -> Turn:
    return Turn(
        session_id=row.session_id,
        number=row.number,
        prompt_version=row.prompt_version,
        variables=json.loads(row.variables),
        author=row.author,
        started_at=row.started_at,
        status=row.status,
        answers=tuple(Answer.from_dict(a) for a in json.loads(row.answers)),
        finished_at=row.finished_at,
    )
