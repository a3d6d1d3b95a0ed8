"""Read models of a prompt, derived from its events.

:func:`project` is the one way projection rows are written: by the store on every append
(for the new events) and by a rebuild (for all events). Rows depend only on events and the
state they fold to — never on the clock — so a rebuild reproduces them exactly.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, and_, delete, insert, update

from domain.prompts import (
    BranchCreated,
    BranchDeleted,
    BranchMoved,
    Event,
    LabelDeleted,
    LabelMoved,
    PromptCreated,
    PromptDetailsChanged,
    VersionCommitted,
    format_time,
)
from domain.prompts.state import DEFAULT_BRANCH, PromptState
from engine.prompts.tables import prompt_refs, prompt_tags, prompt_versions, prompts

Numbered = Sequence[tuple[int, Event]]
"""Events with their sequence numbers, oldest first."""


def dumps(value: Any) -> str:
    """Compact JSON with sorted keys, as stored in projection columns."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def project(conn: Connection, prompt: PromptState, events: Numbered) -> None:
    """Bring the read models of ``prompt`` up to date with ``events``.

    Args:
        conn: A connection inside the transaction that appends ``events``.
        prompt: The aggregate with ``events`` already applied (its state after them).
        events: The new events; for a rebuild, all of them.
    """
    commits = [(seq, e) for seq, e in events if isinstance(e, VersionCommitted)]
    first_number = len(prompt.versions) - len(commits) + 1
    if commits:
        conn.execute(
            insert(prompt_versions),
            [
                _version_row(prompt.owner, seq, e, n)
                for n, (seq, e) in enumerate(commits, first_number)
            ],
        )
    for (kind, name), change in _ref_changes(events).items():
        _drop_ref(conn, prompt, kind, name)
        if change is not None:
            seq, version = change
            ref = {"prompt_id": prompt.id, "kind": kind, "name": name, "version_id": version}
            conn.execute(insert(prompt_refs).values(**ref, owner=prompt.owner, seq=seq))
    row = _prompt_row(prompt)
    if any(isinstance(event, PromptCreated) for _, event in events):
        conn.execute(insert(prompts).values(row))
    else:
        mine = and_(prompts.c.id == prompt.id, prompts.c.owner == prompt.owner)
        conn.execute(update(prompts).where(mine).values(row))
    if any(isinstance(event, PromptCreated | PromptDetailsChanged) for _, event in events):
        t = prompt_tags.c
        conn.execute(
            delete(prompt_tags).where(and_(t.prompt_id == prompt.id, t.owner == prompt.owner))
        )
        if prompt.tags:
            tags = [{"prompt_id": prompt.id, "tag": t, "owner": prompt.owner} for t in prompt.tags]
            conn.execute(insert(prompt_tags), tags)


def _version_row(owner: str, seq: int, event: VersionCommitted, number: int) -> dict[str, Any]:
    commit = event.to_commit()
    return {
        "prompt_id": commit.prompt_id,
        "id": commit.id,
        "owner": owner,
        "number": number,
        "first_parent": commit.parents[0] if commit.parents else None,
        "parents": dumps(list(commit.parents)),
        "message": commit.message,
        "author": commit.author,
        "committed_at": format_time(commit.committed_at),
        "template": dumps(commit.template.to_dict()),
        "settings": dumps(commit.settings.to_dict()),
        "content_id": commit.content_id,
        "seq": seq,
    }


def _ref_changes(events: Numbered) -> dict[tuple[str, str], tuple[int, str] | None]:
    """(kind, name) → (seq of the last change, version) or ``None`` when deleted."""
    changes: dict[tuple[str, str], tuple[int, str] | None] = {}
    for seq, event in events:
        match event:
            case BranchCreated():
                changes["branch", event.branch] = (seq, event.version_id)
            case BranchMoved():
                changes["branch", event.branch] = (seq, event.to_version)
            case LabelMoved():
                changes["label", event.label] = (seq, event.to_version)
            case BranchDeleted():
                changes["branch", event.branch] = None
            case LabelDeleted():
                changes["label", event.label] = None
    return changes


def _drop_ref(conn: Connection, prompt: PromptState, kind: str, name: str) -> None:
    c = prompt_refs.c
    ref = and_(c.prompt_id == prompt.id, c.owner == prompt.owner, c.kind == kind, c.name == name)
    conn.execute(delete(prompt_refs).where(ref))


def _prompt_row(prompt: PromptState) -> dict[str, Any]:
    return {
        "id": prompt.id,
        "owner": prompt.owner,
        "name": prompt.name,
        "description": prompt.description,
        "tags": dumps(list(prompt.tags)),
        "archived": prompt.archived,
        "head": prompt.branches[DEFAULT_BRANCH],
        "version_count": len(prompt.versions),
        "seq": prompt.version,
        "created_at": format_time(prompt.created_at),
        "created_by": prompt.created_by,
        "updated_at": format_time(prompt.updated_at),
    }
