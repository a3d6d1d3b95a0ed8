"""A prompt's state folded from its events, and the read-only queries on it."""

from __future__ import annotations

from datetime import UTC, datetime
from itertools import islice
from typing import Any

from domain.errors import NexusError, NotFoundError, ValidationError
from domain.prompts import history
from domain.prompts.clock import format_time
from domain.prompts.diff import VersionDiff, diff_versions
from domain.prompts.events import (
    BranchCreated,
    BranchDeleted,
    BranchMoved,
    Event,
    LabelDeleted,
    LabelMoved,
    PromptArchived,
    PromptCreated,
    PromptDetailsChanged,
    PromptRestored,
    VersionCommitted,
)
from domain.prompts.refs import (
    Ref,
    ambiguous_prefix,
    could_be_prefix,
    parse_ref,
    past_the_first_version,
    unknown_ref,
)
from domain.prompts.version import Commit

DEFAULT_BRANCH = "main"
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _corrupt(message: str, event: Event) -> NexusError:
    return NexusError(
        f"corrupt prompt history: {message}",
        reason="corrupt-history",
        event_type=type(event).__name__,
        prompt_id=event.prompt_id,
    )


class PromptState:
    """Everything known about one prompt, rebuilt by applying its events in order."""

    def __init__(self) -> None:
        self._id = ""
        self._name = ""
        self._owner = ""
        self._description = ""
        self._tags: tuple[str, ...] = ()
        self._archived = False
        self._created_at = _EPOCH
        self._created_by = ""
        self._updated_at = _EPOCH
        self._version = 0
        self._commits: dict[str, Commit] = {}
        self._branches: dict[str, str] = {}
        self._labels: dict[str, str] = {}

    @property
    def id(self) -> str:
        """The prompt id."""
        return self._id

    @property
    def name(self) -> str:
        """The prompt name (unique per owner)."""
        return self._name

    @property
    def owner(self) -> str:
        """The owning user or org id."""
        return self._owner

    @property
    def description(self) -> str:
        """Free-text description."""
        return self._description

    @property
    def tags(self) -> tuple[str, ...]:
        """Sorted, distinct tags."""
        return self._tags

    @property
    def archived(self) -> bool:
        """Whether the prompt is archived (read-only)."""
        return self._archived

    @property
    def created_at(self) -> datetime:
        """When the prompt was created (UTC)."""
        return self._created_at

    @property
    def created_by(self) -> str:
        """Who created the prompt."""
        return self._created_by

    @property
    def updated_at(self) -> datetime:
        """When the last event happened (UTC)."""
        return self._updated_at

    @property
    def version(self) -> int:
        """Number of events applied: the sequence number of the last one."""
        return self._version

    @property
    def versions(self) -> dict[str, Commit]:
        """All versions by id, in commit order (a copy)."""
        return dict(self._commits)

    @property
    def branches(self) -> dict[str, str]:
        """Branch name → head version id (a copy)."""
        return dict(self._branches)

    @property
    def labels(self) -> dict[str, str]:
        """Label name → version id (a copy)."""
        return dict(self._labels)

    def head(self, branch: str = DEFAULT_BRANCH) -> Commit:
        """The head version of ``branch``.

        Raises:
            NotFoundError: ``reason="unknown-branch"``.
        """
        if branch not in self._branches:
            raise NotFoundError(
                f"branch {branch!r} not found", reason="unknown-branch", branch=branch
            )
        return self._commits[self._branches[branch]]

    def resolve(self, ref: str) -> str:
        """The version id ``ref`` names: a version id, a branch, a label, ``vN`` (version
        number N) or an id prefix, then ``~N`` first parents back (see `domain.prompts.refs`).

        Raises:
            NotFoundError: ``reason="unknown-ref"`` when nothing matches or ``~N`` goes past
                the first version.
            ValidationError: ``reason="ambiguous-ref"`` when an id prefix matches several;
                ``reason="invalid-ref"`` for a malformed ``~``.
        """
        if ref in self._commits:
            return ref
        parsed = parse_ref(ref)
        version = self._resolve_base(parsed)
        chain = list(islice(history.first_parent_chain(self._commits, version), parsed.back + 1))
        if len(chain) <= parsed.back:
            raise past_the_first_version(parsed, len(chain) - 1)
        return chain[parsed.back]

    def _resolve_base(self, ref: Ref) -> str:
        base = ref.base
        if base in self._commits:
            return base
        if base in self._branches:
            return self._branches[base]
        if base in self._labels:
            return self._labels[base]
        if ref.number is not None and ref.number <= len(self._commits):
            return list(self._commits)[ref.number - 1]
        if could_be_prefix(base):
            matches = [version for version in self._commits if version.startswith(base)]
            if len(matches) > 1:
                raise ambiguous_prefix(base, matches)
            if matches:
                return matches[0]
        raise unknown_ref(ref.text)

    def get_version(self, ref: str) -> Commit:
        """The version ``ref`` names (see :meth:`resolve`)."""
        return self._commits[self.resolve(ref)]

    def log(
        self,
        ref: str = DEFAULT_BRANCH,
        *,
        limit: int = 50,
        offset: int = 0,
        before: str | None = None,
    ) -> list[Commit]:
        """Versions reachable from ``ref`` by first parents, newest first.

        Args:
            ref: A branch, label or version to start from.
            limit: At most this many versions (≥ 0).
            offset: Skip this many (≥ 0).
            before: Cursor: list the versions older than this version id.

        Raises:
            ValidationError: ``reason="invalid-page"`` for a negative limit or offset.
            NotFoundError: ``reason="unknown-cursor"`` when ``before`` is not on the log.
        """
        if limit < 0 or offset < 0:
            raise ValidationError("limit and offset must not be negative", reason="invalid-page")
        try:
            ids = history.log_ids(
                self._commits, self.resolve(ref), limit=limit, offset=offset, before=before
            )
        except KeyError:
            raise NotFoundError(
                f"version {before!r} is not in the log of {ref!r}",
                reason="unknown-cursor",
                before=before,
            ) from None
        return [self._commits[version] for version in ids]

    def is_ancestor(self, ancestor: str, descendant: str) -> bool:
        """Whether ref ``ancestor`` is in the history of ref ``descendant`` (or the same)."""
        return history.is_ancestor(self._commits, self.resolve(ancestor), self.resolve(descendant))

    def merge_base(self, a: str, b: str) -> Commit | None:
        """A best common ancestor of two refs, if they have one."""
        base = history.merge_base(self._commits, self.resolve(a), self.resolve(b))
        return None if base is None else self._commits[base]

    def diff(self, old: str, new: str, *, context: int = 3) -> VersionDiff:
        """How ref ``new`` differs from ref ``old``."""
        return diff_versions(self.get_version(old), self.get_version(new), context=context)

    def snapshot(self) -> dict[str, Any]:
        """The whole state as a JSON-safe dict (equal states give equal snapshots)."""
        return {
            "id": self._id,
            "name": self._name,
            "owner": self._owner,
            "description": self._description,
            "tags": list(self._tags),
            "archived": self._archived,
            "created_at": format_time(self._created_at),
            "created_by": self._created_by,
            "updated_at": format_time(self._updated_at),
            "version": self._version,
            "branches": dict(sorted(self._branches.items())),
            "labels": dict(sorted(self._labels.items())),
            "versions": [commit.to_dict() for commit in self._commits.values()],
        }

    def _apply(self, event: Event) -> None:
        if self._version == 0 and not isinstance(event, PromptCreated):
            raise _corrupt("the first event must be PromptCreated", event)
        if self._version > 0 and (event.prompt_id != self._id or isinstance(event, PromptCreated)):
            raise _corrupt("event does not belong to this prompt", event)
        match event:
            case PromptCreated():
                self._id, self._owner, self._name = event.prompt_id, event.owner, event.name
                self._description, self._tags = event.description, event.tags
                self._created_at, self._created_by = event.at, event.actor
            case PromptDetailsChanged():
                self._name, self._description, self._tags = (
                    event.name,
                    event.description,
                    event.tags,
                )
            case VersionCommitted():
                commit = event.to_commit()
                if commit.id in self._commits or not commit.has_valid_id():
                    raise _corrupt(f"bad or repeated version id {commit.id}", event)
                if any(parent not in self._commits for parent in commit.parents):
                    raise _corrupt("a parent version is unknown", event)
                self._commits[commit.id] = commit
            case BranchCreated():
                self._set_ref(self._branches, event.branch, event.version_id, event)
            case BranchMoved():
                if self._branches.get(event.branch) != event.from_version:
                    raise _corrupt(f"branch {event.branch} was not at {event.from_version}", event)
                self._set_ref(self._branches, event.branch, event.to_version, event)
            case BranchDeleted():
                self._drop_ref(self._branches, event.branch, event)
            case LabelMoved():
                self._set_ref(self._labels, event.label, event.to_version, event)
            case LabelDeleted():
                self._drop_ref(self._labels, event.label, event)
            case PromptArchived():
                self._archived = True
            case PromptRestored():
                self._archived = False
            case _:
                raise _corrupt("unknown event type", event)
        self._version += 1
        self._updated_at = event.at

    def _set_ref(self, refs: dict[str, str], name: str, target: str, event: Event) -> None:
        if target not in self._commits:
            raise _corrupt(f"ref {name} points at unknown version {target}", event)
        refs[name] = target

    def _drop_ref(self, refs: dict[str, str], name: str, event: Event) -> None:
        if refs.pop(name, None) is None:
            raise _corrupt(f"ref {name} does not exist", event)
