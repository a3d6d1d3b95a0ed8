"""What works an engine's runs and prompt commands, by the runtime's executor.

Ray: the scheduler actor (`SchedulerClient`) and the prompt shards. Inline: the same
actors on a loop of this process (`InlineScheduler`) and prompt commands straight against
the store (`LocalCommands`, under a lock: SDK users may call from threads). A guest of an
owner that serves the control channel (`engine.sdk.control`) submits through it and writes
prompts straight to the store; a guest of an owner that serves none cannot start runs.
"""

from __future__ import annotations

import threading
from typing import Any

from domain.errors import ServiceUnavailableError
from engine.prompts.commands import Command, CommandReply
from engine.runtime import Runtime
from engine.settings import Settings

PROMPT_CACHE_SIZE = 256


def run_scheduler(runtime: Runtime, settings: Settings) -> Any:
    """The client of the scheduler that works this engine's runs."""
    assert runtime.redis_url is not None, "the runtime is started"
    served = runtime.owner_served
    if served is not None and served.control is not None:
        from engine.control import ControlClient

        # The data dir's owner works this engine's runs, through its control channel.
        return ControlClient(runtime.redis_url, served.control, served.pid)
    database_url = settings.effective_database_url
    if runtime.executor == "ray":
        from actors.scheduler_client import SchedulerClient

        evaluators = settings.evaluators or max(1, int(runtime.ray_resources.get("CPU", 1)))
        return SchedulerClient(runtime.redis_url, database_url, evaluators)
    if runtime.joined is not None:
        return OwnerWorksRuns(runtime.joined.pid, settings)
    from actors.inline_scheduler import InlineScheduler

    return InlineScheduler(runtime.redis_url, database_url, settings.evaluators or 1)


def prompt_commands(runtime: Runtime, settings: Settings) -> Any:
    """What executes prompt commands: the shard actors with Ray, this process otherwise."""
    if runtime.executor == "ray":
        from actors.prompt_shards import ShardPool

        return ShardPool(settings.effective_database_url, settings.prompt_shards)
    assert runtime.db is not None, "the runtime is started"
    return LockedCommands(runtime.db)


class LockedCommands:
    """`LocalCommands` with a warm cache, one command at a time (callers may be threads)."""

    def __init__(self, db: Any) -> None:
        from engine.prompts.local_commands import LocalCommands
        from engine.prompts.lru import LRU

        self._commands = LocalCommands(db, cache=LRU(PROMPT_CACHE_SIZE))
        self._lock = threading.Lock()

    def execute(self, command: Command) -> CommandReply:
        """Run ``command`` (see `LocalCommands.execute`)."""
        with self._lock:
            return self._commands.execute(command)


class OwnerWorksRuns:
    """The scheduler of a guest whose data dir's owner runs inline: runs are the owner's.

    Starting its own evaluators and gateways would break the account's global limits, so
    a guest refuses to start or cancel runs; it reads them from the database as ever.
    """

    def __init__(self, owner_pid: int, settings: Settings) -> None:
        self._message = (
            f"the engine (pid {owner_pid}) that owns {settings.data_dir} works its runs in "
            "its own process: wait for it to finish, or run `autoforge engine start` for an "
            "engine every process can use"
        )
        self._pid = owner_pid

    def refusal(self) -> ServiceUnavailableError:
        """The error for a run this guest was asked to start (or cancel)."""
        return ServiceUnavailableError(self._message, reason="data-dir-busy", pid=self._pid)

    def submit(self, context: Any) -> None:
        del context
        raise self.refusal()

    def cancel(self, run_id: str) -> bool:
        del run_id
        raise self.refusal()

    def recover(self, run_id: str) -> None:
        """Nothing to do: the owner works (or recovers) its runs."""

    def progress(self, run_id: str) -> dict[str, Any] | None:
        del run_id  # the owner's counters are not reachable from here
        return None


def call_gateways(engine: Any) -> tuple[Any, Any]:
    """Where calls an engine makes outside its runs (reflections, playground turns) take
    their permits, and what runs them: the named gateway actors with Ray; the inline
    executor's own gateways, on its loop, when ``engine`` works its runs inline (so these
    calls share the runs' limits); else in-process gateways of the caller's loop (a guest of
    an inline owner: limits then hold within it only)."""
    runtime = engine.runtime
    if runtime.executor == "ray":
        from actors.gateway_links import ray_links

        return ray_links(runtime.redis_url), None
    from actors.inline_scheduler import InlineScheduler

    scheduler = engine.evaluations.scheduler()
    if isinstance(scheduler, InlineScheduler):
        host = scheduler.host()
        return host.links, host.call
    from actors.gateway_links import local_links

    return local_links(runtime.redis_url), None
