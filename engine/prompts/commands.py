"""Commands a prompt shard executes, and how each maps onto the Prompt aggregate.

Commands are frozen dataclasses: they cross the actor boundary by value. Each carries a
``command_id``; the store records which command wrote which events, so a command delivered
twice (a Ray retry after the shard died) is answered from that record instead of applied
again.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

from domain.errors import ConflictError, NotFoundError, ValidationError
from domain.prompts import ModelSettings, Prompt, Template
from domain.prompts.merge import MergeStrategy
from domain.prompts.state import DEFAULT_BRANCH
from engine.prompts.models import MergeKind, PromptInfo, PromptVersion, version_number


def new_id() -> str:
    """A fresh random id (hex), for commands and new prompts."""
    return uuid.uuid4().hex


@dataclass(frozen=True, kw_only=True)
class Command:
    """Who acts on which prompt, as which command."""

    owner: str
    actor: str
    prompt_id: str
    command_id: str = field(default_factory=new_id)

    @property
    def kind(self) -> str:
        """The command's class name, as recorded in ``prompt_commands``."""
        return type(self).__name__


@dataclass(frozen=True, kw_only=True)
class CreatePrompt(Command):
    name: str
    template: Template
    settings: ModelSettings | None = None
    description: str = ""
    tags: tuple[str, ...] = ()
    message: str = "Initial version"


@dataclass(frozen=True, kw_only=True)
class CommitVersion(Command):
    template: Template | None = None
    settings: ModelSettings | None = None
    message: str = ""
    branch: str = DEFAULT_BRANCH
    parent: str | None = None


@dataclass(frozen=True, kw_only=True)
class RevertVersion(Command):
    to: str
    branch: str = DEFAULT_BRANCH
    message: str | None = None
    parent: str | None = None


@dataclass(frozen=True, kw_only=True)
class CreateBranch(Command):
    name: str
    start: str = DEFAULT_BRANCH


@dataclass(frozen=True, kw_only=True)
class DeleteBranch(Command):
    name: str


@dataclass(frozen=True, kw_only=True)
class MergeBranch(Command):
    source: str
    target: str = DEFAULT_BRANCH
    strategy: MergeStrategy | None = None
    message: str | None = None
    parent: str | None = None


@dataclass(frozen=True, kw_only=True)
class MoveLabel(Command):
    label: str
    to: str


@dataclass(frozen=True, kw_only=True)
class DeleteLabel(Command):
    label: str


@dataclass(frozen=True, kw_only=True)
class ChangeDetails(Command):
    name: str | None = None
    description: str | None = None
    tags: tuple[str, ...] | None = None


@dataclass(frozen=True, kw_only=True)
class ArchivePrompt(Command):
    pass


@dataclass(frozen=True, kw_only=True)
class RestorePrompt(Command):
    pass


@dataclass(frozen=True)
class Outcome:
    """What a command produced: a version (commit, merge, label …) and a merge outcome."""

    version_id: str | None = None
    outcome: MergeKind | None = None


@dataclass(frozen=True)
class CommandReply:
    """A shard's answer: the prompt after the command and what the command produced."""

    prompt: PromptInfo
    version: PromptVersion | None = None
    outcome: MergeKind | None = None


def create(command: CreatePrompt) -> Prompt:
    """A new aggregate for ``command`` (three events pending)."""
    return Prompt.create(
        name=command.name,
        owner=command.owner,
        template=command.template,
        settings=command.settings,
        description=command.description,
        tags=command.tags,
        actor=command.actor,
        message=command.message,
        prompt_id=command.prompt_id,
    )


def run(prompt: Prompt | None, command: Command) -> tuple[Prompt, Outcome]:
    """Run ``command`` on ``prompt`` (``None``: not stored yet); return the aggregate after it.

    Raises:
        ConflictError: ``reason="prompt-exists"`` when creating a prompt id that exists.
        NotFoundError: ``reason="unknown-prompt"`` for any other command on a missing prompt.
    """
    if isinstance(command, CreatePrompt):
        if prompt is not None:
            raise ConflictError(
                f"prompt {command.prompt_id} already exists",
                reason="prompt-exists",
                prompt_id=command.prompt_id,
            )
        created = create(command)
        return created, Outcome(created.head().id)
    if prompt is None:
        raise NotFoundError(
            f"prompt {command.prompt_id} not found",
            reason="unknown-prompt",
            prompt=command.prompt_id,
        )
    return prompt, apply(prompt, command)


def apply(prompt: Prompt, command: Command) -> Outcome:  # noqa: C901 - one branch per command
    """Run ``command`` on ``prompt``; on a domain error nothing is recorded.

    Raises:
        NexusError: whatever the aggregate raises (validation, conflict, not found).
    """
    actor = command.actor
    match command:
        case CommitVersion():
            commit = prompt.commit(
                actor=actor,
                template=command.template,
                settings=command.settings,
                message=command.message,
                branch=command.branch,
                parent=command.parent,
            )
            return Outcome(commit.id)
        case RevertVersion():
            commit = prompt.revert(
                actor=actor,
                to=command.to,
                branch=command.branch,
                message=command.message,
                parent=command.parent,
            )
            return Outcome(commit.id)
        case MergeBranch():
            result = prompt.merge(
                actor=actor,
                source=command.source,
                target=command.target,
                strategy=command.strategy,
                message=command.message,
                parent=command.parent,
            )
            return Outcome(result.commit.id, result.outcome)
        case CreateBranch():
            return Outcome(
                prompt.create_branch(actor=actor, name=command.name, start=command.start).id
            )
        case DeleteBranch():
            prompt.delete_branch(actor=actor, name=command.name)
        case MoveLabel():
            return Outcome(prompt.move_label(actor=actor, label=command.label, to=command.to).id)
        case DeleteLabel():
            prompt.delete_label(actor=actor, label=command.label)
        case ChangeDetails():
            prompt.change_details(
                actor=actor, name=command.name, description=command.description, tags=command.tags
            )
        case ArchivePrompt():
            prompt.archive(actor=actor)
        case RestorePrompt():
            prompt.restore(actor=actor)
        case _:
            raise ValidationError(f"unknown command {command.kind}", reason="unknown-command")
    return Outcome()


def reply(prompt: Prompt, outcome: Outcome) -> CommandReply:
    """The reply to a command, built from the aggregate after it."""
    version = None
    if outcome.version_id is not None:
        commit = prompt.versions[outcome.version_id]
        version = PromptVersion.of(commit, version_number(prompt, commit.id))
    return CommandReply(PromptInfo.of(prompt), version, outcome.outcome)
