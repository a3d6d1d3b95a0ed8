"""REST latency through Ray Serve, started the way `autoforge serve` starts it.

Embedded runtime (libSQL file in a temporary data dir, embedded Redis, local Ray), Serve on a
free loopback port with both applications (`api.serve.deploy`), hs256 auth. A simulator runs
in a thread of this process and the replicas see it through `AUTOFORGE_CATALOGUE_PATH` (a
catalogue file), so `POST /v1/runs` starts real runs on `openai/sim-small`.

1. GET /v1/prompts/{name} from N concurrent clients for D seconds or R requests, closed loop
   (the server's saturation: p95 >= N / throughput by Little's law), then open loop at each
   `--rate` (latency at an offered load below saturation);
2. POST /v1/runs (2 cases x 1 model) P times, one at a time.

    .venv/bin/python bench/api_latency.py [--clients 64] [--seconds 10] [--requests 5000]
        [--rate 100 ...]   # also open-loop loads at these offered rates
        [--replicas N]     # AUTOFORGE_API_REPLICAS
        [--serve-env]      # try `SERVE_ENV`: parts of Ray's RAY_SERVE_THROUGHPUT_OPTIMIZED
        [--direct-ingress] # Ray's RAY_SERVE_ENABLE_DIRECT_INGRESS: no proxy, each replica
                           # serves HTTP on a port of its own (30000+); GETs go to the first

The runtime uses the Ray executor, as `autoforge serve` does: with the inline one the data
dir's owner works runs in its own process and the replicas' POSTs answered 503.
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

import aiohttp
import httpx
import psutil

# Parts of Ray's `RAY_SERVE_THROUGHPUT_OPTIMIZED` that keep the proxy (its direct ingress, a
# port per replica, is `--direct-ingress`): user code on the replica's own loop, the router on
# the caller's loop, proxy-to-replica calls over gRPC, buffered request-path logs. Measured
# slower here for our routes (see docs/capacity.md), so only tried on request.
SERVE_ENV = {
    "RAY_SERVE_RUN_USER_CODE_IN_SEPARATE_THREAD": "0",
    "RAY_SERVE_RUN_ROUTER_IN_SEPARATE_LOOP": "0",
    "RAY_SERVE_USE_GRPC_BY_DEFAULT": "1",
    "RAY_SERVE_REQUEST_PATH_LOG_BUFFER_SIZE": "1000",
}
ROLES = {"proxy": "ProxyActor", "replica": "ServeReplica:autoforge-api", "trivial": "bench-trivial"}


def cpu_seconds() -> dict[str, float]:
    """CPU seconds used so far by Serve's proxies, the REST replicas, the trivial baseline's
    replica and this process (the load generator), by role: CPU per request is what load on
    a shared machine does not distort, unlike requests per second."""
    used = dict.fromkeys([*ROLES, "client"], 0.0)
    for process in psutil.Process().children(recursive=True):  # this bench's Ray only
        try:
            line = " ".join(process.cmdline())
        except psutil.Error:
            continue
        for role, marker in ROLES.items():
            if marker in line:
                try:
                    times = process.cpu_times()
                except psutil.Error:
                    continue
                used[role] += times.user + times.system
    me = psutil.Process().cpu_times()
    used["client"] = me.user + me.system
    return used


SECRET = "bench-secret-" + "s" * 40
RATE_LIMIT = 1_000_000  # per user per minute; the default 60 would refuse the benchmark
USER = "bench-user"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def configure(data: Path, port: int, replicas: int) -> None:
    """Environment read by `load_settings` in the driver and (via overrides) in replicas."""
    os.environ.update(
        AUTOFORGE_API_REPLICAS=str(replicas),
        AUTOFORGE_DATA_DIR=str(data),
        AUTOFORGE_AUTH_MODE="hs256",
        AUTOFORGE_AUTH_HS256_SECRET=SECRET,
        AUTOFORGE_RATE_LIMIT_PER_MINUTE=str(RATE_LIMIT),
        AUTOFORGE_API_PORT=str(port),
        AUTOFORGE_CATALOGUE_PATH=str(data / "catalogue.json"),
        AUTOFORGE_LOG_LEVEL="WARNING",
        LITELLM_LOCAL_MODEL_COST_MAP="True",
    )


def direct_replica(timeout_s: float = 90.0) -> str:
    """The base URL of the first replica that answers `/health` on Ray's direct-ingress
    ports (the REST app deploys first, so it is the lowest)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        for port in range(30000, 30010):
            try:
                if httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                    return f"http://127.0.0.1:{port}"
            except httpx.TransportError:
                pass
        time.sleep(0.5)
    raise SystemExit("no replica answered on a direct-ingress port")


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
    base: str,
    headers: dict[str, str],
    path: str,
    clients: int,
    seconds: float,
    total: int,
    rate: float | None = None,
) -> None:
    """Closed loop (each client sends its next request when the last one answers), or open
    loop at ``rate`` requests/s shared by the clients, timed from each request's scheduled
    start so a slow server cannot hide its queueing (no coordinated omission).

    aiohttp, not httpx, drives the load: on 2 cores the client shares the CPU with the server,
    and httpx spent about twice the CPU per request.
    """
    samples: list[float] = []
    errors: dict[int, int] = {}
    issued = 0
    connector = aiohttp.TCPConnector(limit=clients)
    timeout = aiohttp.ClientTimeout(total=30)
    url = base + path
    async with aiohttp.ClientSession(connector=connector, headers=headers, timeout=timeout) as c:
        for _ in range(20):  # warm-up: connections, caches
            async with c.get(url) as response:
                await response.read()
        cpu_before = cpu_seconds()
        began = time.perf_counter()
        deadline = began + seconds

        async def one(started: float) -> None:
            async with c.get(url) as response:
                await response.read()
                if response.status == 200:
                    samples.append((time.perf_counter() - started) * 1000)
                else:
                    errors[response.status] = errors.get(response.status, 0) + 1

        async def closed_loop() -> None:
            nonlocal issued
            while issued < total and time.perf_counter() < deadline:
                issued += 1
                await one(time.perf_counter())

        async def open_loop(index: int) -> None:
            assert rate is not None
            interval = clients / rate
            scheduled = began + index * interval / clients
            while scheduled < deadline:
                await asyncio.sleep(max(0.0, scheduled - time.perf_counter()))
                await one(scheduled)
                scheduled += interval

        if rate is None:
            await asyncio.gather(*(closed_loop() for _ in range(clients)))
        else:
            await asyncio.gather(*(open_loop(i) for i in range(clients)))
        elapsed = time.perf_counter() - began
        cpu_after = cpu_seconds()
    mode = "closed loop" if rate is None else f"open loop at {rate:g} req/s"
    summary(f"GET {path} x{clients} clients, {mode}", samples, elapsed, sum(errors.values()))
    answered = max(1, len(samples) + sum(errors.values()))
    per = {role: 1000 * (cpu_after[role] - cpu_before[role]) / answered for role in cpu_after}
    server = sum(ms for role, ms in per.items() if role != "client")
    print(
        "  CPU per request: "
        + ", ".join(f"{role} {ms:.2f} ms" for role, ms in per.items() if ms >= 0.005)
        + f"; server side {server:.2f} ms: 2 cores carry at most {2000 / server:.0f} req/s, "
        f"{2000 / (server + per['client']):.0f} with this client on them"
    )
    if errors:
        print(f"  non-200 statuses: {errors}")
    p95, throughput = pct(samples, 0.95), len(samples) / elapsed
    met = p95 < 200 and throughput >= 600
    print(f"  target p95 < 200 ms at >= 600 req/s: {'MET' if met else 'MISSED'}")
    if rate is None:
        # Little's law: in a closed loop the mean time in the system is clients / throughput.
        print(f"  Little's law: {clients} clients / {throughput:.0f} req/s = "
              f"{1000 * clients / throughput:.0f} ms mean in the system")  # fmt: skip


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


