"""What every Ray worker gets in its `runtime_env`: Ray logs it in plaintext, so no secret."""

from __future__ import annotations

from engine.ray_runtime import worker_env


def test_credentialed_urls_never_reach_the_runtime_env() -> None:
    env = worker_env(
        AUTOFORGE_REDIS_URL="redis://:redis-pw-canary@cache:6379/0",
        AUTOFORGE_DATABASE_URL="sqlite+libsql://db.turso.io?secure=true&authToken=tok-canary",
        AUTOFORGE_DATA_DIR="/srv/autoforge",
    )
    assert "redis-pw-canary" not in str(env) and "tok-canary" not in str(env)
    assert env["AUTOFORGE_DATA_DIR"] == "/srv/autoforge"


def test_plain_urls_and_the_cost_map_flag_are_passed() -> None:
    env = worker_env(AUTOFORGE_REDIS_URL="unix:///data/redis.sock")
    assert env["AUTOFORGE_REDIS_URL"] == "unix:///data/redis.sock"
    assert env["LITELLM_LOCAL_MODEL_COST_MAP"] == "True"
