"""One object that owns the embedded services: database, Redis and Ray.

    with Runtime() as rt:
        rt.redis.ping(); rt.db ...

Services start in dependency order and stop in reverse; anything started here is stopped
here, so a `with` block leaves no process behind.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

import redis
from sqlalchemy import Engine

from engine.db import create_db_engine, migrate
from engine.logs import get_logger
from engine.ray_runtime import start_ray, stop_ray, worker_env
from engine.redis_embedded import EmbeddedRedis
from engine.settings import Settings, load_settings

log = get_logger(__name__)


@dataclass
class Runtime:
    """Start/stop of the database, Redis and Ray for one engine process.

    Args:
        settings: configuration; read from the environment when omitted.
        start_ray: set False for processes that only need the DB and Redis (e.g. the CLI's
            read-only commands).
    """

    settings: Settings = field(default_factory=load_settings)
    start_ray: bool = True
    db: Engine | None = None
    redis_url: str | None = None
    schema_revision: str | None = None
    ray_resources: dict[str, Any] = field(default_factory=dict)
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

    def start(self) -> Runtime:
        """Start every service, stopping what already started if one fails."""
        try:
            self._start_db()
            self._start_redis()
            if self.start_ray:
                self._start_ray()
        except BaseException:
            self.stop()
            raise
        return self

    def _start_db(self) -> None:
        self.settings.data_dir.mkdir(parents=True, exist_ok=True)
        self.db = create_db_engine(self.settings.effective_database_url)
        self.schema_revision = migrate(self.db)

    def _start_redis(self) -> None:
        if self.settings.redis_url:
            self.redis_url = self.settings.redis_url
        else:
            self._embedded_redis = EmbeddedRedis(self.settings.data_dir / "redis")
            self.redis_url = self._embedded_redis.start()
        self._redis = redis.Redis.from_url(self.redis_url, decode_responses=True)
        self._redis.ping()

    def _start_ray(self) -> None:
        assert self.redis_url is not None
        env = worker_env(
            AUTOFORGE_REDIS_URL=self.redis_url,
            AUTOFORGE_DATABASE_URL=self.settings.effective_database_url,
            AUTOFORGE_DATA_DIR=str(self.settings.data_dir),
        )
        os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
        import ray

        self._started_ray = not ray.is_initialized()
        self.ray_resources = start_ray(self.settings.ray_address, self.settings.ray_num_cpus, env)

    def stop(self) -> None:
        """Stop what this runtime started, in reverse order; safe to call twice."""
        if self._started_ray:
            stop_ray()
            self._started_ray = False
        if self._redis is not None:
            self._redis.close()
            self._redis = None
        if self._embedded_redis is not None:
            self._embedded_redis.stop()
            self._embedded_redis = None
        if self.db is not None:
            self.db.dispose()
            self.db = None
        log.debug("runtime stopped")

    def __enter__(self) -> Runtime:
        return self.start()

    def __exit__(self, *_exc: object) -> None:
        self.stop()
