"""One object that owns the embedded services: database, Redis and Ray.

    with Runtime() as rt:
        rt.redis.ping(); rt.db ...

Services start in dependency order and stop in reverse; anything started here is stopped
here, so a `with` block leaves no process behind. The first runtime on a data directory owns
it; a later one (a CLI command during a live `autoforge eval`) joins the owner's Redis and
Ray instead of starting, or reaping, its own.
"""

from __future__ import annotations

import os
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import redis
from sqlalchemy import Engine

from domain.errors import ServiceUnavailableError
from engine import timings
from engine.control.protocol import control_tag
from engine.data_dir import DataDirClaim, PublishedServices, private_dir
from engine.db import create_db_engine, migrate
from engine.executor import Executor, choose_executor
from engine.logs import get_logger
from engine.ray_runtime import (
    RAY_AUTH_MODE,
    current_address,
    start_ray,
    stop_ray,
    use_auth_mode,
    worker_env,
)
from engine.redis_client import sync_redis
from engine.redis_embedded import EmbeddedRedis
from engine.settings import Settings, load_settings, redact_url

log = get_logger(__name__)


@dataclass
class Runtime:
    """Start/stop of the database, Redis and Ray for one engine process.

    Args:
        settings: configuration; read from the environment when omitted.
        start_ray: set False for processes that only need the DB and Redis (e.g. the CLI's
            read-only commands); else Ray starts if the executor is Ray's.
        serves_control: this process answers joiners on the control channel (an `Engine`
            does); published so that they use it instead of joining Ray.
    """

    settings: Settings = field(default_factory=load_settings)
    start_ray: bool = True
    serves_control: bool = False
    db: Engine | None = None
    redis_url: str | None = None
    schema_revision: str | None = None
    ray_resources: dict[str, Any] = field(default_factory=dict)
    executor: Executor | None = None
    """Where the actors run (`engine.executor`); None when ``start_ray`` is False."""
    _claim: DataDirClaim | None = None
    _embedded_redis: EmbeddedRedis | None = None
    _redis: redis.Redis | None = None
    _started_ray: bool = False

    @property
    def redis(self) -> redis.Redis:
        if self._redis is None:
            raise RuntimeError("runtime not started")
        return self._redis

    @property
    def embedded_redis(self) -> EmbeddedRedis | None:
        return self._embedded_redis

    @property
    def joined(self) -> PublishedServices | None:
        """What the data dir's live owner published when this runtime is its guest."""
        return self._claim.joined if self._claim else None

    @property
    def owns_data_dir(self) -> bool:
        """Whether this runtime owns its data dir (else it joined the owner's services)."""
        return self._claim is not None and self._claim.owner

    @property
    def started_ray(self) -> bool:
        """Whether this runtime started (or joined) Ray itself, rather than finding it up."""
        return self._started_ray

    @property
    def owner_served(self) -> PublishedServices | None:
        """The data dir's owner when this runtime reaches its engine through the control
        channel (and so started no Ray of its own), else None."""
        joined = self._claim.joined if self._claim else None
        return joined if joined is not None and uses_control(joined, self.settings) else None

    def start(self) -> Runtime:
        """Start (or join) every service, stopping what already started if one fails.

        Raises:
            ServiceUnavailableError: a service cannot start, or the data directory's owner
                cannot be joined.
        """
        try:
            self._claim = DataDirClaim.acquire(private_dir(self.settings.data_dir))
            served = self.owner_served
            if self.start_ray and served is None:
                self.executor = choose_executor(self.settings, self._claim.joined)
            # Migrations (CPU) run while Redis and Ray start (child processes: mostly waiting).
            # Redis is spawned on this thread: its death signal is tied to the thread that forks
            # it. A joiner served through the owner's control channel starts no Ray.
            with ThreadPoolExecutor(max_workers=1, thread_name_prefix="autoforge-start") as pool:
                migrated = pool.submit(self._start_db)
                try:
                    self._start_redis()
                    if self.executor == "ray":
                        with timings.phase("ray"):
                            self._start_ray()
                finally:
                    migrated.result()
            if self._claim.owner:
                self._claim.publish(self._published())
        except BaseException:
            self.stop()
            raise
        return self

    def _start_db(self) -> None:
        with timings.phase("db + migrations"):
            self.db = create_db_engine(self.settings.effective_database_url)
            self.schema_revision = migrate(self.db)
            self.db.dispose()  # no connection of the start thread is handed to another

    def _start_redis(self) -> None:
        with timings.phase("redis"):
            self._connect_redis()

    def _connect_redis(self) -> None:
        joined = self._claim.joined if self._claim else None
        if self.settings.redis_url:
            self.redis_url = self.settings.redis_url
        elif joined is not None:
            if not joined.redis_url:
                raise ServiceUnavailableError(
                    f"the engine (pid {joined.pid}) that owns {self.settings.data_dir} uses "
                    "an external Redis: set AUTOFORGE_REDIS_URL to the same server",
                    reason="data-dir-busy",
                )
            self.redis_url = joined.redis_url
        else:
            self._embedded_redis = EmbeddedRedis(self.settings.data_dir / "redis")
            self.redis_url = self._embedded_redis.start()
        self._redis = sync_redis(self.redis_url)
        try:
            self._redis.ping()
        except redis.ConnectionError as exc:
            raise ServiceUnavailableError(
                f"cannot reach Redis at {redact_url(self.redis_url)}: {exc}", reason="redis"
            ) from None

    def _start_ray(self) -> None:
        assert self.redis_url is not None
        env = worker_env(
            AUTOFORGE_REDIS_URL=self.redis_url,
            AUTOFORGE_DATABASE_URL=self.settings.effective_database_url,
            AUTOFORGE_DATA_DIR=str(self.settings.data_dir),
        )
        os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
        import ray

        address = self.settings.ray_address
        joined = self._claim.joined if self._claim else None
        if address is None and joined is not None and joined.ray_address:
            # The owner's scheduler actor lives in its Ray: `run cancel` must reach it.
            address = joined.ray_address
            if joined.ray_auth_mode:
                use_auth_mode(joined.ray_auth_mode)
        self._started_ray = not ray.is_initialized()
        self.ray_resources = start_ray(
            address,
            self.settings.ray_num_cpus,
            env,
            log_to_driver=self.settings.ray_log_to_driver,
            metrics_port=self.settings.ray_metrics_port,
        )

    def _published(self) -> PublishedServices:
        embedded = self._embedded_redis
        ray_address = current_address() if self.executor == "ray" else None
        return PublishedServices(
            pid=os.getpid(),
            redis_url=embedded.url if embedded is not None else None,
            ray_address=ray_address,
            ray_auth_mode=os.environ.get(RAY_AUTH_MODE) if ray_address else None,
            control=control_tag(self.settings.effective_database_url)
            if self.serves_control
            else None,
        )

    def stop(self) -> None:
        """Stop what this runtime started, in reverse order; safe to call twice.

        A runtime that joined another process's services only disconnects from them.
        """
        if self._claim is not None:
            self._claim.unpublish()
        if self._started_ray:
            with timings.phase("teardown: ray"):
                stop_ray()
            self._started_ray = False
        if self._redis is not None:
            self._redis.close()
            self._redis = None
        if self._embedded_redis is not None:
            with timings.phase("teardown: redis"):
                self._embedded_redis.stop()
            self._embedded_redis = None
        if self.db is not None:
            with timings.phase("teardown: db"):
                self.db.dispose()
            self.db = None
        if self._claim is not None:
            self._claim.release()
            self._claim = None
        log.debug("runtime stopped")

    def __enter__(self) -> Runtime:
        return self.start()

    def __exit__(self, *_exc: object) -> None:
        self.stop()


def uses_control(owner: PublishedServices, settings: Settings) -> bool:
    """Whether a process joining `owner` goes through its control channel: it serves one,
    and unless the owner runs Ray and this process was given a cluster of its own (a Ray
    address, or a Ray already up), where it joins the owner's actors. An inline owner's
    actors are reachable only through the channel."""
    if owner.control is None:
        return False
    if owner.ray_address is None:
        return True
    ray = sys.modules.get("ray")
    ray_up = ray is not None and ray.is_initialized()
    return settings.ray_address is None and not ray_up
