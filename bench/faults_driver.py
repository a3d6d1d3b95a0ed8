"""The driver process of `bench/faults.py`: one engine (SDK) on one data dir, one run.

    python bench/faults_driver.py --data-dir D --api-base URL --cases 250 [--budget USD]
    python bench/faults_driver.py --data-dir D --api-base URL --resume RUN_ID

It prints one JSON object per line on stdout (``run``, ``ended``, ``error``, ``redis``,
``before-resume``, ``ack``) and reads commands on stdin, one per line:
``kill-scheduler`` and ``kill-redis`` act at once, mid-run; ``resume [BUDGET]``,
``inspect-redis`` and ``exit`` are handled once the run has stopped (``resumed`` follows a
resume the scheduler accepted). A failure of the SDK
prints an ``error`` line and exits 1, as a user's script would stop.
"""

from __future__ import annotations

import argparse
import json
import os
import queue
import signal
import sys
import threading
from pathlib import Path
from typing import Any

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")

PROMPT = "faults"
DATASET = "faults"
MODELS = ("openai/sim-small", "openai/sim-large")
TEMPLATES = (
    "Case {{cid}}: what is {{a}} + {{b}}?",
    "Case {{cid}}: what is {{a}} + {{b}}? Reply with the number only.",
)
MAX_TOKENS = 16  # bounds the budget forecast of each call (the default assumes 256)


def cases(count: int) -> list[dict[str, Any]]:
    """Seeded cases whose rendered prompts are distinct, so a request names its cell."""
    return [
        {
            "id": f"c{i:05d}",
            "vars": {"cid": f"c{i:05d}", "a": i, "b": i % 7},
            "expected": str(i + i % 7),
        }
        for i in range(count)
    ]


def emit(event: str, **fields: Any) -> None:
    sys.stdout.write(json.dumps({"event": event, **fields}, default=str) + "\n")
    sys.stdout.flush()


def one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text}"[:300]


def redis_keys(redis: Any, run_id: str) -> list[dict[str, Any]]:
    """Every Redis key naming the run: type, entries, bytes and TTL (-1: none)."""
    found = []
    for key in sorted(redis.scan_iter(match=f"*{run_id}*", count=1000)):
        kind = redis.type(key)
        entries = {"stream": redis.xlen, "hash": redis.hlen, "set": redis.scard}.get(kind)
        found.append(
            {
                "key": key,
                "type": kind,
                "entries": entries(key) if entries else None,
                "bytes": redis.memory_usage(key) or 0,
                "ttl_s": redis.ttl(key),
            }
        )
    return found


class Driver:
    def __init__(self, engine: Any, later: queue.Queue[str]) -> None:
        self.engine = engine
        self.later = later

    def listen(self) -> None:
        for line in sys.stdin:
            command = line.strip()
            try:
                if command == "kill-scheduler":
                    import ray

                    ray.kill(self.engine.evaluations.scheduler().handle(), no_restart=False)
                elif command == "kill-redis":
                    os.kill(self.engine.runtime.embedded_redis.pid, signal.SIGKILL)
                elif command:
                    self.later.put(command)
                    continue
            except Exception as exc:
                emit("error", error=one_line(exc), command=command)
                continue
            emit("ack", command=command)
        self.later.put("exit")

    def follow(self, run: Any, timeout: float) -> None:
        info = run.wait(progress=False, timeout=timeout)
        emit("ended", run_id=run.id, status=info.status.value, error=info.error)


def setup(engine: Any, count: int) -> list[str]:
    first = engine.prompts.create(PROMPT, TEMPLATES[0])
    engine.prompts.commit(PROMPT, TEMPLATES[1], message="number only")
    engine.datasets.create(DATASET)
    engine.datasets.add(DATASET, cases(count))
    return [first.head, "main"]


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--data-dir", required=True)
    parser.add_argument("--api-base", required=True)
    parser.add_argument("--cases", type=int, default=250)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--budget", type=float, default=None)
    parser.add_argument("--resume", default=None, help="resume this run instead of starting one")
    parser.add_argument("--wait-timeout", type=float, default=600.0)
    args = parser.parse_args()

    from engine import Engine
    from engine.llm import simulator_catalogue

    later: queue.Queue[str] = queue.Queue()
    try:
        with Engine(data_dir=Path(args.data_dir)) as engine:
            engine.use_catalogue(simulator_catalogue(args.api_base, max_concurrency=64))
            driver = Driver(engine, later)
            if args.resume:
                info = engine.run(args.resume).info()
                emit("before-resume", status=info.status.value, error=info.error)
                run = engine.resume(args.resume, concurrency=args.concurrency)
            else:
                run = engine.evaluate(
                    prompt=PROMPT,
                    dataset=DATASET,
                    versions=setup(engine, args.cases),
                    models=list(MODELS),
                    scorers=["contains"],
                    cache=False,
                    seed=1,
                    concurrency=args.concurrency,
                    params={"max_tokens": MAX_TOKENS},
                    budget=args.budget,
                )
            emit("run", run_id=run.id, total=run.info().total_cells)
            threading.Thread(target=driver.listen, daemon=True).start()
            driver.follow(run, args.wait_timeout)
            while (command := later.get()) != "exit":
                if command == "inspect-redis":
                    emit("redis", keys=redis_keys(engine.runtime.redis, run.id))
                elif command.startswith("resume"):
                    budget = command.split()[1:]
                    kwargs = {"budget": float(budget[0])} if budget else {}
                    run = engine.resume(run.id, concurrency=args.concurrency, **kwargs)
                    emit("resumed", run_id=run.id)
                    driver.follow(run, args.wait_timeout)
                emit("ack", command=command)
    except Exception as exc:  # reported to the bench as one line, as a user would see it
        emit("error", error=one_line(exc))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
