"""The engine on a real 3-node Ray cluster (head + 2 workers, separate raylets) with an external
redis-server reached by ``REDIS_URL``, as `autoforge cluster local` and `ray up` give it.

One driver process (the SDK, ``RAY_ADDRESS`` set) works two runs: a rate-limited one, after
which it reports where each actor was placed, and one during which the test kills a worker
node. The test process never joins Ray (other tests of the session have their own); it owns
the cluster, Redis and the simulators, and reads the database and the simulators' request
logs to check what the driver did.
"""

from __future__ import annotations

import json
import os
import queue
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from bench.faults_metrics import epoch, repeated_requests, requests_after_recording

pytestmark = [pytest.mark.integration, pytest.mark.slow]

RPM = 1200
"""The limited account's requests per minute: 20/s, a bucket of 1 s of rate (`TokenBucket`)."""
WINDOW_S = 3.0
LIMITED_CASES, KILL_CASES = 80, 250
MODELS = ("openai/sim-small", "openai/sim-medium")
KILL_AT = 60
"""Cells recorded before a worker node is killed."""
MARGIN = 1.3
"""Arrivals bunch on two busy cores (a permit granted on time is used late): 30% above what
the bucket grants. Three limiters, one per node, would send three times the rate."""


def per_s_bound() -> float:
    """Requests the account's bucket may grant in any WINDOW_S (1 s of burst plus refill),
    with MARGIN: the provider's own limit over that window."""
    return MARGIN * RPM / 60 * (1 + WINDOW_S)


DRIVER = """
import json, os, sys
from collections import Counter
import ray
from actors.naming import evaluator_name, gateway_name, recorder_name, scheduler_name
from engine import Engine
from engine.llm import simulator_catalogue

def say(**fields):
    print("@@" + json.dumps(fields), flush=True)

def node_of(name):
    handle = ray.get_actor(name)
    where = handle.__ray_call__.remote(lambda self: ray.get_runtime_context().get_node_id())
    return ray.get(where, timeout=60)

def cases(prefix, n):
    return [{"id": f"{prefix}{i}", "vars": {"n": i}, "expected": str(i + 1)} for i in range(n)]

models = json.loads(os.environ["MODELS"])
with Engine() as engine:
    url = engine.settings.effective_database_url
    engine.prompts.create("q", "What is {{n}} + 1?")
    engine.datasets.create("limited")
    engine.datasets.add("limited", cases("l", int(os.environ["LIMITED_CASES"])))
    engine.datasets.create("kill")
    engine.datasets.add("kill", cases("k", int(os.environ["KILL_CASES"])))
    engine.use_catalogue(simulator_catalogue(
        os.environ["SIM_LIMITED"], rpm=int(os.environ["RPM"]), name="limited", max_concurrency=64))
    run = engine.evaluate(prompt="q", dataset="limited", models=models, scorers=["icontains"],
                          cache=False, concurrency=32)
    info = run.wait(progress=False, timeout=120)
    pool = int(engine.runtime.ray_resources["CPU"])
    say(phase="limited", run_id=run.id, status=info.status.value,
        evaluators=[node_of(evaluator_name(url, i)) for i in range(pool)],
        gateway=node_of(gateway_name("limited")), scheduler=node_of(scheduler_name(url)),
        recorder=node_of(recorder_name(url)), driver=ray.get_runtime_context().get_node_id())
    engine.use_catalogue(simulator_catalogue(os.environ["SIM_PLAIN"], name="plain",
                                             max_concurrency=64))
    run = engine.evaluate(prompt="q", dataset="kill", models=models, scorers=["icontains"],
                          cache=False, concurrency=16)
    say(phase="kill", run_id=run.id)
    info = run.wait(progress=False, timeout=180)
    kinds = Counter(e["type"] for _, e in run.events())
    say(phase="done", status=info.status.value, retrying=kinds["retrying"])
"""


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    from engine.local_cluster import LocalCluster

    with LocalCluster(nodes=3, directory=tmp_path_factory.mktemp("cluster")) as running:
        yield running


