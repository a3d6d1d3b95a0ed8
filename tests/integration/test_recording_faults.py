"""The result recorder under faults, and what a finished run leaves in Redis: real Ray,
Redis, database file and the simulator over HTTP."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import ray
from sqlalchemy.engine import make_url

from actors.naming import recorder_name
from engine.cli.demo_data import MODELS, PROMPT_NAME, V1, demo_cases
from engine.evaluation import streams
from engine.llm import simulator_catalogue
from engine.simulator import SimulatorConfig, running_simulator
from tests.integration.drivers import last_json_line

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def small_disk(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path | None]:
    """A 64 MiB tmpfs that a test can fill up, or None where mounting is not allowed."""
    path = tmp_path_factory.mktemp("small-disk")
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=64m", "tmpfs", str(path)], capture_output=True
    )
    if mounted.returncode != 0:
        yield None
        return
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], check=False)


@pytest.fixture(scope="module")
def engine(
    ray_cluster: dict[str, Any],
    redis_url: str,
    small_disk: Path | None,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Any]:
    from engine import Engine

    data_dir = tmp_path_factory.mktemp("recording")
    database = (small_disk or data_dir) / "autoforge.db"
    url = f"sqlite+libsql:///{database}"
    eng = Engine(data_dir=data_dir, database_url=url, redis_url=redis_url)
    eng.prompts.create(PROMPT_NAME, V1["template"], message=V1["message"])
    eng.datasets.create("demo")
    eng.datasets.add("demo", demo_cases(50))
    yield eng
    eng.close()


def _evaluate(engine: Any, seed: int, repeats: int, **options: Any) -> Any:
    """A run of 2 models × 50 cases × ``repeats`` that never reads the response cache."""
    return engine.evaluate(
        **options,
        prompt=PROMPT_NAME,
        dataset="demo",
        models=list(MODELS),
        scorers=["icontains"],
        repeats=repeats,
        seed=seed,
        cache=False,
        concurrency=16,
    )


def _until(condition: Any, what: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)


def _recorder_stats(engine: Any) -> dict[str, Any]:
    stats: dict[str, Any] = ray.get(
        ray.get_actor(recorder_name(engine.settings.effective_database_url)).stats.remote()
    )
    return stats


@contextmanager
def _write_lock(database_url: str) -> Iterator[None]:
    """Hold an exclusive lock on the database file from another connection: every other
    writer waits its busy timeout and fails, as in an outage of the database."""
    url = make_url(database_url)
    path = Path(str(url.database))
    # libSQL and stdlib sqlite do not see each other's locks: hold it through the same driver.
    if url.drivername == "sqlite+libsql":
        import libsql_experimental

        holder: Any = libsql_experimental.connect(str(path), isolation_level=None)
    else:
        holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        yield
    finally:
        holder.execute("ROLLBACK")
        holder.close()


@contextmanager
def _full_disk(disk: Path) -> Iterator[None]:
    """Fill the disk that holds the database: every write fails at once."""
    filler = disk / "filler"
    with filler.open("wb") as out, contextlib.suppress(OSError):  # ENOSPC: full
        while True:
            out.write(b"\0" * (1 << 20))
            out.flush()
            os.fsync(out.fileno())
    try:
        yield
    finally:
        filler.unlink()


@pytest.mark.slow
@pytest.mark.parametrize(("fault", "after_last_call_s"), [("full-disk", 5.0), ("lock", 12.0)])
def test_a_database_write_outage_delays_recording_and_loses_nothing(
    engine: Any, redis_client: Any, small_disk: Path | None, fault: str, after_last_call_s: float
) -> None:
    """The outage lasts until ``after_last_call_s`` after the last provider call, so the run's
    end (the scheduler's flush, the recorder's redeliveries) happens during it."""
    if fault == "full-disk" and small_disk is None:
        pytest.skip("mounting a small tmpfs is not allowed here")
    outage = (
        _full_disk(small_disk)
        if fault == "full-disk" and small_disk is not None
        else _write_lock(engine.settings.effective_database_url)
    )
    with running_simulator(SimulatorConfig(seed=12)) as sim:
        engine.use_catalogue(simulator_catalogue(sim.api_base, max_concurrency=256, name=fault))
        run = _evaluate(engine, seed=12, repeats=2)
        total = 200
        _until(lambda: run.recorded() >= 20, "the first recorded cells")
        with outage:
            during = run.recorded()
            _until(lambda: sim.stats()["requests_total"] >= total, "every cell's provider call")
            time.sleep(after_last_call_s)  # the outage itself: a span of time
            assert run.recorded() == during  # the lock really stopped every write
            assert run.info().status.value == "running"
        info = run.wait(progress=False, timeout=120)
        requests = sim.stats()["requests_total"]
    assert during < total
    assert info.status.value == "completed", info.error
    assert run.recorded() == total
    assert len({(r.prompt_version, r.model, r.case_id, r.repeat) for r in run.records()}) == total
    assert redis_client.xlen(streams.dead_letter_stream(run.id)) == 0
    assert requests == total  # no cell was asked of the provider twice
    assert _recorder_stats(engine)["outage_retries"] > 0


def test_a_completed_run_leaves_no_results_and_only_expiring_keys(
    engine: Any, redis_client: Any, redis_url: str
) -> None:
    with running_simulator(SimulatorConfig(seed=13)) as sim:
        engine.use_catalogue(simulator_catalogue(sim.api_base, max_concurrency=256, name="trim"))
        run = _evaluate(engine, seed=13, repeats=1, budget=5.0)  # budget keys expire too
        info = run.wait(progress=False, timeout=120)
    assert info.status.value == "completed"
    assert run.recorded() == 100
    assert redis_client.xlen(streams.results_stream(run.id)) == 0
    keys = sorted(redis_client.scan_iter(match=f"*{run.id}*", count=1000))
    assert streams.events_stream(run.id) in keys
    ttls = {key: redis_client.ttl(key) for key in keys}
    assert all(ttl > 0 for ttl in ttls.values()), ttls
    assert ttls[streams.events_stream(run.id)] > 23 * 3600
    assert any(key.startswith("af:budget:") for key in keys)
    assert run.id not in redis_client.smembers(streams.WATCHED_RUNS)
    assert _late_follower_sees_the_end(redis_url, streams.events_stream(run.id)) == "completed"


def _late_follower_sees_the_end(redis_url: str, key: str) -> str:
    """Follow ``key`` from its start as the WebSocket/SSE routes do; the final event's type."""
    from api.stream_hub import StreamHub
    from engine.redis_client import async_redis

    async def follow() -> str:
        redis: Any = async_redis(redis_url, decode_responses=True, socket_timeout=None)
        try:
            async for item in StreamHub(redis, block_ms=200, decode=streams.decode).follow(
                key, "0-0"
            ):
                if item is not None and item[1].get("final"):
                    return str(item[1]["type"])
        finally:
            await redis.aclose()
        raise AssertionError("the stream ended without a final event")

    return asyncio.run(asyncio.wait_for(follow(), 20))


