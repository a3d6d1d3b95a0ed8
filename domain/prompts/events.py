"""Prompt events: the source of truth. A prompt's state is the fold of its events.

Every ref change is its own event: ``VersionCommitted`` only adds a version; the branch
then moves with ``BranchMoved`` (``reason`` says why: commit, revert, merge, fast-forward).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any, Literal, get_args

from domain.errors import ValidationError
from domain.prompts.clock import format_time, parse_time
from domain.prompts.settings import ModelSettings
from domain.prompts.template import Template
from domain.prompts.version import Commit, VersionContent

MoveReason = Literal["commit", "revert", "merge", "fast-forward"]


@dataclass(frozen=True, kw_only=True)
class Event:
    """Base of prompt events: which prompt, when (UTC) and who acted."""

    prompt_id: str
    at: datetime
    actor: str


@dataclass(frozen=True, kw_only=True)
class PromptCreated(Event):
    """A prompt came to be (its first version follows as ``VersionCommitted``)."""

    name: str
    owner: str
    description: str
    tags: tuple[str, ...]


@dataclass(frozen=True, kw_only=True)
class PromptDetailsChanged(Event):
    """Name, description and tags were replaced by these values."""

    name: str
    description: str
    tags: tuple[str, ...]


@dataclass(frozen=True, kw_only=True)
class VersionCommitted(Event):
    """A version was added; author is ``actor`` and time is ``at``. Moves no ref by itself."""

    version_id: str
    parents: tuple[str, ...]
    template: Template
    settings: ModelSettings
    message: str

    @classmethod
    def of(cls, commit: Commit) -> VersionCommitted:
        """The event recording ``commit``."""
        return cls(
            prompt_id=commit.prompt_id,
            at=commit.committed_at,
            actor=commit.author,
            version_id=commit.id,
            parents=commit.parents,
            template=commit.template,
            settings=commit.settings,
            message=commit.message,
        )

    def to_commit(self) -> Commit:
        """The version this event records."""
        content = VersionContent(self.template, self.settings)
        return Commit(
            self.version_id,
            self.prompt_id,
            self.parents,
            content,
            self.message,
            self.actor,
            self.at,
        )


@dataclass(frozen=True, kw_only=True)
class BranchCreated(Event):
    """A branch now points at ``version_id``."""

    branch: str
    version_id: str


@dataclass(frozen=True, kw_only=True)
class BranchMoved(Event):
    """A branch head moved from ``from_version`` to ``to_version``."""

    branch: str
    from_version: str
    to_version: str
    reason: MoveReason

    def __post_init__(self) -> None:
        if self.reason not in get_args(MoveReason):
            raise ValidationError(f"unknown move reason {self.reason!r}", reason="malformed-event")


@dataclass(frozen=True, kw_only=True)
class BranchDeleted(Event):
    """A branch was deleted; ``version_id`` was its head (its versions stay)."""

    branch: str
    version_id: str


@dataclass(frozen=True, kw_only=True)
class LabelMoved(Event):
    """A label was set (``from_version`` is ``None``) or moved to ``to_version``."""

    label: str
    from_version: str | None
    to_version: str


@dataclass(frozen=True, kw_only=True)
class LabelDeleted(Event):
    """A label was removed; ``version_id`` is where it pointed."""

    label: str
    version_id: str


@dataclass(frozen=True, kw_only=True)
class PromptArchived(Event):
    """The prompt became read-only."""


@dataclass(frozen=True, kw_only=True)
class PromptRestored(Event):
    """An archived prompt became writable again."""


EVENT_TYPES: Mapping[str, type[Event]] = {
    cls.__name__: cls
    for cls in (
        PromptCreated,
        PromptDetailsChanged,
        VersionCommitted,
        BranchCreated,
        BranchMoved,
        BranchDeleted,
        LabelMoved,
        LabelDeleted,
        PromptArchived,
        PromptRestored,
    )
}


def _str(value: object) -> str:
    if not isinstance(value, str):
        raise ValidationError("event field must be a string", reason="malformed-event")
    return value


def _optional_str(value: object) -> str | None:
    return None if value is None else _str(value)


def _str_tuple(value: object) -> tuple[str, ...]:
    if not isinstance(value, list):
        raise ValidationError("event field must be a list", reason="malformed-event")
    return tuple(_str(item) for item in value)


_DECODERS: Mapping[str, Callable[[Any], Any]] = {
    "at": parse_time,
    "template": Template.from_dict,
    "settings": ModelSettings.from_dict,
    "parents": _str_tuple,
    "tags": _str_tuple,
    "from_version": _optional_str,
}


def _encode(value: Any) -> Any:
    if isinstance(value, datetime):
        return format_time(value)
    if isinstance(value, (Template, ModelSettings)):
        return value.to_dict()
    if isinstance(value, tuple):
        return list(value)
    return value


def event_to_dict(event: Event) -> dict[str, Any]:
    """A JSON-safe dict of ``event`` with its class name under ``"type"``.

    Examples:
        >>> event_to_dict(event)["type"]  # doctest: +SKIP
        'LabelMoved'
    """
    data: dict[str, Any] = {"type": type(event).__name__}
    for item in fields(event):
        data[item.name] = _encode(getattr(event, item.name))
    return data


def event_from_dict(data: Mapping[str, Any]) -> Event:
    """Inverse of :func:`event_to_dict`.

    Raises:
        ValidationError: ``reason="unknown-event-type"`` or ``"malformed-event"`` (missing,
            unexpected or ill-typed fields), or a validation reason of a template/settings.
    """
    kind = data.get("type")
    cls = EVENT_TYPES.get(kind) if isinstance(kind, str) else None
    if cls is None:
        raise ValidationError(
            f"unknown event type {kind!r}", reason="unknown-event-type", event_type=str(kind)
        )
    expected = {item.name for item in fields(cls)}
    given = set(data) - {"type"}
    if given != expected:
        raise ValidationError(
            f"malformed {kind} event",
            reason="malformed-event",
            missing=sorted(expected - given),
            unexpected=sorted(map(str, given - expected)),
        )
    kwargs = {name: _DECODERS.get(name, _str)(data[name]) for name in expected}
    return cls(**kwargs)
