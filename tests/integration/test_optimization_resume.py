"""A driver SIGKILLed mid-optimization leaves it `interrupted`; a resume in the next process
rebuilds it from the event log, asks the provider nothing for a recorded cell, and ends on
the same history as an optimization that was never stopped."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.integration.drivers import driver_env, last_json_line
from tests.integration.test_optimization_loop import _cases, _engine, _normalized

pytestmark = [pytest.mark.integration, pytest.mark.slow]

_SETUP = """
import json, os, sys
from engine import Engine
from engine.llm import simulator_catalogue
from tests.integration.test_optimization_loop import _cases
"""

_DRIVER = (
    _SETUP
    + """
with Engine() as engine:
    engine.use_catalogue(simulator_catalogue(os.environ["SIM_API_BASE"]))
    engine.prompts.create("calc", "What is {{a}} + {{b}}?")
    engine.datasets.create("sums")
    engine.datasets.add("sums", _cases(24))
    opt = engine.optimize("calc", "sums", ["openai/sim-small"], ["contains"],
                          optimizer="random", max_metric_calls=90, minibatch=4,
                          concurrency=2, seed=5)
    print(opt.id, flush=True)
    opt.wait(progress=False)
"""
)

_RESUME = (
    _SETUP
    + """
from sqlalchemy import select
from engine.evaluation import streams
from engine.evaluation.tables import results, runs

def cells(engine, opt_id):
    with engine.runtime.db.connect() as conn:
        ids = [r.id for r in conn.execute(select(runs.c.id).where(
            runs.c.idempotency_key.like(opt_id + ":%")))]
        # a run may evaluate several candidates (one phase on the same cases): key by version
        rows = conn.execute(select(results.c.run_id, results.c.prompt_version,
                                   results.c.case_id, results.c.cached)
                            .where(results.c.run_id.in_(ids)))
        return {(r[0], r[1], r[2]): bool(r[3]) for r in rows}

def unrecorded_answers(engine, opt_id, recorded):
    # Cells answered before the kill whose rows wait in a results stream, not in the DB.
    with engine.runtime.db.connect() as conn:
        ids = [r.id for r in conn.execute(select(runs.c.id).where(
            runs.c.idempotency_key.like(opt_id + ":%")))]
    waiting = set()
    for run_id in ids:
        for _, fields in engine.runtime.redis.xrange(streams.results_stream(run_id)):
            row = streams.decode(fields)
            if not row.get("cached"):
                waiting.add((row["run_id"], row["prompt_version"], row["case_id"]))
    return len(waiting - set(recorded))

with Engine() as engine:
    engine.use_catalogue(simulator_catalogue(os.environ["SIM_API_BASE"]))
    opt_id = sys.argv[1]
    found = engine.optimization(opt_id).info.status
    before = cells(engine, opt_id)
    in_streams = unrecorded_answers(engine, opt_id, before)
    with engine.runtime.db.connect() as conn:
        done = [r.id for r in conn.execute(select(runs.c.id).where(
            runs.c.idempotency_key.like(opt_id + ":%"), runs.c.status == "completed"))]
    print("resuming", flush=True)
    sys.stdin.readline()  # the test resets the simulator's counters first
    opt = engine.resume_optimization(opt_id)
    info = opt.wait(progress=False, timeout=300)
    after = cells(engine, opt_id)
    new = {k: c for k, c in after.items() if k not in before}
    print(json.dumps({"found": found, "status": info.status, "error": info.error,
                      "recorded_before": len(before),
                      "new_uncached": sum(1 for c in new.values() if not c),
                      "in_streams": in_streams,
                      "completed_before": len(done),
                      "new_in_completed": sum(1 for k in new if k[0] in done),
                      "history": opt.history}), flush=True)
"""
)


def _events(data_dir: Path, optimization_id: str) -> int:
    from engine.db import create_db_engine
    from engine.optimization.store import OptimizationStore

    db = create_db_engine(f"sqlite+libsql:///{data_dir / 'autoforge.db'}")
    try:
        return OptimizationStore(db).count_events(optimization_id)
    except Exception:
        return 0
    finally:
        db.dispose()


def test_a_killed_driver_leaves_the_optimization_resumable_and_nothing_is_asked_twice(
    tmp_path: Path,
) -> None:

    from engine.simulator import SimulatorConfig, running_simulator

    root = Path(__file__).resolve().parents[2]
    with running_simulator(SimulatorConfig(latency_ms=20, seed=5)) as sim:
        env = driver_env(tmp_path / "data", sim.api_base, "inline")
        env["PYTHONPATH"] = str(root)
        driver = subprocess.Popen(
            [sys.executable, "-c", _DRIVER],
            env=env,
            cwd=root,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            assert driver.stdout is not None
            opt_id = driver.stdout.readline().strip()
            assert opt_id.startswith("opt-"), driver.stderr.read() if driver.stderr else ""
            deadline = time.monotonic() + 120
            while _events(tmp_path / "data", opt_id) < 12:  # a few generations in
                assert time.monotonic() < deadline and driver.poll() is None
                time.sleep(0.05)
            driver.send_signal(signal.SIGKILL)
            driver.communicate(timeout=60)
        finally:
            if driver.poll() is None:
                driver.kill()
        killed_at = _events(tmp_path / "data", opt_id)
        resumer = subprocess.Popen(
            [sys.executable, "-c", _RESUME, opt_id],
            env=env,
            cwd=root,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert resumer.stdout is not None and resumer.stdin is not None
        line = resumer.stdout.readline().strip()
        assert line == "resuming", resumer.stderr.read() if resumer.stderr else line
        httpx.post(f"{sim.url}/stats/reset")
        out, err = resumer.communicate("go\n", timeout=300)
        assert resumer.returncode == 0, err[-3000:]
        outcome: dict[str, Any] = last_json_line(out)
        requests = httpx.get(f"{sim.url}/stats").json()["requests_total"]
        # The same optimization, never stopped, on a fresh engine with the same simulator.
        reference = _engine(tmp_path / "reference", sim.api_base)
        try:
            reference.prompts.create("calc", "What is {{a}} + {{b}}?")
            reference.datasets.create("sums")
            reference.datasets.add("sums", _cases(24))
            opt = reference.optimize(
                "calc",
                "sums",
                ["openai/sim-small"],
                ["contains"],
                optimizer="random",
                max_metric_calls=90,
                minibatch=4,
                concurrency=2,
                seed=5,
            )
            assert opt.wait(progress=False, timeout=300).status == "completed"
            expected = _normalized(opt.history)
        finally:
            reference.close()
    assert outcome["found"] == "interrupted"
    assert outcome["status"] == "completed", outcome["error"]
    assert outcome["recorded_before"] > 0
    assert len(outcome["history"]) > killed_at
    # Only cells nobody had recorded were asked (and the cache answered some of them). The
    # resume also records, without asking, the answers that waited in a results stream at the
    # kill (how many depends on where the kill fell in the recorder's batching: counted).
    waiting = outcome["in_streams"]
    assert outcome["new_uncached"] - waiting <= requests <= outcome["new_uncached"]
    assert outcome["completed_before"] > 0 and outcome["new_in_completed"] == 0
    assert _normalized(outcome["history"]) == expected
