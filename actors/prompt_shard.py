"""`PromptShard`: the single writer of the prompts hashed to it.

A fixed pool of these async actors (``prompt-shard:<tag>:<i>``, see `actors.naming`) owns
every prompt write in a cluster: a prompt id maps to one shard by a stable hash (see
``actors.prompt_shards``), so one process appends a prompt's events and no DB lock is needed
to avoid lost updates. The store's ``UNIQUE(aggregate_id, seq)`` guards writers outside the
cluster (the CLI writes directly through ``LocalCommands``, which runs the shard's commands
too): on a concurrent-update conflict the shard drops its cached aggregate, reloads it from
the events and runs the command once more.

Retries and idempotency: the actor restarts forever (``max_restarts=-1``) and Ray re-sends the
calls that were in flight when it died (``max_task_retries=-1``). That is safe because every
command carries a ``command_id`` that the store records in the same transaction as the
events; a re-sent command finds its record and gets the original answer instead of being
applied twice. A command that failed with a domain error recorded nothing and simply fails
again. A restarted shard starts with an empty cache: durable state is only in the database.

Threads: commands on one prompt are serialised by an ``asyncio.Lock`` per prompt id, other
prompts interleave. DB work runs on one thread per shard: SQLite has one writer at a time
anyway, and the libSQL driver keeps the GIL while it waits for a lock, so two writer threads
in one process stall each other until ``busy_timeout`` (measured: 5 s).
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from actors.naming import shard_name
from actors.remote import actor_class
from domain.prompts import Prompt
from engine.db import create_db_engine
from engine.prompts.commands import Command, CommandReply
from engine.prompts.local_commands import LocalCommands
from engine.prompts.lru import LRU
from engine.ray_runtime import NAMESPACE

DEFAULT_CACHE_SIZE = 256


@dataclass
class _PromptLock:
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    users: int = 0


class PromptShard:
    """Executes prompt commands for the prompts routed to it; caches their aggregates.

    Args:
        database_url: The database every shard and the SDK share.
        cache_size: How many aggregates to keep in memory (least recently used go first).
    """

    def __init__(self, database_url: str, cache_size: int = DEFAULT_CACHE_SIZE) -> None:
        self._database_url = database_url
        self._cache: LRU[str, Prompt] = LRU(cache_size)
        self._commands = LocalCommands(create_db_engine(database_url), cache=self._cache)
        self._locks: dict[str, _PromptLock] = {}
        self._db_thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="prompt-db")

    async def database_url(self) -> str:
        """The database this shard writes to (the pool checks it matches its own)."""
        return self._database_url

    async def stats(self) -> dict[str, Any]:
        """Cached aggregates, prompts with commands in progress and the process id."""
        return {"cached": len(self._cache), "busy": len(self._locks), "pid": os.getpid()}

    async def execute(self, command: Command) -> CommandReply:
        """Run ``command``; retried once after a concurrent-update conflict.

        Raises:
            NexusError: the domain's error (nothing was written), ``ConflictError`` when a
                second conflict follows the retry, ``ServiceUnavailableError`` on DB failure.
        """
        async with self._serialised(command.prompt_id):
            loop = asyncio.get_running_loop()
            reply: CommandReply = await loop.run_in_executor(
                self._db_thread, self._commands.execute, command
            )
            return reply

    @asynccontextmanager
    async def _serialised(self, prompt_id: str) -> AsyncIterator[None]:
        entry = self._locks.get(prompt_id)
        if entry is None:
            entry = self._locks[prompt_id] = _PromptLock()
        entry.users += 1
        try:
            async with entry.lock:
                yield
        finally:
            entry.users -= 1
            if entry.users == 0:
                del self._locks[prompt_id]


PromptShardActor = actor_class(PromptShard, num_cpus=0, max_restarts=-1, max_task_retries=-1)
"""The Ray actor class of `PromptShard`; get handles with `start_shard`."""


def start_shard(index: int, database_url: str, *, cache_size: int = DEFAULT_CACHE_SIZE) -> Any:
    """The handle of shard ``index``, created in namespace ``autoforge`` unless it exists.

    An existing shard keeps the arguments it was created with (``get_if_exists``).
    """
    from actors.host import database_placement

    return PromptShardActor.options(
        name=shard_name(index, database_url),
        namespace=NAMESPACE,
        get_if_exists=True,
        scheduling_strategy=database_placement(database_url),
    ).remote(database_url, cache_size)
