"""The run scheduler, its evaluators, recorder and gateways on one loop of this process.

For an engine that owns its data dir and has no cluster to use (`engine.executor`): a
local Ray costs ~4.3 s to start and ~1.2 s to stop here, and each actor is a fresh process
importing our code, more than a whole 1,000-cell run. The actor classes are the same; they
run on one background event-loop thread (`actors.host.InlineHost`) instead of as Ray
workers. The answers match `actors.scheduler_client.SchedulerClient`'s.

Database work of the actors (their ``asyncio.to_thread`` calls) goes to one thread: the
libSQL driver keeps the GIL while it waits for SQLite's write lock, so two writer threads
in one process stall each other until ``busy_timeout`` (see `actors.prompt_shard`).
"""

from __future__ import annotations

import asyncio
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FutureTimeout
from typing import Any

from actors.scheduler_client import PROGRESS_TIMEOUT_S, RECOVER_TIMEOUT_S
from engine.logs import get_logger

log = get_logger(__name__)
CLOSE_TIMEOUT_S = 5.0


class InlineScheduler:
    """The deployment's `RunScheduler` hosted in this process, started on the first call.

    Args:
        redis_url: The deployment's Redis (streams, budgets, cache).
        database_url: The deployment's database.
        evaluators: Size of the evaluator pool (one loop serves them all: 1 is enough).
    """

    def __init__(self, redis_url: str, database_url: str, evaluators: int = 1) -> None:
        self._redis_url = redis_url
        self._database_url = database_url
        self._evaluators = evaluators
        self._lock = threading.Lock()
        self._host: Any = None
        self._scheduler: Any = None
        self._thread: threading.Thread | None = None

    def handle(self) -> Any:
        """A handle on the scheduler (``.method.remote(...)``). The first call starts the
        loop and waits for the scheduler's recovery, as `SchedulerClient.handle` does."""
        return self._host_of_scheduler()[0].handle(self._scheduler)

    def host(self) -> Any:
        """The `actors.host.InlineHost` the actors run on (started if need be): a call made
        through its ``links`` with its ``call`` counts against the runs' provider limits (the
        optimizer's reflection calls)."""
        return self._host_of_scheduler()[0]

    def _host_of_scheduler(self) -> tuple[Any, Any]:
        with self._lock:
            if self._scheduler is None:
                from actors.gateway_links import local_links
                from actors.host import InlineHost
                from actors.run_scheduler import RunScheduler
                from engine import timings

                with timings.phase("workers"):
                    loop = asyncio.new_event_loop()
                    loop.set_default_executor(
                        ThreadPoolExecutor(max_workers=1, thread_name_prefix="autoforge-db")
                    )
                    self._thread = threading.Thread(
                        target=loop.run_forever, name="autoforge-inline", daemon=True
                    )
                    self._thread.start()
                    host = InlineHost(loop, local_links(self._redis_url))

                    async def build() -> Any:
                        return RunScheduler(
                            self._redis_url, self._database_url, self._evaluators, host=host
                        )

                    scheduler = host.call(build())
                    host.call(scheduler.recover())
                self._host, self._scheduler = host, scheduler
            return self._host, self._scheduler

    def warm(self) -> None:
        """Start the loop and the scheduler now, so a first run starts at once."""
        host, scheduler = self._host_of_scheduler()
        host.call(scheduler.ready())

    @property
    def started(self) -> bool:
        """Whether the scheduler exists yet."""
        return self._scheduler is not None

    def active_runs(self) -> list[str]:
        """The runs the scheduler works now."""
        host, scheduler = self._host_of_scheduler()
        runs: list[str] = host.call(scheduler.active_runs(), PROGRESS_TIMEOUT_S)
        return runs

    def interrupt_all(self, timeout_s: float) -> list[str]:
        """As `SchedulerClient.interrupt_all`: stop dispatching every run, wait up to
        ``timeout_s`` for them to end `interrupted`; a no-op before the scheduler exists."""
        if self._scheduler is None:
            return []
        host, scheduler = self._host_of_scheduler()
        runs = self.active_runs()
        for run_id in runs:
            host.call(scheduler.interrupt(run_id), PROGRESS_TIMEOUT_S)
        deadline = time.monotonic() + timeout_s
        while self.active_runs() and time.monotonic() < deadline:
            time.sleep(0.05)
        return runs

    def submit(self, context: Any) -> None:
        """Hand a validated run to the scheduler."""
        host, scheduler = self._host_of_scheduler()
        host.call(scheduler.submit(context))

    def cancel(self, run_id: str) -> bool:
        """Stop dispatching ``run_id``; False when the scheduler does not work it."""
        host, scheduler = self._host_of_scheduler()
        return bool(host.call(scheduler.cancel(run_id)))

    def recover(self, run_id: str) -> None:
        """Continue ``run_id`` from this process' copy of its context, or mark it
        `interrupted` when there is none (it was unfinished and nobody works it)."""
        host, scheduler = self._host_of_scheduler()
        host.call(scheduler.recover(run_id), RECOVER_TIMEOUT_S)

    def progress(self, run_id: str) -> dict[str, Any] | None:
        """Live counters of ``run_id``; None when the scheduler does not work it or cannot
        answer in time."""
        host, scheduler = self._host_of_scheduler()
        try:
            progress: dict[str, Any] | None = host.call(
                scheduler.progress(run_id), PROGRESS_TIMEOUT_S
            )
        except FutureTimeout:
            return None
        return progress

    def close(self) -> None:
        """Stop the loop: runs still going stay `running` in the database and read
        `interrupted` for the next engine (as when a Ray engine's process ends)."""
        with self._lock:
            host, self._host, self._scheduler = self._host, None, None
            thread, self._thread = self._thread, None
        if host is None or thread is None:
            return
        try:
            host.call(_stop_tasks(), CLOSE_TIMEOUT_S)
        except Exception as exc:  # closing is best effort: the loop stops regardless
            log.warning("inline executor did not stop cleanly", error=repr(exc))
        host.loop.call_soon_threadsafe(host.loop.stop)
        thread.join(CLOSE_TIMEOUT_S)
        if not thread.is_alive():
            host.loop.close()


async def _stop_tasks() -> None:
    from engine.llm import openai_http

    current = asyncio.current_task()
    tasks = [task for task in asyncio.all_tasks() if task is not current]
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    await openai_http.close_session()
    await asyncio.get_running_loop().shutdown_default_executor()
