"""`next item` latency of an annotation queue under concurrent annotators, through the SDK's
store (`engine.evaluation.queues.QueueStore`, the object `engine.queues` works through).

Builds a migrated database file (libSQL by default, as the engine's default URL) in a
temporary directory: a dataset version of 10,000 cases, a run with one recorded cell per
case, and a queue of its 10,000 cells needing two answers each. Then N annotator threads
work it in a closed loop — `next`, then `submit` a verdict (answer + feedback row in one
transaction), then `next` again — until the queue is done or the time is up. Prints the
p50/p95/p99 of `next` (the claim included) and of `submit`, and the answers per second.

With ``--http`` the same loop goes over HTTP instead: the real app (`api.app.create_app` on an
inline engine, its embedded Redis, hs256 auth, the per-user rate limit raised) served by
uvicorn in a subprocess on a loopback port, each annotator thread with its own keep-alive
connection posting `/v1/queues/{id}/next` and `/items/{n}/submit`.

    LITELLM_LOCAL_MODEL_COST_MAP=True PYTHONPATH=. .venv/bin/python bench/queue_next.py \
        [--items 10000] [--annotators 20] [--per-item 2] [--seconds 30] [--driver sqlite] \
        [--think-ms 0] [--claims redis|db] [--http]

``--claims redis`` (the default, as the engine runs with its Redis) leases items in an
embedded Redis (`engine.evaluation.queue_leases`); ``--claims db`` writes claim rows under
the database's write lock, as the CLI does beside no engine.
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from domain.datasets import TestCase
from domain.evaluation import RunSpec
from domain.evaluation.rows import ResultRow
from engine.db import create_db_engine, migrate
from engine.evaluation.datasets import DatasetStore
from engine.evaluation.queues import QueueStore
from engine.evaluation.runs import RunStore

OWNER = "bench"
SECRET = "queue-bench-" + "s" * 40


def percentile(ordered: list[float], q: float) -> float:
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def build(
    store: QueueStore, datasets: DatasetStore, items: int, per_item: int, owner: str = OWNER
) -> str:
    datasets.create(owner, "bench-cases")
    cases = [TestCase(id=f"c{i:05d}", variables={"q": f"question {i}"}, expected="a")
             for i in range(items)]  # fmt: skip
    version = datasets.add_version(owner, "bench-cases", cases)
    spec = RunSpec("p", ("v" * 12,), ("m",), version.id, tuple(c.id for c in cases))
    run = store.runs.create(owner, spec)
    store.runs.record(
        [
            ResultRow(
                run_id=run.id,
                prompt_version="v" * 12,
                model="m",
                case_id=c.id,
                output=f"answer {i}",
                passed=i % 3 != 0,
                score=float(i % 3 != 0),
            )
            for i, c in enumerate(cases)
        ]  # fmt: skip
    )
    started = time.perf_counter()
    queue = store.create(owner, [run.id], annotators_per_item=per_item, name="bench")
    print(f"queue of {queue.item_count:,} items made in {time.perf_counter() - started:.2f} s")
    return queue.id


def work(
    store: QueueStore, queue_id: str, who: str, until: float, nexts: list[float],
    submits: list[float], think_s: float,
) -> None:  # fmt: skip
    while time.monotonic() < until:
        if think_s:
            time.sleep(think_s)
        started = time.perf_counter()
        item = store.next(OWNER, queue_id, who)
        nexts.append((time.perf_counter() - started) * 1000)
        if item is None:
            return
        started = time.perf_counter()
        store.submit(OWNER, queue_id, item.item.position, who, verdict="pass")
        submits.append((time.perf_counter() - started) * 1000)


def work_http(
    base: str, settings: Any, workspace: str, queue_id: str, who: str, until: float,
    nexts: list[float], submits: list[float], think_s: float,
) -> None:  # fmt: skip
    import httpx

    from api.auth import create_token

    # Each annotator signs in as themself, a member of the queue's workspace.
    token = create_token(settings, who)
    headers = {"Authorization": f"Bearer {token}", "X-Autoforge-Workspace": workspace}
    with httpx.Client(base_url=base, headers=headers, timeout=60) as client:
        while time.monotonic() < until:
            if think_s:
                time.sleep(think_s)
            started = time.perf_counter()
            reply = client.post(f"/v1/queues/{queue_id}/next", json={})
            nexts.append((time.perf_counter() - started) * 1000)
            item = reply.json()["item"]
            if item is None:
                return
            started = time.perf_counter()
            answered = client.post(
                f"/v1/queues/{queue_id}/items/{item['position']}/submit",
                json={"verdict": "pass"},
            )
            submits.append((time.perf_counter() - started) * 1000)
            assert answered.status_code == 201, answered.text


def _reporting(target: Any, failures: list[BaseException]) -> Any:
    """``target``, keeping what it raised (a thread's exception is only printed)."""

    def run(*args: Any) -> None:
        try:
            target(*args)
        except BaseException as exc:
            failures.append(exc)
            raise

    return run


def server_env(data: Path) -> dict[str, str]:
    return {
        **os.environ,
        "AUTOFORGE_DATA_DIR": str(data),
        "AUTOFORGE_AUTH_MODE": "hs256",
        "AUTOFORGE_AUTH_HS256_SECRET": SECRET,
        "AUTOFORGE_RATE_LIMIT_PER_MINUTE": "100000000",
        "AUTOFORGE_LOG_LEVEL": "WARNING",
        "LITELLM_LOCAL_MODEL_COST_MAP": "True",
    }


def serve(port: int) -> None:
    """The API on an inline engine of ``AUTOFORGE_DATA_DIR``, until killed."""
    import uvicorn

    from api.app import create_app
    from api.config import ApiSettings
    from api.services import ApiServices
    from engine import Engine

    engine = Engine(executor="inline")
    services = ApiServices.from_runtime(engine.runtime, engine=engine, api=ApiSettings())
    uvicorn.run(create_app(services), host="127.0.0.1", port=port, log_level="warning")


def start_server(data: Path) -> tuple[subprocess.Popen[bytes], str]:
    import httpx

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = int(probe.getsockname()[1])
    server = subprocess.Popen(
        [sys.executable, __file__, "--serve", str(port)], env=server_env(data)
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{base}/health", timeout=2).status_code == 200:
                return server, base
        except httpx.TransportError:
            time.sleep(0.2)
    server.kill()
    raise SystemExit("the API never answered")


def report(name: str, samples: list[float]) -> None:
    ordered = sorted(samples)
    print(
        f"{name:<7} n={len(ordered):>6}  p50 {statistics.median(ordered):6.2f} ms  "
        f"p95 {percentile(ordered, 0.95):6.2f} ms  p99 {percentile(ordered, 0.99):6.2f} ms  "
        f"max {ordered[-1]:6.2f} ms"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=10_000)
    parser.add_argument("--annotators", type=int, default=20)
    parser.add_argument("--per-item", type=int, default=2)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--driver", choices=("sqlite+libsql", "sqlite"), default="sqlite+libsql")
    parser.add_argument(
        "--think-ms", type=float, default=0.0, help="an annotator's pause between items"
    )
    parser.add_argument("--claims", choices=("redis", "db"), default="redis")
    parser.add_argument("--http", action="store_true", help="over HTTP (uvicorn subprocess)")
    parser.add_argument("--serve", type=int, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve is not None:
        serve(args.serve)
        return
    with tempfile.TemporaryDirectory(prefix="af-queue-bench-") as tmp:
        name = "autoforge.db" if args.http else "bench.db"
        db = create_db_engine(f"{args.driver}:///{Path(tmp) / name}")
        migrate(db)
        redis_server = None
        leases = None
        if args.claims == "redis" and not args.http:
            from engine.evaluation.queue_leases import RedisLeases
            from engine.redis_client import sync_redis
            from engine.redis_embedded import EmbeddedRedis

            redis_server = EmbeddedRedis(Path(tmp) / "redis")
            leases = RedisLeases(sync_redis(redis_server.start()))
        store = QueueStore(db, RunStore(db), leases=leases)
        owner = OWNER
        if args.http:  # a shared workspace: its annotators are members, each with a token
            from engine.workspaces import WorkspaceStore

            spaces = WorkspaceStore(db)
            owner = spaces.create("bench", created_by=OWNER).id
            for i in range(args.annotators):
                spaces.add_member(owner, f"annotator-{i:02d}", "annotator", added_by=OWNER)
        queue_id = build(store, DatasetStore(db), args.items, args.per_item, owner)
        server: subprocess.Popen[bytes] | None = None
        target: Any = work
        common: tuple[Any, ...] = (store,)
        if args.http:
            from api.config import ApiSettings

            server, base = start_server(Path(tmp))
            settings = ApiSettings(auth_mode="hs256", auth_hs256_secret=SECRET)  # type: ignore[arg-type]
            target, common = work_http, (base, settings, owner)
        nexts: list[list[float]] = [[] for _ in range(args.annotators)]
        submits: list[list[float]] = [[] for _ in range(args.annotators)]
        until = time.monotonic() + args.seconds
        failures: list[BaseException] = []
        started, cpu = time.perf_counter(), time.process_time()
        threads = [
            threading.Thread(
                target=_reporting(target, failures),
                args=(
                    *common,
                    queue_id,
                    f"annotator-{i:02d}",
                    until,
                    nexts[i],
                    submits[i],
                    args.think_ms / 1000,
                ),
            )  # fmt: skip
            for i in range(args.annotators)
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
        if failures:  # fewer annotators than asked would flatter every percentile
            sys.exit(f"{len(failures)} annotator(s) failed, first: {failures[0]!r}")
        if server is not None:
            server.terminate()
            server.wait(30)
        progress = store.progress(owner, queue_id)
        print(
            f"{args.annotators} annotators, closed loop, {args.driver}, claims in {args.claims}, "
            f"{'HTTP (uvicorn, one process)' if args.http else 'store (no HTTP)'}: "
            f"{progress.answers:,}/{progress.needed:,} answers in {elapsed:.1f} s "
            f"({progress.answers / elapsed:,.0f}/s), think {args.think_ms:g} ms; "
            f"CPU of this process {cpu / max(progress.answers, 1) * 1000:.2f} ms per next+submit"
        )
        report("next", [x for s in nexts for x in s])
        report("submit", [x for s in submits for x in s])
        db.dispose()
        if redis_server is not None:
            redis_server.stop()


if __name__ == "__main__":
    main()
