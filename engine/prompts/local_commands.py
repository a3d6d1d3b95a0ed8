"""Executing prompt commands in this process, straight against the store.

A direct write is as safe as a shard's: the store's ``UNIQUE(aggregate_id, seq)`` refuses a
lost update (the loser reloads and runs the command once more) and the ``command_id`` record
answers a command delivered twice. The shards add only a warm cache and one writer thread per
process; a CLI command that writes one prompt and exits needs neither (and starting Ray to
get them cost 25–47 s per command).
"""

from __future__ import annotations

from typing import Protocol

from sqlalchemy import Engine

from domain.errors import ConflictError, NexusError, ServiceUnavailableError
from domain.prompts import Prompt
from engine.logs import get_logger
from engine.prompts.commands import Command, CommandReply, Outcome, reply, run
from engine.prompts.lru import LRU
from engine.prompts.store import PromptStore

log = get_logger(__name__)


class CommandExecutor(Protocol):
    """Whatever runs prompt commands for :class:`~engine.prompts.Prompts`: the shard pool
    (:class:`~engine.prompts.ShardPool`) or this process (:class:`LocalCommands`)."""

    def execute(self, command: Command) -> CommandReply:
        """Run ``command`` and return its reply; raises the domain's error."""
        ...


class LocalCommands:
    """Runs commands on this thread, retried once after a concurrent-update conflict.

    Not thread-safe: callers serialise commands on one prompt (a shard holds a lock per
    prompt; a CLI process runs one command).

    Args:
        db: A sync SQLAlchemy engine on a migrated database.
        cache: Aggregates kept between commands (a shard's); ``None`` replays every time.

    Examples:
        >>> Prompts(db=db, owner="local", shards=LocalCommands(db))  # doctest: +SKIP
    """

    def __init__(self, db: Engine, *, cache: LRU[str, Prompt] | None = None) -> None:
        self._store = PromptStore(db)
        self._cache = cache

    def execute(self, command: Command) -> CommandReply:
        """Run ``command``; retried once after a concurrent-update conflict.

        Raises:
            NexusError: the domain's error (nothing was written), ``ConflictError`` when a
                second conflict follows the retry, ``ServiceUnavailableError`` on DB failure.
        """
        try:
            return self._attempt(command)
        except ConflictError as exc:
            if exc.details.get("reason") != "concurrent-update":
                raise
            log.warning("prompt changed behind its writer; reloading", prompt=command.prompt_id)
            return self._attempt(command)

    def _attempt(self, command: Command) -> CommandReply:
        prompt_id = command.prompt_id
        cached = self._cache.get(prompt_id) if self._cache is not None else None
        try:
            prompt, answer = self._run(command, cached)
        except NexusError:
            if cached is not None and cached.pending_events:
                self._forget(prompt_id)
            raise
        except Exception as exc:
            self._forget(prompt_id)
            raise ServiceUnavailableError(
                f"prompt command failed: {type(exc).__name__}: {exc}", reason="shard-error"
            ) from None
        if self._cache is not None:
            self._cache.put(prompt_id, prompt)
        return answer

    def _run(self, command: Command, cached: Prompt | None) -> tuple[Prompt, CommandReply]:
        """Answer a retried command from its record, or apply it and append its events."""
        owner, prompt_id = command.owner, command.prompt_id
        prompt = cached if cached is not None and cached.owner == owner else None
        # A writer outside the cluster (the CLI) may have appended since: a stale aggregate
        # would refuse a command based on that newer head ("stale parent", "unknown ref").
        if prompt is not None and prompt.persisted_version != self._store.stored_version(
            owner, prompt_id
        ):
            prompt = None
        if prompt is None:
            prompt = self._store.find(owner, prompt_id)
        done = self._store.recorded(owner, prompt_id, command.command_id)
        if done is not None and prompt is not None:
            return prompt, reply(prompt, Outcome(done.version_id, done.outcome))
        prompt, outcome = run(prompt, command)
        self._store.append(prompt, command, outcome)
        return prompt, reply(prompt, outcome)

    def _forget(self, prompt_id: str) -> None:
        if self._cache is not None:
            self._cache.pop(prompt_id)
