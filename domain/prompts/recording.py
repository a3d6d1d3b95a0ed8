"""Recording new events: creation, replay, pending events and the helpers commands share."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Self

from domain.errors import ConflictError, NotFoundError, ValidationError
from domain.prompts.clock import Clock, to_utc, utc_now
from domain.prompts.events import (
    BranchCreated,
    BranchMoved,
    Event,
    MoveReason,
    PromptCreated,
    VersionCommitted,
)
from domain.prompts.names import (
    validate_actor,
    validate_prompt_name,
    validate_single_line,
    validate_tags,
    validate_text,
)
from domain.prompts.settings import DEFAULT_MAX_SETTINGS_BYTES, ModelSettings
from domain.prompts.state import DEFAULT_BRANCH, PromptState
from domain.prompts.template import DEFAULT_MAX_TEMPLATE_BYTES, Template
from domain.prompts.version import Commit, VersionContent


@dataclass(frozen=True)
class PromptLimits:
    """Size limits checked on every new version (not on replay: stored events are facts)."""

    max_template_bytes: int = DEFAULT_MAX_TEMPLATE_BYTES
    max_settings_bytes: int = DEFAULT_MAX_SETTINGS_BYTES


class RecordingPrompt(PromptState):
    """Prompt state that records new events as pending until the store saves them."""

    def __init__(self, *, clock: Clock = utc_now, limits: PromptLimits | None = None) -> None:
        super().__init__()
        self._clock = clock
        self._limits = limits or PromptLimits()
        self._pending: list[Event] = []

    @classmethod
    def create(
        cls,
        *,
        name: str,
        owner: str,
        template: Template,
        settings: ModelSettings | None = None,
        description: str = "",
        tags: Iterable[str] = (),
        actor: str | None = None,
        message: str = "Initial version",
        prompt_id: str | None = None,
        clock: Clock = utc_now,
        limits: PromptLimits | None = None,
    ) -> Self:
        """A new prompt with its first version on ``main``; three events are pending.

        Uniqueness of ``name`` per owner is the store's check: it raises
        :func:`~domain.prompts.names.duplicate_name_error` (``ConflictError``,
        ``reason="duplicate-name"``).

        Args:
            name: 1–200 characters, no control characters, no outer whitespace.
            owner: The owning user or org id.
            template: The first template.
            settings: The first model settings (default: none set).
            description: Free text.
            tags: Labels for search; stored sorted and distinct.
            actor: Who creates it (default: ``owner``).
            message: The first version's message.
            prompt_id: The aggregate id, at most 64 characters (default: a random UUID hex).
            clock: Where time comes from.
            limits: Size limits for versions.
        """
        prompt = cls(clock=clock, limits=limits)
        owner = validate_single_line(owner, "owner", 200)
        actor = validate_actor(owner if actor is None else actor)
        prompt_id = uuid.uuid4().hex if prompt_id is None else prompt_id
        prompt_id = validate_single_line(prompt_id, "prompt_id", 64)
        at = prompt._now()
        created = PromptCreated(
            prompt_id=prompt_id,
            at=at,
            actor=actor,
            name=validate_prompt_name(name),
            owner=owner,
            description=validate_text(description, "description"),
            tags=validate_tags(tags),
        )
        content = prompt._content(template, ModelSettings() if settings is None else settings)
        root = Commit.build(
            prompt_id=prompt_id,
            parents=(),
            content=content,
            message=validate_text(message, "message"),
            author=actor,
            committed_at=at,
        )
        main = BranchCreated(
            prompt_id=prompt_id, at=at, actor=actor, branch=DEFAULT_BRANCH, version_id=root.id
        )
        prompt._record([created, VersionCommitted.of(root), main])
        return prompt

    @classmethod
    def replay(
        cls, events: Iterable[Event], *, clock: Clock = utc_now, limits: PromptLimits | None = None
    ) -> Self:
        """Rebuild a prompt from its stored events, oldest first; nothing is pending after.

        Raises:
            NotFoundError: ``reason="no-events"`` when ``events`` is empty.
            NexusError: ``reason="corrupt-history"`` when the events do not fold.
        """
        prompt = cls(clock=clock, limits=limits)
        for event in events:
            prompt._apply(event)
        if prompt.version == 0:
            raise NotFoundError("no events to replay", reason="no-events")
        return prompt

    @property
    def pending_events(self) -> tuple[Event, ...]:
        """Events recorded since the last :meth:`mark_persisted`, oldest first.

        The first has sequence number ``persisted_version + 1``, the last ``version``.
        """
        return tuple(self._pending)

    @property
    def persisted_version(self) -> int:
        """The last sequence number the store should already hold."""
        return self.version - len(self._pending)

    def mark_persisted(self) -> None:
        """Forget the pending events once the store has saved them."""
        self._pending.clear()

    def _record(self, events: Sequence[Event]) -> None:
        for event in events:
            self._apply(event)
        self._pending.extend(events)

    def _now(self) -> datetime:
        return to_utc(self._clock())

    def _begin(self, actor: str, *, archived: bool = False) -> tuple[str, datetime]:
        """Validate the actor and that the prompt is (not) archived; return actor and time."""
        actor = validate_actor(actor)
        if self.archived != archived:
            state = "archived" if self.archived else "not archived"
            raise ConflictError(
                f"prompt {self.name!r} is {state}",
                reason="archived" if self.archived else "not-archived",
                prompt_id=self.id,
            )
        return actor, self._now()

    def _check_parent(self, branch: str, head: str, parent: str | None) -> None:
        if parent is not None and parent != head:
            raise ConflictError(
                f"stale parent: branch {branch!r} is at {head[:12]}, not {parent[:12]}",
                reason="stale-parent",
                branch=branch,
                expected=parent,
                actual=head,
            )

    def _check_free(self, name: str, kind: str) -> None:
        if name in self._branches or name in self._labels:
            taken = "branch" if name in self._branches else "label"
            raise ConflictError(
                f"a {taken} named {name!r} already exists",
                reason=f"{taken}-exists",
                name=name,
                requested=kind,
            )

    def _content(self, template: object, settings: object) -> VersionContent:
        if not isinstance(template, Template):
            raise ValidationError("template must be a Template", reason="invalid-template")
        if not isinstance(settings, ModelSettings):
            raise ValidationError("settings must be ModelSettings", reason="invalid-setting")
        template.check_size(self._limits.max_template_bytes)
        size, limit = settings.size_bytes(), self._limits.max_settings_bytes
        if size > limit:
            raise ValidationError(
                f"model settings are {size} bytes, over the limit of {limit} bytes",
                reason="settings-too-large",
                size_bytes=size,
                limit_bytes=limit,
            )
        settings.check_parameters()
        return VersionContent(template, settings)

    def _move(
        self, branch: str, old: str, new: str, reason: MoveReason, actor: str, at: datetime
    ) -> BranchMoved:
        return BranchMoved(
            prompt_id=self.id,
            at=at,
            actor=actor,
            branch=branch,
            from_version=old,
            to_version=new,
            reason=reason,
        )

    def _advance(
        self,
        branch: str,
        parents: tuple[str, ...],
        content: VersionContent,
        message: str,
        actor: str,
        at: datetime,
        reason: MoveReason,
    ) -> Commit:
        """Commit ``content`` on ``branch`` (whose head is ``parents[0]``) and move it."""
        if reason != "merge" and content == self._commits[parents[0]].content:
            raise ValidationError(
                "nothing to commit: the content equals the branch head",
                reason="no-changes",
                branch=branch,
            )
        commit = Commit.build(
            prompt_id=self.id,
            parents=parents,
            content=content,
            message=validate_text(message, "message"),
            author=actor,
            committed_at=at,
        )
        # An identical commit (same parents, content, message, author, time) already exists:
        # content addressing makes it the same version, so only the branch moves.
        events: list[Event] = [] if commit.id in self._commits else [VersionCommitted.of(commit)]
        events.append(self._move(branch, parents[0], commit.id, reason, actor, at))
        self._record(events)
        return commit