def test_only_poison_entries_are_dead_lettered(redis_url: str, tmp_path: Path) -> None:
    """Entries that cannot be decoded or validated, or that fail while the database takes
    writes, go to the dead letters at once; the rest of their batch is recorded."""
    from actors.result_recorder import ResultRecorder
    from engine.db import create_db_engine, migrate

    url = f"sqlite+libsql:///{tmp_path / 'poison.db'}"
    migrate(create_db_engine(url))
    run_id = "run_poison"

    def cell(case: str, **fields: Any) -> dict[str, str]:
        key = {"run_id": run_id, "prompt_version": "v1", "model": "m", "case_id": case}
        return streams.encode({**key, "repeat": 0, "output": "ok", **fields})

    async def scenario() -> tuple[dict[str, int], list[str], int]:
        recorder = ResultRecorder(redis_url, url)
        stream = streams.results_stream(run_id)
        await recorder.redis.delete(stream, streams.dead_letter_stream(run_id))
        await recorder.watch(run_id)
        for fields in (
            cell("a"),
            {"d": "not json"},
            cell("b", repeat="first"),  # no valid cell key: invalid
            cell("c", passed="maybe"),  # valid JSON, refused by the database alone
            cell("d"),
        ):
            await recorder.redis.xadd(stream, fields)
        flushed = await recorder.flush(run_id)
        dead = await recorder.redis.xrange(streams.dead_letter_stream(run_id))
        left = int(await recorder.redis.xlen(stream))
        await recorder.unwatch(run_id)
        return flushed, [fields["reason"] for _, fields in dead], left

    flushed, reasons, left = asyncio.run(scenario())
    assert flushed == {"recorded": 2, "pending": 0, "dead": 3}
    assert left == 0  # recorded and dead-lettered entries both left the results stream
    assert [r.split(":")[0] for r in reasons[:2]] == ["invalid entry", "invalid entry"]
    assert "Not a boolean value" in reasons[2] and "\n" not in reasons[2]


