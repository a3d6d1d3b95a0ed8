"""REST latency through Ray Serve, started the way `autoforge serve` starts it.

Embedded runtime (libSQL file in a temporary data dir, embedded Redis, local Ray), Serve on a
free loopback port with both applications (`api.serve.deploy`), hs256 auth. A simulator runs
in a thread of this process and the replicas see it through `AUTOFORGE_CATALOGUE_PATH` (a
catalogue file), so `POST /v1/runs` starts real runs on `openai/sim-small`.

1. GET /v1/prompts/{name} from N concurrent clients for D seconds or R requests;
2. POST /v1/runs (2 cases x 1 model) P times, one at a time.

    .venv/bin/python bench/api_latency.py [--clients 64] [--seconds 10] [--requests 5000]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import tempfile
import time
from pathlib import Path

import httpx

SECRET = "bench-secret-" + "s" * 40
RATE_LIMIT = 1_000_000  # per user per minute; the default 60 would refuse the benchmark
USER = "bench-user"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def configure(data: Path, port: int) -> None:
    """Environment read by `load_settings` in the driver and (via overrides) in replicas."""
    os.environ.update(
        AUTOFORGE_DATA_DIR=str(data),
        AUTOFORGE_AUTH_MODE="hs256",
        AUTOFORGE_AUTH_HS256_SECRET=SECRET,
        AUTOFORGE_RATE_LIMIT_PER_MINUTE=str(RATE_LIMIT),
        AUTOFORGE_API_PORT=str(port),
        AUTOFORGE_CATALOGUE_PATH=str(data / "catalogue.json"),
        AUTOFORGE_LOG_LEVEL="WARNING",
        LITELLM_LOCAL_MODEL_COST_MAP="True",
    )


def wait_up(url: str, timeout_s: float = 90.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    raise SystemExit(f"{url} never answered")


def pct(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def summary(name: str, samples: list[float], elapsed: float, errors: int) -> None:
    print(
        f"{name}: n={len(samples)} errors={errors} p50={pct(samples, 0.5):.1f} ms "
        f"p95={pct(samples, 0.95):.1f} ms p99={pct(samples, 0.99):.1f} ms "
        f"max={max(samples):.1f} ms  {len(samples) / elapsed:.0f} req/s"
    )


async def get_load(
    base: str, headers: dict[str, str], path: str, clients: int, seconds: float, total: int
) -> None:
    samples: list[float] = []
    errors: dict[int, int] = {}
    issued = 0
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(base_url=base, headers=headers, limits=limits, timeout=30) as c:
        for _ in range(20):  # warm-up: connections, caches
            await c.get(path)
        deadline = time.perf_counter() + seconds

        async def worker() -> None:
            nonlocal issued
            while issued < total and time.perf_counter() < deadline:
                issued += 1
                started = time.perf_counter()
                response = await c.get(path)
                if response.status_code == 200:
                    samples.append((time.perf_counter() - started) * 1000)
                else:
                    errors[response.status_code] = errors.get(response.status_code, 0) + 1

        began = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(clients)))
        elapsed = time.perf_counter() - began
    summary(f"GET {path} x{clients} clients", samples, elapsed, sum(errors.values()))
    if errors:
        print(f"  non-200 statuses: {errors}")
    print(f"  target p95 < 25 ms: {'MET' if pct(samples, 0.95) < 25 else 'MISSED'}")


def post_runs(base: str, headers: dict[str, str], count: int) -> None:
    body = {"prompt": "bench-prompt", "dataset": "bench-ds", "models": ["openai/sim-small"]}
    samples: list[float] = []
    errors: dict[int, int] = {}
    with httpx.Client(base_url=base, headers=headers, timeout=60) as c:
        for i in range(3):
            c.post("/v1/runs", json={**body, "name": f"warm-{i}"})
        began = time.perf_counter()
        for i in range(count):
            started = time.perf_counter()
            response = c.post("/v1/runs", json={**body, "name": f"bench-{i}"})
            if response.status_code == 202:
                samples.append((time.perf_counter() - started) * 1000)
            else:
                errors[response.status_code] = errors.get(response.status_code, 0) + 1
                if len(errors) == 1 and sum(errors.values()) == 1:
                    print(f"  first failure: {response.status_code} {response.text[:300]}")
        elapsed = time.perf_counter() - began
    if samples:
        summary("POST /v1/runs (sequential, 2 cells each)", samples, elapsed, sum(errors.values()))
    else:
        print(f"POST /v1/runs: every request failed {errors}")


def setup(base: str, headers: dict[str, str]) -> None:
    with httpx.Client(base_url=base, headers=headers, timeout=60) as c:
        for method, path, payload in (
            ("POST", "/v1/prompts", {"name": "bench-prompt", "template": "Q: {{question}}"}),
            ("POST", "/v1/datasets", {"name": "bench-ds"}),
            ("POST", "/v1/datasets/bench-ds/versions", {"cases": [
                {"id": "c1", "vars": {"question": "2+2?"}, "expected": "4"},
                {"id": "c2", "vars": {"question": "3*3?"}, "expected": "9"},
            ]}),
        ):  # fmt: skip
            response = c.request(method, path, json=payload)
            if response.status_code >= 300:
                raise SystemExit(f"{method} {path}: {response.status_code} {response.text}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--clients", type=int, default=64)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--requests", type=int, default=5000)
    parser.add_argument("--posts", type=int, default=100)
    args = parser.parse_args()

    data = Path(tempfile.mkdtemp(prefix="af-bench-api-"))
    port = free_port()
    configure(data, port)

    from ray import serve

    from api.auth import create_token
    from api.config import ApiSettings
    from api.serve import deploy, replica_overrides, secret_env
    from engine.keys import load_keyring
    from engine.llm import simulator_catalogue
    from engine.runtime import Runtime
    from engine.settings import load_settings
    from engine.simulator import running_simulator

    with running_simulator() as sim:
        catalogue = simulator_catalogue(sim.api_base, max_concurrency=64).to_dict()
        (data / "catalogue.json").write_text(json.dumps(catalogue), encoding="utf-8")
        settings = load_settings()
        with Runtime(settings) as runtime:
            assert runtime.redis_url is not None
            load_keyring(settings)
            serve.start(http_options={"host": "127.0.0.1", "port": port})
            try:
                started = time.perf_counter()
                deploy(
                    replica_overrides(settings, runtime.redis_url),
                    api=ApiSettings().model_dump(mode="json"),
                    env_vars=secret_env(settings),
                )
                base = f"http://127.0.0.1:{port}"
                wait_up(f"{base}/health")
                print(f"Serve up in {time.perf_counter() - started:.1f} s at {base}; auth hs256")
                print(f"AUTOFORGE_RATE_LIMIT_PER_MINUTE={RATE_LIMIT} (raised from 60)")
                headers = {"Authorization": f"Bearer {create_token(settings, USER)}"}
                setup(base, headers)
                path = "/v1/prompts/bench-prompt"
                asyncio.run(
                    get_load(base, headers, path, args.clients, args.seconds, args.requests)
                )
                post_runs(base, headers, args.posts)
            finally:
                serve.shutdown()  # type: ignore[no-untyped-call]


if __name__ == "__main__":
    main()