def _db(data_dir: Path) -> Any:
    from engine.db import create_db_engine

    return create_db_engine(f"sqlite+libsql:///{data_dir / 'autoforge.db'}")


def _rows(db: Any, sql: str, **params: Any) -> list[Any]:
    from sqlalchemy import text

    with db.connect() as conn:
        return list(conn.execute(text(sql), params))


def _recorded(db: Any, run_id: str) -> int:
    return int(_rows(db, "SELECT count(*) FROM results WHERE run_id = :r", r=run_id)[0][0])


def _lines(driver: Any) -> queue.Queue[str]:
    """The driver's stdout, line by line, read on a thread (a test never blocks on it)."""
    lines: queue.Queue[str] = queue.Queue()

    def read() -> None:
        for line in driver.stdout:
            lines.put(line)

    threading.Thread(target=read, daemon=True).start()
    return lines


def _next_line(lines: queue.Queue[str], driver: Any, log: Path, timeout: float) -> dict[str, Any]:
    """The driver's next ``@@``-marked JSON line (Ray prints its own lines to stdout)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            line = lines.get(timeout=0.5)
        except queue.Empty:
            if driver.poll() is not None and lines.empty():
                raise AssertionError(
                    f"driver exited {driver.returncode}: {log.read_text()[-3000:]}"
                ) from None
            continue
        if line.startswith("@@"):
            return dict(json.loads(line[2:]))
    raise AssertionError(f"driver said nothing in {timeout} s: {log.read_text()[-3000:]}")


def _cell_of_request(prefix: str, cases: int) -> dict[str, tuple[str, str]]:
    """``request_key`` of each cell's provider request → (model, case id)."""
    from engine.simulator import request_key

    return {
        request_key(model.removeprefix("openai/"), f"What is {i} + 1?"): (model, f"{prefix}{i}")
        for model in MODELS
        for i in range(cases)
    }


