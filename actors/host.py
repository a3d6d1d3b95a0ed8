"""Where the engine's actors live: Ray workers, or one event loop of the engine's process.

The same classes (`RunScheduler`, `Evaluator`, `ResultRecorder`, `Gateway`) run either way;
only what hosting them means differs, and that is all a host says: how the scheduler gets
its workers, shares a run's context with them, queues a call to itself, keeps live runs'
contexts, and which errors mean a worker is gone. Handles of an inline host answer
``handle.method.remote(...)`` as Ray's do, with something to await (or, from another
thread, a future), so the callers do not know which host they have.

Inline, a worker cannot die without its process, so no error means "worker lost", and the
live contexts die with the process as a Ray cluster's do with the cluster: the next process
finds a `running` run nobody holds and marks it `interrupted`.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
from collections.abc import Awaitable, Coroutine
from typing import Any, Protocol

from engine.llm.gateways import LinkFactory
from engine.logs import get_logger

log = get_logger(__name__)


class Host(Protocol):
    """What `RunScheduler` needs of the place its actors live."""

    @property
    def lost(self) -> tuple[type[BaseException], ...]:
        """Errors of a worker call that mean the worker is gone (its batch goes out again)."""
        ...

    def workers(self, redis_url: str, database_url: str, evaluators: int) -> tuple[list[Any], Any]:
        """Handles of the evaluator pool and the recorder, created if they do not exist."""
        ...

    def revive(self, redis_url: str, database_url: str, index: int, handle: Any) -> Any:
        """Evaluator ``index`` of the pool after a call to ``handle`` found it lost: the
        same handle while the actor still exists (its host restarts it), else a new one."""
        ...

    def share(self, value: Any) -> Awaitable[Any]:
        """``value`` made reachable by every worker; awaiting the result gives it back."""
        ...

    def after_init(self, actor: Any, method: str) -> None:
        """Queue ``actor.method()`` behind its constructor (the actor is being built)."""
        ...

    def live_runs(self, deployment: str) -> Any:
        """Where the contexts of live runs are kept (`keep`, `get`, `drop`)."""
        ...


class RayHost:
    """Actors as Ray workers: what the scheduler actor does by default."""

    @property
    def lost(self) -> tuple[type[BaseException], ...]:
        import ray.exceptions

        # Unschedulable: an evaluator Ray restarts after its node died, pinned to that node.
        return (
            ray.exceptions.RayActorError,
            ray.exceptions.ActorUnavailableError,
            ray.exceptions.ActorUnschedulableError,
        )

    def workers(self, redis_url: str, database_url: str, evaluators: int) -> tuple[list[Any], Any]:
        """The pool and the recorder as named actors, found if they exist.

        Whoever creates them owns them, and Ray kills owned actors with their owner: the
        engine creates them before the scheduler, so a scheduler that dies does not take the
        batches in flight (calls already paid for) with it.
        """
        from actors.evaluator import EvaluatorActor
        from actors.naming import evaluator_name, recorder_name
        from actors.result_recorder import ResultRecorderActor

        pool = [
            EvaluatorActor.options(
                name=evaluator_name(database_url, i), get_if_exists=True, scheduling_strategy=where
            ).remote(redis_url)
            for i, where in enumerate(evaluator_placements(evaluators))
        ]
        recorder = ResultRecorderActor.options(
            name=recorder_name(database_url),
            get_if_exists=True,
            scheduling_strategy=database_placement(database_url),
        ).remote(redis_url, database_url)
        return pool, recorder

    def revive(self, redis_url: str, database_url: str, index: int, handle: Any) -> Any:
        """A new evaluator ``index`` on a live node when the old one is gone for good: its
        placement names its node, so once that node died Ray cannot restart it there."""
        import ray

        from actors.evaluator import EvaluatorActor
        from actors.naming import evaluator_name

        name = evaluator_name(database_url, index)
        try:
            ray.get_actor(name)  # still there: restarting, or unschedulable (next call says)
        except ValueError:  # dead: its name is free again
            where = evaluator_placements(index + 1)[index]
            log.warning("evaluator replaced", index=index)
            return EvaluatorActor.options(
                name=name, get_if_exists=True, scheduling_strategy=where
            ).remote(redis_url)
        return handle

    def share(self, value: Any) -> Any:
        import ray

        return ray.put(value)

    def after_init(self, actor: Any, method: str) -> None:
        import ray

        del actor  # Ray's handle on the actor being built is the runtime context's
        getattr(ray.get_runtime_context().current_actor, method).remote()

    def live_runs(self, deployment: str) -> Any:
        from engine.evaluation.live_runs import LiveRuns

        return LiveRuns(deployment)


def database_placement(database_url: str) -> Any:
    """Where an actor that opens ``database_url`` must run: a database *file* exists on one
    machine only, so on the node of the process creating the actor (the engine's, the head on
    a `ray up` cluster); a database server (Turso: a host in the URL) is reachable anywhere.

    On another machine the same path would be another, empty file: a recorder placed there
    would write results nobody reads.
    """
    import ray
    from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

    if not is_database_file(database_url):
        return "DEFAULT"
    return NodeAffinitySchedulingStrategy(ray.get_runtime_context().get_node_id(), soft=False)


def is_database_file(database_url: str) -> bool:
    """Whether ``database_url`` names a file (or memory) of this machine, not a server:
    ``sqlite+libsql:///path`` and ``sqlite:///path`` are files, ``sqlite+libsql://host?…``
    (Turso) is a server."""
    after_scheme = database_url.split("://", 1)[1] if "://" in database_url else ""
    return not after_scheme or after_scheme.startswith("/")


HEAD_RESOURCE = "node:__internal_head__"
"""The resource only Ray's head node has."""


