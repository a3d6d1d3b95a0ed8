"""The command half of the prompt SDK: every change goes through a command executor."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from domain.prompts.merge import MergeStrategy
from domain.prompts.state import DEFAULT_BRANCH
from engine.prompts import commands as cmd
from engine.prompts.commands import new_id
from engine.prompts.inputs import SettingsInput, TemplateInput, as_settings, as_template
from engine.prompts.local_commands import CommandExecutor
from engine.prompts.models import MergeOutcome, PromptInfo, PromptVersion
from engine.prompts.queries import PromptQueries


class PromptWrites:
    """Commands on one owner's prompts (mixed into :class:`~engine.prompts.Prompts`)."""

    owner: str
    actor: str
    _queries: PromptQueries
    _shards: CommandExecutor

    def create(
        self,
        name: str,
        template: TemplateInput,
        *,
        system: str | None = None,
        settings: SettingsInput | None = None,
        description: str = "",
        tags: Iterable[str] = (),
        message: str = "Initial version",
    ) -> PromptInfo:
        """Create a prompt with its first version on ``main``.

        Args:
            name: Unique among the owner's prompts; no control characters.
            template: A text with ``{{ variables }}``, a ``Template`` or chat messages.
            system: With a text ``template``: a system message (makes a chat template).
            settings: Model settings, e.g. ``{"model": "gpt-4o-mini", "temperature": 0.2}``.
            description: Free text.
            tags: Labels to search by.
            message: The first version's message.

        Returns:
            The new prompt's details.

        Raises:
            ConflictError: ``reason="duplicate-name"``.
            ValidationError: e.g. ``"control-characters"``, ``"template-too-large"``.

        Examples:
            >>> engine.prompts.create("greeter", "Say hello to {{name}}",
            ...                       settings={"model": "gpt-4o-mini"})  # doctest: +SKIP
            PromptInfo(id='…', name='greeter', …)
        """
        command = cmd.CreatePrompt(
            owner=self.owner,
            actor=self.actor,
            prompt_id=new_id(),
            name=name,
            template=as_template(template, system),
            settings=as_settings(settings),
            description=description,
            tags=tuple(tags),
            message=message,
        )
        return self._shards.execute(command).prompt

    def commit(
        self,
        prompt: str,
        template: TemplateInput | None = None,
        *,
        system: str | None = None,
        settings: SettingsInput | None = None,
        message: str = "",
        branch: str = DEFAULT_BRANCH,
        parent: str | None = None,
    ) -> PromptVersion:
        """Commit a new version on ``branch``; an omitted template or settings stays as is.

        Args:
            prompt: The prompt's name or id.
            template: The new template, or ``None`` to keep the head's.
            system: With a text ``template``: a system message.
            settings: The new model settings (all of them), or ``None`` to keep the head's.
            message: The commit message.
            branch: The branch to commit on.
            parent: The head id the change is based on; ``None`` appends to the branch head.

        Returns:
            The new version.

        Raises:
            ConflictError: ``reason="stale-parent"`` or ``"archived"``.
            ValidationError: ``reason="no-changes"``, ``"template-too-large"``, ….

        Examples:
            >>> v2 = engine.prompts.commit("greeter", "Say hi to {{name}}",
            ...                            message="shorter")  # doctest: +SKIP
        """
        return self._version(
            cmd.CommitVersion,
            prompt,
            template=None if template is None else as_template(template, system),
            settings=as_settings(settings),
            message=message,
            branch=branch,
            parent=parent,
        )

    def revert(
        self,
        prompt: str,
        to: str,
        *,
        branch: str = DEFAULT_BRANCH,
        message: str | None = None,
        parent: str | None = None,
    ) -> PromptVersion:
        """Commit on ``branch`` a new version with the content of ref ``to``.

        Args:
            prompt: The prompt's name or id.
            to: A version id (or prefix), branch or label.
            branch: The branch to commit on.
            message: The commit message (default ``"Revert to <id>"``).
            parent: The expected head of ``branch``, if any.

        Returns:
            The new version.

        Examples:
            >>> engine.prompts.revert("greeter", to="production")  # doctest: +SKIP
        """
        return self._version(
            cmd.RevertVersion, prompt, to=to, branch=branch, message=message, parent=parent
        )

    def branch(self, prompt: str, name: str, *, start: str = DEFAULT_BRANCH) -> PromptVersion:
        """Create branch ``name`` at ref ``start``.

        Args:
            prompt: The prompt's name or id.
            name: The branch name (letters, digits, ``._/-``).
            start: Where it starts: a version, branch or label.

        Returns:
            The new branch's head version.

        Examples:
            >>> engine.prompts.branch("greeter", "experiment")  # doctest: +SKIP
        """
        return self._version(cmd.CreateBranch, prompt, name=name, start=start)

    def delete_branch(self, prompt: str, name: str) -> PromptInfo:
        """Delete a branch other than ``main``; its versions stay reachable by id.

        Args:
            prompt: The prompt's name or id.
            name: The branch.

        Returns:
            The prompt's details afterwards.

        Examples:
            >>> engine.prompts.delete_branch("greeter", "experiment")  # doctest: +SKIP
        """
        return self._send(cmd.DeleteBranch, prompt, name=name).prompt

    def merge(
        self,
        prompt: str,
        source: str,
        *,
        into: str = DEFAULT_BRANCH,
        strategy: MergeStrategy | None = None,
        message: str | None = None,
        parent: str | None = None,
    ) -> MergeOutcome:
        """Merge ref ``source`` into branch ``into`` (fast-forward when possible).

        Args:
            prompt: The prompt's name or id.
            source: Usually a branch.
            into: The target branch.
            strategy: ``"ours"`` or ``"theirs"`` settles a conflict; ``None`` refuses one.
            message: The merge commit's message.
            parent: The expected head of ``into``, if any.

        Returns:
            The outcome (``"up-to-date"``, ``"fast-forward"``, ``"merge"``) and the new head.

        Raises:
            ConflictError: ``reason="merge-conflict"`` when both sides changed.

        Examples:
            >>> engine.prompts.merge("greeter", "experiment").outcome  # doctest: +SKIP
            'fast-forward'
        """
        reply = self._send(
            cmd.MergeBranch,
            prompt,
            source=source,
            target=into,
            strategy=strategy,
            message=message,
            parent=parent,
        )
        assert reply.version is not None and reply.outcome is not None
        return MergeOutcome(reply.outcome, reply.version)

    def label(self, prompt: str, label: str, to: str = DEFAULT_BRANCH) -> PromptVersion:
        """Point ``label`` (e.g. ``production``) at ref ``to``, creating or moving it.

        Args:
            prompt: The prompt's name or id.
            label: The label name.
            to: A version id (or prefix), branch or label.

        Returns:
            The labelled version.

        Raises:
            NotFoundError: ``reason="unknown-ref"`` when ``to`` names no version.

        Examples:
            >>> engine.prompts.label("greeter", "production", to="main")  # doctest: +SKIP
        """
        return self._version(cmd.MoveLabel, prompt, label=label, to=to)

    def unlabel(self, prompt: str, label: str) -> PromptInfo:
        """Remove a label.

        Args:
            prompt: The prompt's name or id.
            label: The label.

        Returns:
            The prompt's details afterwards.

        Examples:
            >>> engine.prompts.unlabel("greeter", "production")  # doctest: +SKIP
        """
        return self._send(cmd.DeleteLabel, prompt, label=label).prompt

    def update(
        self,
        prompt: str,
        *,
        name: str | None = None,
        description: str | None = None,
        tags: Iterable[str] | None = None,
    ) -> PromptInfo:
        """Rename a prompt or replace its description or tags (``None`` keeps a field).

        Args:
            prompt: The prompt's name or id.
            name: A new name, unique among the owner's prompts.
            description: A new description.
            tags: New tags (replacing the old ones).

        Returns:
            The prompt's details afterwards.

        Raises:
            ConflictError: ``reason="duplicate-name"``.

        Examples:
            >>> engine.prompts.update("greeter", name="welcomer")  # doctest: +SKIP
        """
        tags = None if tags is None else tuple(tags)
        return self._send(
            cmd.ChangeDetails, prompt, name=name, description=description, tags=tags
        ).prompt

    def archive(self, prompt: str) -> PromptInfo:
        """Make a prompt read-only (and hide it from :meth:`list` by default).

        Args:
            prompt: The prompt's name or id.

        Returns:
            The prompt's details afterwards.

        Examples:
            >>> engine.prompts.archive("greeter").archived  # doctest: +SKIP
            True
        """
        return self._send(cmd.ArchivePrompt, prompt).prompt

    def restore(self, prompt: str) -> PromptInfo:
        """Make an archived prompt writable again.

        Args:
            prompt: The prompt's name or id.

        Returns:
            The prompt's details afterwards.

        Examples:
            >>> engine.prompts.restore("greeter").archived  # doctest: +SKIP
            False
        """
        return self._send(cmd.RestorePrompt, prompt).prompt

    def _version(self, kind: type[cmd.Command], prompt: str, **fields: Any) -> PromptVersion:
        version = self._send(kind, prompt, **fields).version
        assert version is not None
        return version

    def _send(self, kind: type[cmd.Command], prompt: str, **fields: Any) -> cmd.CommandReply:
        prompt_id = self._queries.prompt_id(prompt)
        command = kind(owner=self.owner, actor=self.actor, prompt_id=prompt_id, **fields)
        return self._shards.execute(command)
