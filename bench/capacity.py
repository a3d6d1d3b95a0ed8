"""Per-component ceilings for docs/capacity.md: what one process or server of each part does.

    .venv/bin/python bench/capacity.py [--seconds 2] [--no-ray] [--json]

Each part is driven alone, as hard as one client process can, on this machine:

- ``limiter``: `RateLimiter` acquire + release of 1-permit leases, in-process (the gateway's
  own CPU per lease, no transport);
- ``gateway_actor``: the same through the `ProviderGateway` Ray actor from 256 concurrent
  callers of one async driver (a local Ray of 1 CPU), the path every evaluator takes;
- ``recorder_sqlite`` / ``recorder_libsql``: `RunStore.record` of result rows in batches of
  64 (the recorder's insert) into a fresh file, stdlib sqlite and libSQL;
- ``redis_*``: XADD one at a time, XADD pipelined by 100, XREADGROUP of 100 + XACK (the
  recorder's read), against an embedded redis-server (unix socket) and one on loopback TCP
  (``REDIS_URL``-style, as on a cluster).

Prints one line per part (ops/s) and, with ``--json``, one JSON object. Numbers on 2 shared
cores are noisy: the load average is printed before and after. `bench/capacity_model.py`
turns them into a cluster-sized estimate.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def _rate(count: int, seconds: float) -> float:
    return round(count / seconds, 1)


def _timed(seconds: float, step: Callable[[], int]) -> float:
    """Ops/s of ``step`` (which returns how many ops it did) repeated for ``seconds``."""
    done, start = 0, time.perf_counter()
    while (elapsed := time.perf_counter() - start) < seconds:
        done += step()
    return _rate(done, elapsed)


def bench_limiter(seconds: float) -> float:
    from domain.llm import Lease, RateLimiter

    limiter = RateLimiter(rpm=10**9, max_concurrency=None)
    clock = [0.0]

    def step() -> int:
        for _ in range(1000):
            clock[0] += 1e-6
            grant = limiter.acquire(1, 10, clock[0])
            assert isinstance(grant, Lease)
            limiter.release(grant.id, 1, 10, clock[0])
        return 1000

    return _timed(seconds, step)


def bench_gateway_actor(seconds: float, callers: int = 256) -> float:
    import ray

    from actors.provider_gateway import ProviderGateway
    from domain.llm import ProviderAccount

    ray.init(address="local", num_cpus=1, include_dashboard=False, logging_level="ERROR")
    try:
        account = ProviderAccount(name="bench", provider="openai", rpm=10**9, max_concurrency=10**6)
        gateway = ProviderGateway.remote(account)
        ray.get(gateway.status.remote())

        async def caller(deadline: float) -> int:
            done = 0
            while time.perf_counter() < deadline:
                lease = await gateway.acquire.remote(1, 10)
                await gateway.release.remote(lease.id, 1, 10)
                done += 1
            return done

        async def drive() -> float:
            start = time.perf_counter()
            counts = await asyncio.gather(*(caller(start + seconds) for _ in range(callers)))
            return _rate(sum(counts), time.perf_counter() - start)

        return asyncio.run(drive())
    finally:
        ray.shutdown()


def bench_recorder(seconds: float, scheme: str, directory: Path) -> float:
    from domain.evaluation.rows import ResultRow
    from engine.db import create_db_engine, migrate
    from engine.evaluation.runs import RunStore

    db = create_db_engine(f"{scheme}:///{directory / f'{scheme}.db'}")
    migrate(db)
    store = RunStore(db)
    counter = [0]

    def step() -> int:
        rows = []
        for _ in range(64):
            counter[0] += 1
            rows.append(
                ResultRow(
                    run_id="run_bench",
                    prompt_version="v1",
                    model="openai/sim-small",
                    case_id=f"case-{counter[0]}",
                    output="42",
                    passed=True,
                    score=1.0,
                    scores={"correct": 1.0},
                    latency_ms=12.0,
                    prompt_tokens=12,
                    completion_tokens=3,
                    cost_usd=0.00001,
                    attempts=1,
                    model_used="openai/sim-small",
                )
            )
        return store.record(rows)

    try:
        return _timed(seconds, step)
    finally:
        db.dispose()


def bench_redis(seconds: float, url: str) -> dict[str, float]:
    import redis

    client = redis.Redis.from_url(url)
    stream = "bench:results"
    client.delete(stream)
    row = {"case_id": "case-1", "output": "42", "score": 1.0, "detail": "y" * 200}
    payload = {"row": json.dumps(row)}

    def xadd_one() -> int:
        for _ in range(100):
            client.xadd(stream, payload)
        return 100

    def xadd_pipelined() -> int:
        pipe = client.pipeline(transaction=False)
        for _ in range(100):
            pipe.xadd(stream, payload)
        pipe.execute()
        return 100

    out = {"xadd": _timed(seconds, xadd_one), "xadd_pipelined": _timed(seconds, xadd_pipelined)}
    client.xgroup_create(stream, "recorder", id="0")

    def read_ack() -> int:
        got = client.xreadgroup("recorder", "c1", {stream: ">"}, count=100)
        if not got:
            return 0
        ids = [entry_id for entry_id, _ in got[0][1]]
        client.xack(stream, "recorder", *ids)
        return len(ids)

    out["xreadgroup_ack"] = _timed(seconds, read_ack)
    client.delete(stream)
    client.close()
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=2.0, help="per measurement")
    parser.add_argument("--no-ray", action="store_true", help="skip the gateway actor")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    from engine.local_cluster import RedisServer
    from engine.redis_embedded import EmbeddedRedis

    results: dict[str, Any] = {"load_before": os.getloadavg()[0]}
    with tempfile.TemporaryDirectory(prefix="af-capacity-") as tmp:
        base = Path(tmp)
        results["limiter_leases_per_s"] = bench_limiter(args.seconds)
        if not args.no_ray:
            results["gateway_actor_leases_per_s"] = bench_gateway_actor(args.seconds)
        for scheme in ("sqlite", "sqlite+libsql"):
            key = f"recorder_{scheme.replace('sqlite+', '')}_rows_per_s"
            results[key] = bench_recorder(args.seconds, scheme, base)
        embedded = EmbeddedRedis(base / "redis-unix")
        tcp = RedisServer(base / "redis-tcp")
        try:
            for name, url in (("unix", embedded.start()), ("tcp", tcp.start())):
                for op, value in bench_redis(args.seconds, url).items():
                    results[f"redis_{name}_{op}_per_s"] = value
        finally:
            embedded.stop()
            tcp.stop()
    results["load_after"] = os.getloadavg()[0]
    if args.json:
        print(json.dumps(results))
    else:
        for key, value in results.items():
            print(f"{key:40} {value:>12,}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
