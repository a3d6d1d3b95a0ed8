"""The prompt store: an append-only event log with projections in the same transaction.

Optimistic concurrency: events are numbered per prompt and ``(aggregate_id, seq)`` is
unique, so two writers appending the same ``seq`` cannot both succeed; the loser gets
``ConflictError(reason="concurrent-update")``. A duplicate prompt name per owner (on create
or rename) violates the unique ``(owner, name)`` of the ``prompts`` projection and becomes
:func:`~domain.prompts.duplicate_name_error`. libSQL reports unique violations as plain
``ValueError``, stdlib sqlite as ``IntegrityError``: both are translated here.

Every read takes the owner and filters by it.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import cast

from sqlalchemy import Connection, Engine, and_, delete, func, insert, select
from sqlalchemy.exc import SQLAlchemyError

from domain.errors import ConflictError, NexusError, NotFoundError, ServiceUnavailableError
from domain.prompts import (
    Event,
    Prompt,
    PromptLimits,
    duplicate_name_error,
    event_from_dict,
    event_to_dict,
    format_time,
)
from engine.prompts.commands import Command, Outcome
from engine.prompts.models import MergeKind
from engine.prompts.projection import dumps, project
from engine.prompts.tables import PROJECTIONS, prompt_commands, prompt_events

_UNIQUE = "UNIQUE constraint failed:"


@dataclass(frozen=True)
class CommandRecord:
    """What an already applied command produced (see ``prompt_commands``)."""

    kind: str
    seq: int
    version_id: str | None
    outcome: MergeKind | None


@dataclass(frozen=True)
class RebuildReport:
    """How many prompts and events a rebuild replayed."""

    prompts: int
    events: int


class PromptStore:
    """Loads prompts from their events and appends new events with their projections.

    Args:
        db: A sync SQLAlchemy engine on a migrated database.
        limits: Size limits applied to new versions of loaded prompts.
    """

    def __init__(self, db: Engine, *, limits: PromptLimits | None = None) -> None:
        self._db = db
        self._limits = limits

    def load(self, owner: str, prompt_id: str) -> Prompt:
        """The prompt rebuilt from its events.

        Raises:
            NotFoundError: ``reason="unknown-prompt"`` (also for another owner's prompt).
        """
        prompt = self.find(owner, prompt_id)
        if prompt is None:
            raise NotFoundError(
                f"prompt {prompt_id} not found", reason="unknown-prompt", prompt=prompt_id
            )
        return prompt

    def find(self, owner: str, prompt_id: str) -> Prompt | None:
        """The prompt rebuilt from its events, or ``None`` if ``owner`` has no such prompt."""
        with _translated(), self._db.connect() as conn:
            events = _events(conn, owner, prompt_id)
        return Prompt.replay(events, limits=self._limits) if events else None

    def stored_version(self, owner: str, prompt_id: str) -> int:
        """How many events of the prompt are stored (0: none), to tell a cached aggregate
        that another writer has moved on."""
        e = prompt_events.c
        query = select(func.max(e.seq)).where(and_(e.aggregate_id == prompt_id, e.owner == owner))
        with _translated(), self._db.connect() as conn:
            return int(conn.execute(query).scalar() or 0)

    def recorded(self, owner: str, prompt_id: str, command_id: str) -> CommandRecord | None:
        """What command ``command_id`` did to the prompt, if it was applied."""
        c = prompt_commands.c
        query = select(c.kind, c.seq, c.version_id, c.outcome).where(
            and_(c.aggregate_id == prompt_id, c.command_id == command_id, c.owner == owner)
        )
        with _translated(), self._db.connect() as conn:
            row = conn.execute(query).first()
        if row is None:
            return None
        return CommandRecord(row.kind, row.seq, row.version_id, cast(MergeKind | None, row.outcome))

    def append(
        self, prompt: Prompt, command: Command | None = None, outcome: Outcome | None = None
    ) -> None:
        """Save the pending events of ``prompt`` and their projections, atomically.

        On success the events are marked persisted. On failure nothing is written and the
        aggregate still holds its unsaved events: the caller must discard it.

        Args:
            prompt: The aggregate after a command.
            command: The command that produced the events, recorded for idempotent retries.
            outcome: What the command produced, recorded with it.

        Raises:
            ConflictError: ``reason="concurrent-update"`` when another writer appended first,
                ``"duplicate-name"`` when the owner has another prompt with this name.
            ServiceUnavailableError: the database failed.
        """
        events = prompt.pending_events
        if not events:
            return
        numbered = list(enumerate(events, prompt.persisted_version + 1))
        rows = [_event_row(prompt.owner, seq, event) for seq, event in numbered]
        with _translated(prompt):
            with self._db.begin() as conn:
                conn.execute(insert(prompt_events), rows)
                project(conn, prompt, numbered)
                if command is not None:
                    record = _command_row(prompt, command, outcome)
                    conn.execute(insert(prompt_commands).values(record))
        prompt.mark_persisted()

    def rebuild(self, owner: str) -> RebuildReport:
        """Regenerate every projection row of ``owner`` from the events, in one transaction."""
        prompt_count = event_count = 0
        with _translated(), self._db.begin() as conn:
            for table in PROJECTIONS:
                conn.execute(delete(table).where(table.c.owner == owner))
            e = prompt_events.c
            ids = conn.execute(
                select(e.aggregate_id).where(e.owner == owner).distinct().order_by(e.aggregate_id)
            ).scalars()
            for prompt_id in list(ids):
                events = _events(conn, owner, prompt_id)
                project(conn, Prompt.replay(events), list(enumerate(events, 1)))
                prompt_count, event_count = prompt_count + 1, event_count + len(events)
        return RebuildReport(prompt_count, event_count)


def _events(conn: Connection, owner: str, prompt_id: str) -> list[Event]:
    e = prompt_events.c
    rows = conn.execute(
        select(e.seq, e.payload)
        .where(and_(e.aggregate_id == prompt_id, e.owner == owner))
        .order_by(e.seq)
    ).all()
    if [seq for seq, _ in rows] != list(range(1, len(rows) + 1)):
        raise NexusError(
            f"corrupt prompt history: events of {prompt_id} are not numbered 1..n",
            reason="corrupt-history",
            prompt_id=prompt_id,
        )
    return [event_from_dict(json.loads(payload)) for _, payload in rows]


def _event_row(owner: str, seq: int, event: Event) -> dict[str, object]:
    data = event_to_dict(event)
    return {
        "aggregate_id": event.prompt_id,
        "seq": seq,
        "owner": owner,
        "type": data["type"],
        "payload": dumps(data),
        "actor": event.actor,
        "at": format_time(event.at),
    }


def _command_row(prompt: Prompt, command: Command, outcome: Outcome | None) -> dict[str, object]:
    return {
        "aggregate_id": prompt.id,
        "command_id": command.command_id,
        "owner": prompt.owner,
        "kind": command.kind,
        "seq": prompt.version,
        "version_id": outcome.version_id if outcome else None,
        "outcome": outcome.outcome if outcome else None,
    }


@contextmanager
def _translated(prompt: Prompt | None = None) -> Iterator[None]:
    """Turn driver errors into our errors (libSQL raises plain ``ValueError``)."""
    try:
        yield
    except (SQLAlchemyError, ValueError) as exc:
        raise _db_error(exc, prompt) from exc


def _db_error(exc: Exception, prompt: Prompt | None) -> NexusError:
    text = str(getattr(exc, "orig", None) or exc).splitlines()[0] if str(exc) else repr(exc)
    table = text.split(_UNIQUE, 1)[1].strip().split(".", 1)[0] if _UNIQUE in text else ""
    if prompt is not None and table == "prompts":
        return duplicate_name_error(prompt.owner, prompt.name)
    if prompt is not None and table in ("prompt_events", "prompt_commands"):
        return ConflictError(
            f"prompt {prompt.name!r} was changed concurrently; reload and retry",
            reason="concurrent-update",
            prompt_id=prompt.id,
            seq=prompt.persisted_version + 1,
        )
    return ServiceUnavailableError(f"prompt store: {text}", reason="database-error")
