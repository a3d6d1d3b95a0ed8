"""What the HTTP app needs from the rest of the system, in one small container.

`create_app(services)` builds the app around it, so tests can run the very app Serve hosts
in-process against a real Redis and database.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Annotated, Any

from fastapi import Depends
from sqlalchemy import Engine as DbEngine
from starlette.requests import HTTPConnection

from api.config import ApiSettings
from domain.errors import NotFoundError, ServiceUnavailableError
from engine.keys import Keyring, ProviderKeyStore
from engine.sdk import Engine, owns_run
from engine.settings import Settings

if TYPE_CHECKING:
    from engine.runtime import Runtime

RunOwnership = Callable[[str, str], Awaitable[bool]]
"""``await owns(workspace_id, run_id)``: is this run in this workspace (a personal
workspace's id is its user's id)?"""


async def deny_all_runs(user_id: str, run_id: str) -> bool:  # noqa: ARG001
    """An ownership hook for a process without runs: no run belongs to anyone."""
    return False


def owns_optimization(db: DbEngine, user_id: str, optimization_id: str) -> bool:
    """Whether ``optimization_id`` is an optimization of ``user_id``."""
    from engine.optimization.store import OptimizationStore

    try:
        OptimizationStore(db).get(user_id, optimization_id)
    except NotFoundError:
        return False
    return True


def owns_queue(db: DbEngine, user_id: str, queue_id: str) -> bool:
    """Whether ``queue_id`` is an annotation queue of ``user_id``."""
    from engine.evaluation.queues import QueueStore
    from engine.evaluation.runs import RunStore

    try:
        QueueStore(db, RunStore(db)).get(user_id, queue_id)
    except NotFoundError:
        return False
    return True


def owns_playground(db: DbEngine, user_id: str, session_id: str) -> bool:
    """Whether ``session_id`` is a playground session of ``user_id``."""
    from engine.playground.store import PlaygroundStore

    try:
        PlaygroundStore(db).get(user_id, session_id)
    except NotFoundError:
        return False
    return True


@dataclass(frozen=True)
class StoreOwners:
    """An ownership hook asking a store: ``owns(db, user id, resource id)``."""

    db: DbEngine
    owns: Callable[[DbEngine, str, str], bool]

    async def __call__(self, user_id: str, resource_id: str) -> bool:
        # asyncio's thread hop, not anyio's: on a loop not started by `asyncio.run` (a Serve
        # replica's) anyio scans every task for its root on each call, and a stream replica
        # holds two tasks per follower: with 10,000 followers, a quarter of its CPU went to
        # that scan while the next ones connected (py-spy).
        return await asyncio.to_thread(self.owns, self.db, user_id, resource_id)


@dataclass(frozen=True)
class StaticRunOwners:
    """An ownership hook from a fixed ``run id -> user id`` map (demos and tests)."""

    owners: dict[str, str]

    async def __call__(self, user_id: str, run_id: str) -> bool:
        return self.owners.get(run_id) == user_id


@dataclass
class ApiServices:
    """Settings, stores and hooks the routes use; `close()` releases what it opened.

    Args:
        settings: the engine settings (data, Redis, Ray, logging).
        db: the SQLAlchemy engine of the metadata database.
        redis_url: the shared Redis (rate limits, event streams).
        keyring: master keys for provider API keys; `None` where no route needs them.
        api: the API's settings (bind address, auth, rate limits, CORS, body limit).
        run_owner: decides who may follow a run's events.
        optimization_owner: decides who may follow an optimization's events.
        playground_owner: decides who may follow a playground session's events.
        queue_owner: decides who may follow an annotation queue's events.
        engine: the SDK facade for resource routers (prompts, datasets, runs).
    """

    settings: Settings
    db: DbEngine
    redis_url: str
    keyring: Keyring | None = None
    api: ApiSettings = field(default_factory=ApiSettings)
    run_owner: RunOwnership = deny_all_runs
    optimization_owner: RunOwnership = deny_all_runs
    playground_owner: RunOwnership = deny_all_runs
    queue_owner: RunOwnership = deny_all_runs
    engine: Engine | None = None
    on_close: list[Callable[[], None]] = field(default_factory=list)

    @classmethod
    def from_runtime(cls, runtime: Runtime, **kwargs: Any) -> ApiServices:
        """Services on a started `Runtime` (its DB and Redis); closing does not stop it.

        Runs, optimizations and queues belong to whom their stores say, unless
        ``run_owner``, ``optimization_owner`` or ``queue_owner`` is given.
        """
        if runtime.db is None or runtime.redis_url is None:
            raise RuntimeError("runtime not started")
        kwargs.setdefault("run_owner", StoreOwners(runtime.db, owns_run))
        kwargs.setdefault("optimization_owner", StoreOwners(runtime.db, owns_optimization))
        kwargs.setdefault("playground_owner", StoreOwners(runtime.db, owns_playground))
        kwargs.setdefault("queue_owner", StoreOwners(runtime.db, owns_queue))
        return cls(settings=runtime.settings, db=runtime.db, redis_url=runtime.redis_url, **kwargs)

    @property
    def keys(self) -> ProviderKeyStore:
        """Users' provider API keys.

        Raises:
            ServiceUnavailableError: this process holds no master keys.
        """
        if self.keyring is None:
            raise ServiceUnavailableError("provider keys are not served by this process")
        return ProviderKeyStore(self.db, self.keyring)

    def close(self) -> None:
        """Run the close callbacks, newest first; safe to call twice."""
        while self.on_close:
            self.on_close.pop()()


def services_of(conn: HTTPConnection) -> ApiServices:
    """The services of the app serving ``conn``."""
    services: ApiServices = conn.app.state.services
    return services


# The dependencies below are `async def` although they never await: FastAPI runs a plain
# `def` dependency in its thread pool, and three such hops per request cost more CPU than the
# route itself on a loaded replica (measured with bench/api_latency.py).


async def services_dep(conn: HTTPConnection) -> ApiServices:
    """`services_of` as a dependency."""
    return services_of(conn)


async def key_store(conn: HTTPConnection) -> ProviderKeyStore:
    """The provider key store."""
    return services_of(conn).keys


async def sdk_engine(conn: HTTPConnection) -> Engine:
    """The SDK facade.

    Raises:
        ServiceUnavailableError: the app was built without one.
    """
    engine = services_of(conn).engine
    if engine is None:
        raise ServiceUnavailableError("the engine is not available in this process")
    return engine


ServicesDep = Annotated[ApiServices, Depends(services_dep)]
KeyStoreDep = Annotated[ProviderKeyStore, Depends(key_store)]
EngineDep = Annotated[Engine, Depends(sdk_engine)]
# Resource routes take the SDK in the caller's workspace from `api.acting` (`Reader`,
# `PromptWriter`, ...): each names the permission it needs.
