"""Routing prompt commands to the fixed pool of ``PromptShard`` actors."""

from __future__ import annotations

import hashlib
import threading
import time
from typing import Any

from domain.errors import ConfigurationError, NexusError, ServiceUnavailableError
from engine.prompts.commands import Command, CommandReply
from engine.settings import redact_url

DEFAULT_TIMEOUT_S = 120.0


def shard_index(prompt_id: str, size: int) -> int:
    """The shard that owns ``prompt_id``: stable across processes and runs (not ``hash()``).

    Examples:
        >>> shard_index("3f2a", 4) == shard_index("3f2a", 4)
        True
    """
    digest = hashlib.blake2b(prompt_id.encode("utf-8"), digest_size=8).digest()
    return int.from_bytes(digest, "big") % size


class ShardPool:
    """Handles of the ``prompt-shard:<i>`` actors, created on first use.

    Args:
        database_url: The database the shards must write to.
        size: Number of shards (``settings.prompt_shards``); every process sharing a cluster
            must use the same size, or two shards could write one prompt (the store's
            optimistic concurrency would still refuse lost updates).
        timeout: Seconds to wait for a shard's answer.
    """

    def __init__(self, database_url: str, size: int, *, timeout: float = DEFAULT_TIMEOUT_S):
        if size < 1:
            raise ConfigurationError("the prompt shard pool needs at least one shard")
        self.database_url = database_url
        self.size = size
        self._timeout = timeout
        self._handles: list[Any] | None = None
        self._lock = threading.Lock()

    def handles(self) -> list[Any]:
        """The shard actor handles, starting the shards (or finding them) the first time.

        Raises:
            ConfigurationError: a shard of that name already writes to another database.
        """
        with self._lock:
            if self._handles is None:
                from actors.naming import shard_name
                from actors.prompt_shard import start_shard

                handles = [start_shard(i, self.database_url) for i in range(self.size)]
                urls = self._get([handle.database_url.remote() for handle in handles])
                for index, url in enumerate(urls):
                    if url != self.database_url:
                        raise ConfigurationError(
                            f"{shard_name(index, url)} already writes to {redact_url(url)}, not "
                            f"{redact_url(self.database_url)}; one cluster serves one database"
                        )
                self._handles = handles
            return self._handles

    def handle(self, prompt_id: str) -> Any:
        """The handle of the shard that owns ``prompt_id``."""
        return self.handles()[shard_index(prompt_id, self.size)]

    def execute(self, command: Command) -> CommandReply:
        """Run ``command`` on its shard and wait for the answer.

        Raises:
            NexusError: the domain's error, re-raised as it was raised in the shard.
            ServiceUnavailableError: the shard cannot be reached or did not answer in time.
        """
        reply: CommandReply = self._get(self.handle(command.prompt_id).execute.remote(command))
        return reply

    def close(self, *, wait_s: float = 10.0) -> None:
        """Kill the shards (they do not restart) and wait until their names are free, so the
        next command (of any pool) starts fresh ones."""
        import ray

        from actors.naming import shard_name
        from engine.ray_runtime import NAMESPACE

        with self._lock:
            handles, self._handles = self._handles or [], None
        for handle in handles:
            ray.kill(handle, no_restart=True)
        deadline = time.monotonic() + wait_s
        for index in range(len(handles)):
            while time.monotonic() < deadline:
                try:
                    ray.get_actor(shard_name(index, self.database_url), namespace=NAMESPACE)
                except ValueError:
                    break
                time.sleep(0.05)

    def _get(self, refs: Any) -> Any:
        import ray
        from ray.exceptions import GetTimeoutError, RayActorError, RayTaskError

        try:
            return ray.get(refs, timeout=self._timeout)
        except RayTaskError as exc:
            if isinstance(exc.cause, NexusError):
                raise exc.cause from None
            raise ServiceUnavailableError(f"prompt shard failed: {exc.cause!r}") from None
        except (RayActorError, GetTimeoutError) as exc:
            raise ServiceUnavailableError(
                f"prompt shard unavailable: {type(exc).__name__}", reason="shard-unavailable"
            ) from None
