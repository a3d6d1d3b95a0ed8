"""What the prompt SDK returns: small frozen dataclasses with a JSON-safe ``to_dict``."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

from domain.prompts import Commit, ModelSettings, Template, VersionContent, format_time
from domain.prompts.state import DEFAULT_BRANCH, PromptState

MergeKind = Literal["up-to-date", "fast-forward", "merge"]


@dataclass(frozen=True)
class PromptVersion:
    """One immutable version of a prompt.

    Attributes:
        id: The content address (64 hex digits); ``short_id`` is its first 12.
        prompt_id: The prompt it belongs to.
        number: 1 for the first version of the prompt, then in commit order.
        parents: Parent version ids (two for a merge).
        template: The template.
        settings: The model settings.
        message: The commit message.
        author: Who committed it.
        committed_at: When (UTC).
        content_id: Hash of template + settings alone (equal content, equal id).
    """

    id: str
    prompt_id: str
    number: int
    parents: tuple[str, ...]
    template: Template
    settings: ModelSettings
    message: str
    author: str
    committed_at: datetime
    content_id: str

    @classmethod
    def of(cls, commit: Commit, number: int) -> PromptVersion:
        """The SDK view of a domain commit."""
        return cls(
            commit.id,
            commit.prompt_id,
            number,
            commit.parents,
            commit.template,
            commit.settings,
            commit.message,
            commit.author,
            commit.committed_at,
            commit.content_id,
        )

    @property
    def short_id(self) -> str:
        """The first 12 hex digits of the id."""
        return self.id[:12]

    def to_commit(self) -> Commit:
        """The domain commit (e.g. for :func:`domain.prompts.diff_versions`)."""
        content = VersionContent(self.template, self.settings)
        return Commit(
            self.id,
            self.prompt_id,
            self.parents,
            content,
            self.message,
            self.author,
            self.committed_at,
        )

    def to_dict(self) -> dict[str, Any]:
        """A JSON-safe dict."""
        return {
            "id": self.id,
            "prompt_id": self.prompt_id,
            "number": self.number,
            "parents": list(self.parents),
            "template": self.template.to_dict(),
            "settings": self.settings.to_dict(),
            "message": self.message,
            "author": self.author,
            "committed_at": format_time(self.committed_at),
            "content_id": self.content_id,
        }


@dataclass(frozen=True)
class PromptInfo:
    """A prompt's details and refs (not its versions).

    Attributes:
        id: The prompt id.
        name: Unique per owner.
        owner: The owning user or org.
        description: Free text.
        tags: Sorted, distinct.
        archived: Whether it is read-only.
        head: The head version id of ``main``.
        version_count: How many versions it has.
        seq: The number of its events (a change counter).
        created_at: When it was created (UTC).
        created_by: Who created it.
        updated_at: When it last changed (UTC).
        branches: Branch name → head version id.
        labels: Label name → version id.
    """

    id: str
    name: str
    owner: str
    description: str
    tags: tuple[str, ...]
    archived: bool
    head: str
    version_count: int
    seq: int
    created_at: datetime
    created_by: str
    updated_at: datetime
    branches: Mapping[str, str] = field(default_factory=dict)
    labels: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def of(cls, prompt: PromptState) -> PromptInfo:
        """The SDK view of an aggregate's current state."""
        return cls(
            id=prompt.id,
            name=prompt.name,
            owner=prompt.owner,
            description=prompt.description,
            tags=prompt.tags,
            archived=prompt.archived,
            head=prompt.branches[DEFAULT_BRANCH],
            version_count=len(prompt.versions),
            seq=prompt.version,
            created_at=prompt.created_at,
            created_by=prompt.created_by,
            updated_at=prompt.updated_at,
            branches=dict(sorted(prompt.branches.items())),
            labels=dict(sorted(prompt.labels.items())),
        )

    def to_dict(self) -> dict[str, Any]:
        """A JSON-safe dict."""
        return {
            "id": self.id,
            "name": self.name,
            "owner": self.owner,
            "description": self.description,
            "tags": list(self.tags),
            "archived": self.archived,
            "head": self.head,
            "version_count": self.version_count,
            "seq": self.seq,
            "created_at": format_time(self.created_at),
            "created_by": self.created_by,
            "updated_at": format_time(self.updated_at),
            "branches": dict(self.branches),
            "labels": dict(self.labels),
        }


@dataclass(frozen=True)
class MergeOutcome:
    """What a merge did (``"up-to-date"``, ``"fast-forward"`` or ``"merge"``) and the
    target branch's head afterwards."""

    outcome: MergeKind
    version: PromptVersion

    def to_dict(self) -> dict[str, Any]:
        """A JSON-safe dict."""
        return {"outcome": self.outcome, "version": self.version.to_dict()}


def version_number(prompt: PromptState, version_id: str) -> int:
    """The 1-based commit-order number of a version of ``prompt``."""
    return list(prompt.versions).index(version_id) + 1