def evaluator_placements(count: int) -> list[Any]:
    """Where each of ``count`` evaluators goes: evaluator ``i`` on node ``i mod N`` of the
    cluster's ``N`` live nodes, worker nodes first (by node id), the head last.

    Evaluators need no CPU (``num_cpus=0``: they wait on providers), so no resource spreads
    them: measured on 3 one-CPU nodes, Ray's ``SPREAD`` put two of three on one worker and
    none on the other, and a *soft* node affinity was not honoured either (each evaluator
    landed on another node than the one named). The affinity is hard, so an evaluator whose
    node died cannot be restarted: the scheduler replaces it (`RayHost.revive`) on a live
    node.
    """
    import ray
    from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

    nodes = [node for node in ray.nodes() if node.get("Alive")]  # type: ignore[no-untyped-call]
    nodes.sort(key=lambda node: (HEAD_RESOURCE in node.get("Resources", {}), node["NodeID"]))
    if not nodes:
        return ["DEFAULT"] * count
    return [
        NodeAffinitySchedulingStrategy(nodes[i % len(nodes)]["NodeID"], soft=False)
        for i in range(count)
    ]


class Shared:
    """A value every inline worker already holds, awaitable like a Ray object ref."""

    def __init__(self, value: Any) -> None:
        self.value = value

    def __await__(self) -> Any:
        return self._get().__await__()

    async def _get(self) -> Any:
        return self.value


class _Method:
    def __init__(self, target: Any, loop: asyncio.AbstractEventLoop) -> None:
        self._target = target
        self._loop = loop

    def remote(self, *args: Any, **kwargs: Any) -> Any:
        """Start the call on the host's loop, now, as Ray starts an actor task: a task to
        await on that loop, a `concurrent.futures.Future` from any other thread."""
        call = self._target(*args, **kwargs)
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is self._loop:
            return self._loop.create_task(call)
        return asyncio.run_coroutine_threadsafe(call, self._loop)


class InlineHandle:
    """A handle on an object of an inline host: ``handle.method.remote(...)`` as with Ray."""

    def __init__(self, actor: Any, loop: asyncio.AbstractEventLoop) -> None:
        self.actor = actor
        self._loop = loop

    def __getattr__(self, name: str) -> _Method:
        if name.startswith("_"):
            raise AttributeError(name)
        return _Method(getattr(self.actor, name), self._loop)


class InlineLiveRuns:
    """Live runs' contexts in this process' memory: they end with it, as with a cluster."""

    def __init__(self) -> None:
        self._contexts: dict[str, Any] = {}

    def keep(self, context: Any) -> None:
        self._contexts[context.run_id] = context

    def get(self, run_id: str) -> Any | None:
        return self._contexts.get(run_id)

    def drop(self, run_id: str) -> None:
        self._contexts.pop(run_id, None)


class InlineHost:
    """Actors as objects on one event loop of this process (``loop``, its own thread).

    Args:
        loop: The loop every actor runs on.
        links: The gateway links of every evaluator (one in-process gateway per account).
    """

    lost: tuple[type[BaseException], ...] = ()

    def __init__(self, loop: asyncio.AbstractEventLoop, links: LinkFactory) -> None:
        self.loop = loop
        self._links = links
        self._live = InlineLiveRuns()
        self._workers: tuple[list[Any], Any] | None = None
        self._queued: set[asyncio.Task[Any]] = set()

    @property
    def links(self) -> LinkFactory:
        """The in-process gateways every evaluator of this loop calls through."""
        return self._links

    def handle(self, actor: Any) -> InlineHandle:
        return InlineHandle(actor, self.loop)

    def workers(self, redis_url: str, database_url: str, evaluators: int) -> tuple[list[Any], Any]:
        if self._workers is None:
            from actors.evaluator import Evaluator
            from actors.result_recorder import ResultRecorder

            pool = [self.handle(Evaluator(redis_url, links=self._links)) for _ in range(evaluators)]
            self._workers = pool, self.handle(ResultRecorder(redis_url, database_url))
        return self._workers

    def revive(self, redis_url: str, database_url: str, index: int, handle: Any) -> Any:
        del redis_url, database_url, index  # an inline worker dies only with this process
        return handle

    def share(self, value: Any) -> Shared:
        return Shared(value)

    def after_init(self, actor: Any, method: str) -> None:
        def start() -> None:
            task = self.loop.create_task(getattr(actor, method)())
            self._queued.add(task)  # the loop keeps only a weak reference to a task
            task.add_done_callback(self._queued.discard)

        self.loop.call_soon_threadsafe(start)

    def live_runs(self, deployment: str) -> InlineLiveRuns:
        del deployment  # one process serves one deployment
        return self._live

    def call(self, coroutine: Coroutine[Any, Any, Any], timeout: float | None = None) -> Any:
        """Run ``coroutine`` on the loop from another thread and return its result."""
        future: concurrent.futures.Future[Any] = asyncio.run_coroutine_threadsafe(
            coroutine, self.loop
        )
        return future.result(timeout)