_KILLED_IN_AN_OUTAGE = """
import os, sys
from engine import Engine
from engine.cli.demo_data import PROMPT_NAME, V1, demo_cases
from engine.llm import simulator_catalogue
engine = Engine()
engine.use_catalogue(simulator_catalogue(os.environ["SIM_API_BASE"]))
engine.prompts.create(PROMPT_NAME, V1["template"])
engine.datasets.create("demo")
engine.datasets.add("demo", demo_cases(50))
run = engine.evaluate(prompt=PROMPT_NAME, dataset="demo",
                      models=["openai/sim-small", "openai/sim-medium"],
                      scorers=["icontains"], repeats=2, cache=False, concurrency=8)
while run.recorded() < 40:
    run.events(block_ms=50)
print(run.id, flush=True)
sys.stdin.readline()  # the disk is full now
while (run.progress() or {}).get("done", 0) < 200:  # every result is in the stream
    run.events(block_ms=50)
print(run.recorded(), flush=True)
sys.stdin.readline()  # the outage went on for a while
print(run.recorded(), flush=True)
os.kill(os.getpid(), 9)
"""

_RESUME = """
import json, os, sys
from engine import Engine
from engine.llm import simulator_catalogue
with Engine() as engine:
    engine.use_catalogue(simulator_catalogue(os.environ["SIM_API_BASE"]))
    run = engine.resume(sys.argv[1])
    info = run.wait(progress=False, timeout=120)
    print(json.dumps({"status": info.status.value, "recorded": run.recorded()}), flush=True)
"""


@pytest.mark.slow
def test_a_resume_after_an_outage_never_pays_twice_for_a_streamed_result(
    small_disk: Path | None, tmp_path: Path
) -> None:
    """The engine dies while the database's disk is full and every result waits in the
    results stream; the resume records them from the stream and calls no cell again."""
    if small_disk is None:
        pytest.skip("mounting a small tmpfs is not allowed here")
    env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "RAY_ADDRESS")}
    env.update(
        AUTOFORGE_DATA_DIR=str(tmp_path),  # the embedded Redis and its AOF: a healthy disk
        DATABASE_URL=f"sqlite+libsql:///{small_disk / 'resume.db'}",
        AUTOFORGE_RAY_NUM_CPUS="1",
    )
    with running_simulator(SimulatorConfig(latency_ms=20, seed=14)) as sim:
        env["SIM_API_BASE"] = sim.api_base
        first = subprocess.Popen(
            [sys.executable, "-c", _KILLED_IN_AN_OUTAGE],
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert first.stdin is not None and first.stdout is not None
        run_id = first.stdout.readline().strip()
        assert run_id, "the first engine did not start its run"
        with _full_disk(small_disk):
            first.stdin.write("full\n")
            first.stdin.flush()
            int(first.stdout.readline())
            time.sleep(5.0)  # the outage goes on: long enough for redeliveries and the run's end
            first.stdin.write("kill\n")
            first.stdin.flush()
            recorded_at_kill = int(first.stdout.readline())
            assert first.wait(timeout=60) == -signal.SIGKILL
        requests_before = sim.stats()["requests_total"]
        second = subprocess.run(
            [sys.executable, "-c", _RESUME, run_id],
            env=env,
            capture_output=True,
            text=True,
            timeout=240,
        )
        assert second.returncode == 0, second.stderr[-3000:]
        outcome = last_json_line(second.stdout)
        requests = sim.stats()["requests_total"]
    assert recorded_at_kill < 200  # results were waiting in the stream, not in the database
    assert requests_before == 200
    assert outcome == {"status": "completed", "recorded": 200}
    assert requests == 200  # the resume called no cell again


@pytest.mark.slow
def test_a_run_status_written_in_an_outage_waits_for_the_database(migrated_db: Any) -> None:
    """The scheduler's last write of a run (its final status) outlives an outage that starts
    after the recorder's last flush, instead of raising and leaving the run `running`."""
    import threading

    from domain.evaluation import RunSpec, RunStatus
    from engine.evaluation.runs import RunStore, through_outage

    store = RunStore(migrated_db)
    spec = RunSpec(
        prompt_id="p",
        prompt_versions=("a" * 64,),
        models=("m",),
        dataset_version_id="d",
        case_ids=("c",),
    )
    run = store.create("alice", spec)
    store.set_status(run.id, RunStatus.RUNNING)
    url = migrated_db.url.render_as_string(hide_password=False)
    held, release = threading.Event(), threading.Event()

    def outage() -> None:
        with _write_lock(url):
            held.set()
            release.wait(30)

    holder = threading.Thread(target=outage)
    holder.start()
    held.wait(10)
    with pytest.raises(Exception):  # noqa: B017 - the driver's own "database is locked"
        store.set_status(run.id, RunStatus.COMPLETED)
    threading.Timer(1.0, release.set).start()
    asyncio.run(through_outage(store, store.set_status, run.id, RunStatus.COMPLETED))
    holder.join(10)
    assert store.get(None, run.id).status == RunStatus.COMPLETED
