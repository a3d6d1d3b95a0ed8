"""The Prompt aggregate: commands validate first, then record events and apply them.

A failed command raises before anything is recorded, so the aggregate is left unchanged.
New events wait in ``pending_events`` until the store has saved them.
"""

from __future__ import annotations

from collections.abc import Iterable

from domain.errors import ConflictError, NotFoundError
from domain.prompts import history
from domain.prompts.events import (
    BranchCreated,
    BranchDeleted,
    LabelDeleted,
    LabelMoved,
    PromptArchived,
    PromptDetailsChanged,
    PromptRestored,
)
from domain.prompts.merge import MergeResult, MergeStrategy, check_strategy, merged_content
from domain.prompts.names import (
    validate_prompt_name,
    validate_ref_name,
    validate_tags,
    validate_text,
)
from domain.prompts.recording import RecordingPrompt
from domain.prompts.settings import ModelSettings
from domain.prompts.state import DEFAULT_BRANCH
from domain.prompts.template import Template
from domain.prompts.version import Commit


class Prompt(RecordingPrompt):
    """A versioned prompt; make one with :meth:`create` or rebuild it with :meth:`replay`.

    Examples:
        >>> p = Prompt.create(name="greet", owner="u1", template=Template.from_text("Hi {{n}}"))
        >>> v2 = p.commit(actor="u1", template=Template.from_text("Hello {{n}}"),
        ...               message="warmer", parent=p.head().id)
        >>> p.move_label(actor="u1", label="production", to=v2.id) == v2
        True
        >>> [type(e).__name__ for e in p.pending_events][-3:]
        ['VersionCommitted', 'BranchMoved', 'LabelMoved']
    """

    def commit(
        self,
        *,
        actor: str,
        template: Template | None = None,
        settings: ModelSettings | None = None,
        message: str = "",
        branch: str = DEFAULT_BRANCH,
        parent: str | None = None,
    ) -> Commit:
        """Commit a new version on ``branch``; an omitted template or settings stays as is.

        Args:
            actor: Who commits (the version's author).
            template: The new template, or ``None`` to keep the head's.
            settings: The new model settings, or ``None`` to keep the head's.
            message: The commit message.
            branch: The branch to commit on.
            parent: The head id the caller based the change on; ``None`` skips the check.

        Raises:
            ConflictError: ``reason="stale-parent"`` (``parent`` is not the head) or
                ``"archived"``.
            ValidationError: ``reason="no-changes"``, ``"template-too-large"``, ….
            NotFoundError: ``reason="unknown-branch"``.
        """
        actor, at = self._begin(actor)
        head = self.head(branch)
        self._check_parent(branch, head.id, parent)
        content = self._content(
            head.template if template is None else template,
            head.settings if settings is None else settings,
        )
        return self._advance(branch, (head.id,), content, message, actor, at, "commit")

    def revert(
        self,
        *,
        actor: str,
        to: str,
        branch: str = DEFAULT_BRANCH,
        message: str | None = None,
        parent: str | None = None,
    ) -> Commit:
        """Commit on ``branch`` a new version whose content equals that of ref ``to``.

        Raises:
            NotFoundError: ``reason="unknown-ref"`` when ``to`` names no version.
            ValidationError: ``reason="no-changes"`` when the head already has that content.
        """
        actor, at = self._begin(actor)
        head = self.head(branch)
        self._check_parent(branch, head.id, parent)
        target = self.get_version(to)
        message = f"Revert to {target.id[:12]}" if message is None else message
        return self._advance(branch, (head.id,), target.content, message, actor, at, "revert")

    def merge(
        self,
        *,
        actor: str,
        source: str,
        target: str = DEFAULT_BRANCH,
        strategy: MergeStrategy | None = None,
        message: str | None = None,
        parent: str | None = None,
    ) -> MergeResult:
        """Merge ref ``source`` (usually a branch) into branch ``target``.

        Fast-forwards when ``target``'s head is an ancestor of ``source``'s; otherwise commits
        a merge with parents (target head, source head) whose content is chosen by
        :func:`~domain.prompts.merge.merged_content`.

        Raises:
            ConflictError: ``reason="merge-conflict"`` when both sides changed and no
                ``strategy`` says which to take; ``"stale-parent"``; ``"archived"``.
            ValidationError: ``reason="invalid-strategy"``.
        """
        actor, at = self._begin(actor)
        strategy = check_strategy(strategy)
        ours = self.head(target).id
        self._check_parent(target, ours, parent)
        theirs = self.resolve(source)
        if history.is_ancestor(self._commits, theirs, ours):
            return MergeResult("up-to-date", self._commits[ours])
        if history.is_ancestor(self._commits, ours, theirs):
            self._record([self._move(target, ours, theirs, "fast-forward", actor, at)])
            return MergeResult("fast-forward", self._commits[theirs])
        content = merged_content(self._commits, ours, theirs, strategy)
        message = f"Merge {source} into {target}" if message is None else message
        commit = self._advance(target, (ours, theirs), content, message, actor, at, "merge")
        return MergeResult("merge", commit)

    def create_branch(self, *, actor: str, name: str, start: str = DEFAULT_BRANCH) -> Commit:
        """Create branch ``name`` at ref ``start`` (a version, branch or label); return its head.

        Raises:
            ValidationError: ``reason="invalid-ref-name"`` or ``"control-characters"``.
            ConflictError: ``reason="branch-exists"`` or ``"label-exists"``.
            NotFoundError: ``reason="unknown-ref"``.
        """
        actor, at = self._begin(actor)
        name = validate_ref_name(name, "branch")
        self._check_free(name, "branch")
        head = self.get_version(start)
        self._record(
            [BranchCreated(prompt_id=self.id, at=at, actor=actor, branch=name, version_id=head.id)]
        )
        return head

    def delete_branch(self, *, actor: str, name: str) -> None:
        """Delete a branch other than ``main``; its versions stay reachable by id.

        Raises:
            ConflictError: ``reason="default-branch"`` for ``main``.
            NotFoundError: ``reason="unknown-branch"``.
        """
        actor, at = self._begin(actor)
        if name == DEFAULT_BRANCH:
            raise ConflictError(
                f"the default branch {DEFAULT_BRANCH!r} cannot be deleted",
                reason="default-branch",
            )
        head = self.head(name)
        self._record(
            [BranchDeleted(prompt_id=self.id, at=at, actor=actor, branch=name, version_id=head.id)]
        )

    def move_label(self, *, actor: str, label: str, to: str) -> Commit:
        """Point ``label`` (e.g. ``production``) at ref ``to``, creating the label if needed.

        Moving a label to where it already points records nothing.

        Raises:
            NotFoundError: ``reason="unknown-ref"`` when ``to`` names no version.
            ValidationError: ``reason="invalid-ref-name"`` or ``"control-characters"``.
            ConflictError: ``reason="branch-exists"`` when a branch has that name.
        """
        actor, at = self._begin(actor)
        label = validate_ref_name(label, "label")
        if label in self._branches:
            self._check_free(label, "label")
        target = self.get_version(to)
        current = self._labels.get(label)
        if current != target.id:
            moved = LabelMoved(
                prompt_id=self.id,
                at=at,
                actor=actor,
                label=label,
                from_version=current,
                to_version=target.id,
            )
            self._record([moved])
        return target

    def delete_label(self, *, actor: str, label: str) -> None:
        """Remove a label.

        Raises:
            NotFoundError: ``reason="unknown-label"``.
        """
        actor, at = self._begin(actor)
        if label not in self._labels:
            raise NotFoundError(f"label {label!r} not found", reason="unknown-label", label=label)
        version = self._labels[label]
        self._record(
            [LabelDeleted(prompt_id=self.id, at=at, actor=actor, label=label, version_id=version)]
        )

    def change_details(
        self,
        *,
        actor: str,
        name: str | None = None,
        description: str | None = None,
        tags: Iterable[str] | None = None,
    ) -> None:
        """Replace name, description and/or tags; records nothing when nothing changes.

        A new name must be checked for uniqueness by the store, as on create.
        """
        actor, at = self._begin(actor)
        changed = PromptDetailsChanged(
            prompt_id=self.id,
            at=at,
            actor=actor,
            name=self.name if name is None else validate_prompt_name(name),
            description=(
                self.description
                if description is None
                else validate_text(description, "description")
            ),
            tags=self.tags if tags is None else validate_tags(tags),
        )
        if (changed.name, changed.description, changed.tags) != (
            self.name,
            self.description,
            self.tags,
        ):
            self._record([changed])

    def archive(self, *, actor: str) -> None:
        """Make the prompt read-only: every command but :meth:`restore` is then refused.

        Raises:
            ConflictError: ``reason="archived"`` when it already is.
        """
        actor, at = self._begin(actor)
        self._record([PromptArchived(prompt_id=self.id, at=at, actor=actor)])

    def restore(self, *, actor: str) -> None:
        """Make an archived prompt writable again.

        Raises:
            ConflictError: ``reason="not-archived"`` when it is not archived.
        """
        actor, at = self._begin(actor, archived=True)
        self._record([PromptRestored(prompt_id=self.id, at=at, actor=actor)])
