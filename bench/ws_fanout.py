"""WebSocket fan-out of one run's events through Ray Serve (`/v1/streams/runs/{id}/events`).

Starts the embedded runtime and both Serve applications as `autoforge serve` does (hs256,
temporary data dir, simulator catalogue file), creates a real run over the API (the stream
deployment's ownership hook asks the run store), waits for it to finish, then opens N
WebSocket subscribers with `?from=<last entry id>` and XADDs K events straight into Redis
`af:run:{id}:events` (payload `{"d": json}` with a send timestamp) at ~R per second.
Reports: subscribers connected, how many received every event, delivery latency p50/p95/p99.

    .venv/bin/python bench/ws_fanout.py [--subscribers 1000] [--events 60] [--rate 1]

Also prints the resident memory each idle subscriber adds to the Serve processes (the streams
replica and the proxy), and the design's target: p95 < 1 s with every subscriber getting
every event. The runtime uses the Ray executor, as `autoforge serve` does (with the inline
one the replicas' `POST /v1/runs` answered 503).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import socket
import tempfile
import time
from pathlib import Path

import httpx
import psutil
from websockets.asyncio.client import connect

SECRET = "bench-secret-" + "s" * 40
RATE_LIMIT = 1_000_000  # per user per minute: every WebSocket handshake counts one request
USER = "bench-user"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def raise_fd_limit(wanted: int) -> int:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = min(hard, max(soft, wanted))
    resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    return target


def pct(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))] if ordered else 0.0


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


def serve_processes() -> dict[str, psutil.Process]:
    """The Serve streams replicas and proxies of the Ray this process started (its
    descendants: other Rays on a shared machine are not counted), by pid."""
    found = {}
    for process in psutil.Process().children(recursive=True):
        try:
            line = " ".join(process.cmdline())
        except psutil.Error:
            continue
        if "ServeReplica:autoforge-streams" in line or "ProxyActor" in line:
            found[str(process.pid)] = process
    return found


def cpu_s(processes: dict[str, psutil.Process]) -> float:
    total = 0.0
    for process in processes.values():
        try:
            times = process.cpu_times()
        except psutil.Error:
            continue
        total += times.user + times.system
    return total


def rss_mb(processes: dict[str, psutil.Process]) -> float:
    total = 0
    for process in processes.values():
        try:
            total += process.memory_info().rss
        except psutil.Error:
            pass
    return total / 2**20


def create_run(base: str, headers: dict[str, str]) -> str:
    cases = [{"id": "c1", "vars": {"question": "2+2?"}, "expected": "4"}]
    run = {"prompt": "fanout", "dataset": "fanout-ds", "models": ["openai/sim-small"]}
    with httpx.Client(base_url=base, headers=headers, timeout=60) as c:
        for path, payload in (
            ("/v1/prompts", {"name": "fanout", "template": "Q: {{question}}"}),
            ("/v1/datasets", {"name": "fanout-ds"}),
            ("/v1/datasets/fanout-ds/versions", {"cases": cases}),
            ("/v1/runs", run),
        ):  # fmt: skip
            response = c.post(path, json=payload)
            if response.status_code >= 300:
                raise SystemExit(f"POST {path}: {response.status_code} {response.text}")
        run_id: str = response.json()["id"]
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            status = c.get(f"/v1/runs/{run_id}").json()["status"]
            if status in ("completed", "cancelled", "failed", "budget-exceeded"):
                print(f"run {run_id} {status}")
                return run_id
            time.sleep(0.3)
    raise SystemExit(f"run {run_id} did not finish")


async def fanout(url: str, token: str, redis_url: str, key: str, args: argparse.Namespace) -> None:
    from redis.asyncio import Redis

    redis = Redis.from_url(redis_url, decode_responses=True)
    last = await redis.xrevrange(key, count=1)
    start = last[0][0] if last else "0-0"
    headers = {"Authorization": f"Bearer {token}"}
    latencies: list[float] = []
    counts: list[int] = []
    failures: dict[str, int] = {}
    lost: dict[str, int] = {}
    ready = 0
    gate = asyncio.Semaphore(args.handshakes)
    stop = asyncio.Event()

    async def subscriber() -> None:
        nonlocal ready
        try:
            async with gate:
                ws = await connect(f"{url}?from={start}", additional_headers=headers,
                                   open_timeout=args.open_timeout, max_queue=None)  # fmt: skip
            ready += 1
        except Exception as exc:  # noqa: BLE001 - counted and reported
            name = type(exc).__name__ + (f" {exc}"[:60] if "status" in str(exc) else "")
            failures[name] = failures.get(name, 0) + 1
            return
        got = 0
        async with ws:
            while got < args.events and not stop.is_set():
                try:
                    raw = await asyncio.wait_for(ws.recv(), timeout=1.0)
                except TimeoutError:
                    continue
                except Exception as exc:  # noqa: BLE001 - connection lost: missing events
                    code = getattr(getattr(exc, "rcvd", None), "code", None)
                    name = f"{type(exc).__name__} (close {code})"
                    lost[name] = lost.get(name, 0) + 1
                    break
                data = json.loads(raw)["data"]
                if data.get("type") == "bench":
                    latencies.append((time.time() - data["ts"]) * 1000)
                    got += 1
        counts.append(got)

    processes = serve_processes()
    idle_before = rss_mb(processes)
    began = time.perf_counter()
    tasks = [asyncio.create_task(subscriber()) for _ in range(args.subscribers)]
    deadline = time.monotonic() + args.connect_timeout
    while ready + sum(failures.values()) < args.subscribers and time.monotonic() < deadline:
        await asyncio.sleep(0.2)
    print(f"connected {ready}/{args.subscribers} in {time.perf_counter() - began:.1f} s; "
          f"failed {failures or 0}")  # fmt: skip
    await asyncio.sleep(1.0)  # let the replica park every follower in XREAD BLOCK
    idle_after = rss_mb(processes)
    per = 1024 * (idle_after - idle_before) / max(ready, 1)
    print(f"serve processes ({len(processes)}: streams replicas + proxy) RSS {idle_before:.0f} MB "
          f"-> {idle_after:.0f} MB with {ready} idle subscribers: {per:.1f} KB each")  # fmt: skip
    clients = await redis.info("clients")
    print(f"redis connected_clients={clients['connected_clients']} "
          f"blocked_clients={clients['blocked_clients']}")  # fmt: skip
    cpu_before, mine_before = cpu_s(processes), time.process_time()
    for seq in range(args.events):
        payload = {"type": "bench", "seq": seq, "ts": time.time()}
        await redis.xadd(key, {"d": json.dumps(payload, separators=(",", ":"))})
        await asyncio.sleep(1 / args.rate)
    drain = time.monotonic() + args.drain
    while len(counts) < ready and time.monotonic() < drain:
        await asyncio.sleep(0.2)
    cpu_used, mine = cpu_s(processes) - cpu_before, time.process_time() - mine_before
    stop.set()
    await asyncio.wait(tasks, timeout=15)
    complete = sum(1 for n in counts if n == args.events)
    expected = ready * args.events
    if lost:
        print(f"connections lost while events were sent: {lost}")
    print(f"events sent {args.events} at ~{args.rate}/s; deliveries {len(latencies)}/{expected}; "
          f"subscribers with every event {complete}/{ready}")  # fmt: skip
    print(f"delivery latency ms: p50={pct(latencies, 0.5):.1f} p95={pct(latencies, 0.95):.1f} "
          f"p99={pct(latencies, 0.99):.1f} max={max(latencies, default=0):.1f}")  # fmt: skip
    delivered = max(len(latencies), 1)
    print(f"CPU per delivered message: Serve (proxy + streams replica) "
          f"{1e6 * cpu_used / delivered:.0f} us, this client {1e6 * mine / delivered:.0f} us; "
          f"{cpu_used + mine:.1f} CPU-s over the events")  # fmt: skip
    met = ready == args.subscribers and complete == ready and pct(latencies, 0.95) < 1000
    print(f"target {args.subscribers} subscribers, every event, p95 < 1 s: "
          f"{'MET' if met else 'MISSED'}")  # fmt: skip
    await redis.aclose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--subscribers", type=int, default=1000)
    parser.add_argument("--events", type=int, default=60)
    parser.add_argument("--rate", type=float, default=1.0, help="events per second")
    parser.add_argument("--handshakes", type=int, default=100, help="concurrent handshakes")
    parser.add_argument("--open-timeout", type=float, default=60.0)
    parser.add_argument("--connect-timeout", type=float, default=180.0)
    parser.add_argument("--drain", type=float, default=30.0, help="seconds to wait after sending")
    args = parser.parse_args()
    fds = raise_fd_limit(4 * args.subscribers + 4096)
    print(f"RLIMIT_NOFILE soft={fds}; AUTOFORGE_RATE_LIMIT_PER_MINUTE={RATE_LIMIT} (default 60)")

    data = Path(tempfile.mkdtemp(prefix="af-bench-ws-"))
    port = free_port()
    os.environ.update(
        AUTOFORGE_DATA_DIR=str(data),
        AUTOFORGE_AUTH_MODE="hs256",
        AUTOFORGE_AUTH_HS256_SECRET=SECRET,
        AUTOFORGE_RATE_LIMIT_PER_MINUTE=str(RATE_LIMIT),
        AUTOFORGE_CATALOGUE_PATH=str(data / "catalogue.json"),
        AUTOFORGE_LOG_LEVEL="WARNING",
        LITELLM_LOCAL_MODEL_COST_MAP="True",
    )

    from ray import serve

    from api.auth import create_token
    from api.config import ApiSettings
    from api.serve import (
        STREAMS_MAX_ONGOING_REQUESTS,
        deploy,
        master_keys_of,
        replica_overrides,
    )
    from engine.llm import simulator_catalogue
    from engine.runtime import Runtime
    from engine.settings import load_settings
    from engine.simulator import running_simulator

    print(f"streams deployment max_ongoing_requests={STREAMS_MAX_ONGOING_REQUESTS} per replica")
    with running_simulator() as sim:
        catalogue = simulator_catalogue(sim.api_base).to_dict()
        (data / "catalogue.json").write_text(json.dumps(catalogue), encoding="utf-8")
        settings = load_settings(executor="ray")  # as `autoforge serve`: replicas are Ray's
        api = ApiSettings(port=port)
        with Runtime(settings) as runtime:
            assert runtime.redis_url is not None
            master_keys = master_keys_of(settings)
            serve.start(http_options={"host": "127.0.0.1", "port": port})
            try:
                holder = deploy(  # noqa: F841 (alive while Serve runs)
                    replica_overrides(settings, runtime.redis_url, api), master_keys=master_keys
                )
                base = f"http://127.0.0.1:{port}"
                wait_up(f"{base}/health")
                wait_up(f"{base}/v1/streams/health")
                token = create_token(api, USER)
                run_id = create_run(base, {"Authorization": f"Bearer {token}"})
                url = f"ws://127.0.0.1:{port}/v1/streams/runs/{run_id}/events"
                key = f"af:run:{run_id}:events"
                asyncio.run(fanout(url, token, runtime.redis_url, key, args))
            finally:
                serve.shutdown()  # type: ignore[no-untyped-call]


if __name__ == "__main__":
    main()