@pytest.fixture(scope="module")
def outcome(cluster: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """The driver's two runs, the kill in the middle of the second, and what they left."""
    from engine.simulator import SimulatorConfig, running_simulator

    provider_limit = int(per_s_bound())
    base = tmp_path_factory.mktemp("driver")
    limited_cfg = SimulatorConfig(latency_ms=20, rpm=provider_limit, window_s=WINDOW_S, seed=1)
    with (
        running_simulator(limited_cfg) as limited,
        running_simulator(SimulatorConfig(latency_ms=150, seed=2)) as plain,
    ):
        env = {k: v for k, v in os.environ.items() if not k.startswith("AUTOFORGE_")}
        env.update(
            AUTOFORGE_DATA_DIR=str(base / "data"),
            AUTOFORGE_RAY_LOG_TO_DRIVER="false",
            RAY_ADDRESS=cluster.ray_address,
            REDIS_URL=cluster.redis_url,
            SIM_LIMITED=limited.api_base,
            SIM_PLAIN=plain.api_base,
            RPM=str(RPM),
            MODELS=json.dumps(MODELS),
            LIMITED_CASES=str(LIMITED_CASES),
            KILL_CASES=str(KILL_CASES),
            PYTHONPATH=str(Path(__file__).resolve().parents[2]),
        )
        log = base / "driver.log"
        with log.open("w") as err:
            driver = subprocess.Popen(
                [sys.executable, "-c", DRIVER],
                env=env,
                stdout=subprocess.PIPE,
                stderr=err,
                text=True,
            )
        db = None
        lines = _lines(driver)
        try:
            placed = _next_line(lines, driver, log, 240)
            started = _next_line(lines, driver, log, 60)
            db = _db(base / "data")
            deadline = time.monotonic() + 60
            while _recorded(db, started["run_id"]) < KILL_AT:
                assert time.monotonic() < deadline, "the run did not get going"
                time.sleep(0.05)
            victim = next(n for n in cluster.worker_node_ids if n in placed["evaluators"])
            workers = list(cluster.worker_node_ids)
            at_kill = _recorded(db, started["run_id"])
            cluster.kill_worker(victim)
            done = _next_line(lines, driver, log, 240)
            assert driver.wait(timeout=60) == 0, log.read_text()[-3000:]
            yield {
                "placed": placed,
                "head": cluster.head_node_id,
                "workers": workers,
                "victim": victim,
                "at_kill": at_kill,
                "done": done,
                "kill_run": started["run_id"],
                "limited_log": httpx.get(f"{limited.url}/stats/requests").json()["chat"],
                "limited_stats": limited.stats(),
                "plain_log": httpx.get(f"{plain.url}/stats/requests").json()["chat"],
                "db": db,
            }
        finally:
            if driver.poll() is None:
                driver.kill()
                driver.wait(timeout=30)
            if db is not None:
                db.dispose()


def test_evaluators_are_spread_over_the_worker_nodes(outcome: dict[str, Any]) -> None:
    placed = outcome["placed"]
    assert placed["status"] == "completed"
    assert placed["driver"] == outcome["head"]
    evaluators = Counter(placed["evaluators"])
    assert len(placed["evaluators"]) == 3  # one per CPU of the cluster: 3 nodes x 1
    for worker in outcome["workers"]:
        assert evaluators[worker] >= 1, (worker, placed)
    assert max(evaluators.values()) == 1  # node i mod 3: one per node


def test_the_actors_that_open_the_database_file_run_on_its_node(outcome: dict[str, Any]) -> None:
    placed = outcome["placed"]
    assert placed["scheduler"] == placed["recorder"] == outcome["head"]


def test_the_gateway_keeps_one_limit_for_evaluators_on_every_node(
    outcome: dict[str, Any],
) -> None:
    log = outcome["limited_log"]
    assert outcome["limited_stats"]["rate_limited"] == 0  # the provider never objected
    assert sum(entry["status"] == 200 for entry in log) == len(MODELS) * LIMITED_CASES
    arrivals = sorted(entry["at"] for entry in log)
    busiest = max(
        sum(1 for t in arrivals[i:] if t < start + WINDOW_S) for i, start in enumerate(arrivals)
    )
    assert busiest <= per_s_bound(), busiest
    per_s = RPM / 60
    sustained = (len(arrivals) - per_s) / (arrivals[-1] - arrivals[0])
    assert sustained <= per_s * 1.1, sustained


def test_a_killed_worker_node_leaves_every_cell_recorded_once_and_none_asked_again(
    outcome: dict[str, Any],
) -> None:
    done, db, run_id = outcome["done"], outcome["db"], outcome["kill_run"]
    expected = len(MODELS) * KILL_CASES
    assert done["status"] == "completed", done
    assert outcome["at_kill"] < expected  # the node died mid-run
    assert done["retrying"] >= 1  # the dead node's batches went out again
    per_cell = _rows(
        db,
        "SELECT count(*) FROM results WHERE run_id = :r GROUP BY model, case_id, repeat",
        r=run_id,
    )
    assert len(per_cell) == expected
    assert {n for (n,) in per_cell} == {1}
    recorded_at = {
        (model, case): epoch(at)
        for model, case, at in _rows(
            db,
            "SELECT model, case_id, min(recorded_at) FROM results WHERE run_id = :r"
            " GROUP BY model, case_id",
            r=run_id,
        )
    }
    cells = _cell_of_request("k", KILL_CASES)
    requests = [(e["at"], cells.get(e["key"])) for e in outcome["plain_log"]]
    assert all(cell is not None for _, cell in requests)
    assert requests_after_recording(requests, recorded_at) == 0
    # Re-asked: only cells the dead node's evaluator had in flight (at most the run's 16).
    assert repeated_requests(cell for _, cell in requests) <= 16
