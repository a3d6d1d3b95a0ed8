"""`autoforge demo`: start the embedded services, prove each one works, report.

Later issues grow this into a full evaluation; today it checks the foundation end to end:
the database is migrated, Redis answers, Ray runs a task that reaches Redis from a worker,
and the simulated provider answers a chat completion through LiteLLM.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from engine.db import head_revision, table_names
from engine.runtime import Runtime


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str
    seconds: float


def _timed(name: str, probe: Callable[[], str]) -> Check:
    started = time.perf_counter()
    try:
        detail, ok = probe(), True
    except Exception as exc:
        detail, ok = f"{type(exc).__name__}: {exc}", False
    return Check(name, ok, detail, time.perf_counter() - started)


def _check_db(rt: Runtime) -> str:
    assert rt.db is not None
    head = head_revision()
    if rt.schema_revision != head:
        raise RuntimeError(f"database at revision {rt.schema_revision}, code expects {head}")
    tables = len(table_names(rt.db))
    return f"{rt.settings.effective_database_url} at revision {head}, {tables} tables"


def _check_redis(rt: Runtime) -> str:
    info: dict[str, Any] = rt.redis.info("server")
    rt.redis.ping()
    kind = "embedded" if rt.embedded_redis else "external"
    return f"PONG from {kind} redis {info['redis_version']} at {rt.redis_url}"


def _check_ray(rt: Runtime) -> str:
    import ray

    @ray.remote(num_cpus=0)
    def worker_probe(url: str) -> str:
        import os

        import redis

        client = redis.Redis.from_url(url)
        client.ping()
        return os.environ.get("LITELLM_LOCAL_MODEL_COST_MAP", "unset")

    assert rt.redis_url is not None
    cost_map_flag = ray.get(worker_probe.remote(rt.redis_url), timeout=60)
    cpus = rt.ray_resources.get("CPU", 0)
    return f"{int(cpus)} CPUs; a worker reached Redis; LITELLM_LOCAL_MODEL_COST_MAP={cost_map_flag}"


def _check_simulator() -> str:
    from engine.simulator import SimulatorConfig, running_simulator

    with running_simulator(SimulatorConfig(latency_ms=5)) as sim:
        return asyncio.run(_ask_simulator(sim.api_base))


async def _ask_simulator(api_base: str) -> str:
    import litellm

    response = await litellm.acompletion(
        model="openai/sim-medium",
        messages=[{"role": "user", "content": "What is 12 + 30? Answer with only the number."}],
        api_base=api_base,
        api_key="simulated",
        timeout=10,
    )
    answer = response.choices[0].message.content
    tokens = response.usage.total_tokens
    return f"sim-medium answered {answer!r} to 'What is 12 + 30?' ({tokens} tokens) at {api_base}"


def run_demo(as_json: bool = False) -> int:
    """Run the foundation checks and print them; returns the process exit code."""
    started = time.perf_counter()
    with Runtime() as rt:
        checks = [
            _timed("database", lambda: _check_db(rt)),
            _timed("redis", lambda: _check_redis(rt)),
            _timed("ray", lambda: _check_ray(rt)),
            _timed("simulator", _check_simulator),
        ]
    total = time.perf_counter() - started
    if as_json:
        sys.stdout.write(json.dumps([c.__dict__ for c in checks], indent=2) + "\n")
    else:
        sys.stdout.write("AutoForge Nexus: embedded services check\n")
        for c in checks:
            mark = "ok  " if c.ok else "FAIL"
            sys.stdout.write(f"  [{mark}] {c.name:<10} {c.detail}  ({c.seconds * 1000:.0f} ms)\n")
        verdict = "all services healthy" if all(c.ok for c in checks) else "some checks failed"
        sys.stdout.write(f"{verdict}; started, checked and stopped in {total:.1f} s\n")
    return 0 if all(c.ok for c in checks) else 1
