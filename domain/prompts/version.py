"""Versions: immutable, content-addressed commits of a template and its model settings.

The version id is ``sha256`` (hex) of the canonical JSON (sorted keys, no spaces, ASCII)
of::

    {"prompt_id": ..., "parents": [...], "content": {"template": ..., "settings": ...},
     "message": ..., "author": ..., "committed_at": "<ISO-8601 UTC, microseconds>"}

Like Git, message, author and time are hashed, so every commit is unique even when its
content repeats an older one (a revert); unlike Git the prompt id is hashed too, so an id
never names versions of two prompts. ``content_id`` hashes the content alone: equal content,
equal ``content_id`` — use it to spot identical versions and as a cache key.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from domain.canonical import sha256_hex
from domain.prompts.clock import format_time
from domain.prompts.settings import ModelSettings
from domain.prompts.template import Template


@dataclass(frozen=True)
class VersionContent:
    """What a version holds: a template and the model settings that go with it."""

    template: Template
    settings: ModelSettings = field(default_factory=ModelSettings)

    def to_dict(self) -> dict[str, Any]:
        """``{"template": ..., "settings": ...}`` in canonical, JSON-safe form."""
        return {"template": self.template.to_dict(), "settings": self.settings.to_dict()}

    @property
    def content_id(self) -> str:
        """SHA-256 hex of the canonical JSON of :meth:`to_dict`."""
        return sha256_hex(self.to_dict())


def version_id(
    *,
    prompt_id: str,
    parents: tuple[str, ...],
    content: VersionContent,
    message: str,
    author: str,
    committed_at: datetime,
) -> str:
    """The content address of a version (see the module docstring for the exact document)."""
    return sha256_hex(
        {
            "prompt_id": prompt_id,
            "parents": list(parents),
            "content": content.to_dict(),
            "message": message,
            "author": author,
            "committed_at": format_time(committed_at),
        }
    )


@dataclass(frozen=True)
class Commit:
    """One immutable version of a prompt.

    Attributes:
        id: The content address, see :func:`version_id`.
        prompt_id: The prompt this version belongs to.
        parents: No parent for the first version, one for a commit or revert, two for a
            merge (first the target branch's head, then the merged head).
        content: Template and model settings.
        message: The commit message.
        author: Who committed it (the acting user's id).
        committed_at: When, in UTC.
    """

    id: str
    prompt_id: str
    parents: tuple[str, ...]
    content: VersionContent
    message: str
    author: str
    committed_at: datetime

    @classmethod
    def build(
        cls,
        *,
        prompt_id: str,
        parents: tuple[str, ...],
        content: VersionContent,
        message: str,
        author: str,
        committed_at: datetime,
    ) -> Commit:
        """A new commit whose id is computed from its fields."""
        address = version_id(
            prompt_id=prompt_id,
            parents=parents,
            content=content,
            message=message,
            author=author,
            committed_at=committed_at,
        )
        return cls(address, prompt_id, parents, content, message, author, committed_at)

    @property
    def template(self) -> Template:
        """The version's template."""
        return self.content.template

    @property
    def settings(self) -> ModelSettings:
        """The version's model settings."""
        return self.content.settings

    @property
    def content_id(self) -> str:
        """Hash of the content alone; equal for versions with equal content."""
        return self.content.content_id

    @property
    def is_merge(self) -> bool:
        """Whether this version has two parents."""
        return len(self.parents) > 1

    def has_valid_id(self) -> bool:
        """Whether ``id`` is the hash of the other fields (detects corrupted storage)."""
        return self.id == version_id(
            prompt_id=self.prompt_id,
            parents=self.parents,
            content=self.content,
            message=self.message,
            author=self.author,
            committed_at=self.committed_at,
        )

    def to_dict(self) -> dict[str, Any]:
        """A JSON-safe view, e.g. for a ``prompt_versions`` read model or an API response."""
        return {
            "id": self.id,
            "prompt_id": self.prompt_id,
            "parents": list(self.parents),
            "template": self.template.to_dict(),
            "settings": self.settings.to_dict(),
            "message": self.message,
            "author": self.author,
            "committed_at": format_time(self.committed_at),
            "content_id": self.content_id,
        }
