"""How the SDK reaches the cluster's `RunScheduler`: created on first use, one per engine.

The client also creates the evaluator pool and the recorder, before the scheduler: Ray kills
owned actors with their owner, so the process that uses the engine owns the workers, and a
scheduler that dies does not take the batches in flight (calls already paid for) with it.
"""

from __future__ import annotations

import threading
from typing import Any

from actors.naming import scheduler_name

RECOVER_TIMEOUT_S = 60
PROGRESS_TIMEOUT_S = 10


class SchedulerClient:
    """The run scheduler of one deployment (Redis + database), started on the first call.

    Args:
        redis_url: The deployment's Redis (streams, budgets, cache).
        database_url: The deployment's database; it also names the actors.
        evaluators: Size of the evaluator pool.
    """

    def __init__(self, redis_url: str, database_url: str, evaluators: int) -> None:
        self._redis_url = redis_url
        self._database_url = database_url
        self._evaluators = evaluators
        self._lock = threading.Lock()
        self._handle: Any = None
        self._pool: Any = None  # kept: this process owns the workers, not the scheduler

    def handle(self) -> Any:
        """The scheduler's actor handle (kept: a named, non-detached actor dies with its last
        handle). The first call waits for the scheduler's recovery, so a run left `running`
        by a process that died reads `interrupted` from then on."""
        with self._lock:
            if self._handle is None:
                import ray

                from actors.host import RayHost, database_placement
                from actors.run_scheduler import RunSchedulerActor

                self._pool = RayHost().workers(
                    self._redis_url, self._database_url, self._evaluators
                )
                name = scheduler_name(self._database_url)
                handle = RunSchedulerActor.options(
                    name=name,
                    get_if_exists=True,
                    scheduling_strategy=database_placement(self._database_url),
                ).remote(self._redis_url, self._database_url, self._evaluators)
                ray.get(handle.recover.remote())
                self._handle = handle
            return self._handle

    def close(self) -> None:
        """Drop this process' handles, so the scheduler and its workers (owned here) end now,
        whoever still holds this client (a `Run`), before the engine drops its gateways."""
        with self._lock:
            self._handle = None
            self._pool = None

    def warm(self) -> None:
        """Create the scheduler and wait until every evaluator and the recorder answer (an
        evaluator's first answer waits for its imports), so a first run starts at once."""
        import ray

        ray.get(self.handle().ready.remote())

    @property
    def started(self) -> bool:
        """Whether the scheduler and its pool exist yet (`handle` was called)."""
        return self._handle is not None

    def active_runs(self) -> list[str]:
        """The runs the scheduler works now."""
        import ray

        runs: list[str] = ray.get(self.handle().active_runs.remote(), timeout=PROGRESS_TIMEOUT_S)
        return runs

    def submit(self, context: Any) -> None:
        """Hand a validated run to the scheduler."""
        import ray

        ray.get(self.handle().submit.remote(context))

    def cancel(self, run_id: str) -> bool:
        """Stop dispatching ``run_id``; False when the scheduler does not work it."""
        import ray

        return bool(ray.get(self.handle().cancel.remote(run_id)))

    def interrupt_all(self, timeout_s: float) -> list[str]:
        """Stop dispatching every run (in-flight cells are recorded) and wait up to
        ``timeout_s`` until they end `interrupted`; returns the runs that did. A no-op
        before the scheduler exists."""
        import time

        import ray

        if self._handle is None:
            return []
        runs: list[str] = ray.get(self._handle.active_runs.remote(), timeout=PROGRESS_TIMEOUT_S)
        ray.get([self._handle.interrupt.remote(run_id) for run_id in runs])
        deadline = time.monotonic() + timeout_s
        while ray.get(self._handle.active_runs.remote(), timeout=PROGRESS_TIMEOUT_S):
            if time.monotonic() > deadline:
                break
            time.sleep(0.05)
        return runs

    def recover(self, run_id: str) -> None:
        """Continue ``run_id`` from the cluster's copy of its context, or mark it
        `interrupted` when there is none (it was unfinished and nobody works it)."""
        import ray

        ray.get(self.handle().recover.remote(run_id), timeout=RECOVER_TIMEOUT_S)

    def progress(self, run_id: str) -> dict[str, Any] | None:
        """Live counters of ``run_id``; None when the scheduler does not work it or cannot
        answer in time (best effort: the stored status and counts still answer)."""
        import ray
        from ray.exceptions import RayError

        try:
            progress: dict[str, Any] | None = ray.get(
                self.handle().progress.remote(run_id), timeout=PROGRESS_TIMEOUT_S
            )
        except RayError:
            return None
        return progress