def serve_ceiling(base: str, clients: int, seconds: float, total: int) -> None:
    """The same load on a trivial FastAPI route in the same Serve instance: what Serve's proxy
    and replica cost before any of our code runs (no auth, no Redis, no database)."""
    from fastapi import FastAPI
    from ray import serve

    trivial = FastAPI()

    @trivial.get("/ping")
    def ping() -> dict[str, bool]:
        return {"ok": True}

    @serve.deployment(max_ongoing_requests=100, ray_actor_options={"num_cpus": 0})
    @serve.ingress(trivial)
    class Trivial:
        pass

    serve.run(Trivial.bind(), name="bench-trivial", route_prefix="/bench-trivial")
    print("Baseline: a trivial sync FastAPI route on the same Serve instance")
    asyncio.run(get_load(base, {}, "/bench-trivial/ping", clients, seconds, total))


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
    parser.add_argument(
        "--no-baseline", action="store_true", help="skip the trivial-route Serve baseline"
    )
    parser.add_argument(
        "--rate",
        type=float,
        action="append",
        default=[],
        help="also run an open-loop load at this many req/s (repeatable)",
    )
    parser.add_argument("--replicas", type=int, default=1, help="REST API replicas")
    parser.add_argument("--direct-ingress", action="store_true", help="no proxy (see above)")
    parser.add_argument(
        "--serve-env",
        action="store_true",
        help="set SERVE_ENV for Ray's processes (user code on the replica's loop, gRPC ...)",
    )
    args = parser.parse_args()

    data = Path(tempfile.mkdtemp(prefix="af-bench-api-"))
    port = free_port()
    configure(data, port, args.replicas)

    from ray import serve

    from api.auth import create_token
    from api.config import ApiSettings
    from api.serve import deploy, master_keys_of, replica_overrides
    from engine.llm import simulator_catalogue
    from engine.runtime import Runtime
    from engine.settings import load_settings
    from engine.simulator import running_simulator

    with running_simulator() as sim:
        catalogue = simulator_catalogue(sim.api_base, max_concurrency=64).to_dict()
        (data / "catalogue.json").write_text(json.dumps(catalogue), encoding="utf-8")
        settings = load_settings(executor="ray")  # as `autoforge serve`: replicas are Ray's
        api = ApiSettings()
        if args.direct_ingress:
            os.environ["RAY_SERVE_ENABLE_DIRECT_INGRESS"] = "1"
        if args.serve_env:
            os.environ.update(SERVE_ENV)  # before Ray starts: its processes read it on import
        shown = (
            "Ray's defaults"
            if not args.serve_env
            else " ".join(f"{k}={v}" for k, v in SERVE_ENV.items())
        )
        print(f"Serve request path: {shown}; API replicas: {args.replicas}")
        with Runtime(settings) as runtime:
            assert runtime.redis_url is not None
            master_keys = master_keys_of(settings)
            serve.start(http_options={"host": "127.0.0.1", "port": port})
            try:
                started = time.perf_counter()
                holder = deploy(  # noqa: F841 (alive while Serve runs)
                    replica_overrides(settings, runtime.redis_url, api), master_keys=master_keys
                )
                base = f"http://127.0.0.1:{port}"
                if args.direct_ingress:
                    base = direct_replica()
                    print(f"direct ingress: the REST replica itself at {base}, no proxy")
                wait_up(f"{base}/health")
                print(f"Serve up in {time.perf_counter() - started:.1f} s at {base}; auth hs256")
                print(f"AUTOFORGE_RATE_LIMIT_PER_MINUTE={RATE_LIMIT} (raised from 60)")
                headers = {"Authorization": f"Bearer {create_token(api, USER)}"}
                setup(base, headers)
                path = "/v1/prompts/bench-prompt"
                asyncio.run(
                    get_load(base, headers, path, args.clients, args.seconds, args.requests)
                )
                for rate in args.rate:
                    asyncio.run(
                        get_load(
                            base, headers, path, args.clients, args.seconds, args.requests, rate
                        )
                    )
                post_runs(base, headers, args.posts)
                if args.direct_ingress and not args.no_baseline:
                    print("Baseline skipped: with direct ingress it would get a port of its own")
                elif not args.no_baseline:
                    serve_ceiling(base, args.clients, args.seconds, args.requests)
            finally:
                serve.shutdown()  # type: ignore[no-untyped-call]


if __name__ == "__main__":
    main()
