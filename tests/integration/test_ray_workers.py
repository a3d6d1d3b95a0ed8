from __future__ import annotations

from typing import Any

import pytest

pytestmark = pytest.mark.integration


def test_workers_get_the_engine_environment_and_reach_redis(
    ray_cluster: dict[str, Any], redis_url: str
) -> None:
    import ray

    @ray.remote(num_cpus=0)
    def probe() -> tuple[str | None, str | None, bool]:
        import os

        import redis

        url = os.environ.get("AUTOFORGE_REDIS_URL")
        reachable = bool(url and redis.Redis.from_url(url).ping())
        return os.environ.get("LITELLM_LOCAL_MODEL_COST_MAP"), url, reachable

    flag, url, reachable = ray.get(probe.remote(), timeout=60)
    assert flag == "True"
    assert url == redis_url
    assert reachable
    assert ray_cluster["CPU"] == 2.0
