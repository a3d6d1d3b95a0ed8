"""A driver killed (SIGKILL) or interrupted (SIGINT) mid-run takes its embedded Redis (and Ray,
or the inline executor's actors) with it. Nobody can mark the run then; the next process that
starts a scheduler on the data dir finds it `running` with nobody working it and marks it
`interrupted` (never `failed`, never a traceback), and a resume finishes it without asking
any recorded cell again."""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.integration.drivers import DEMO_RUN, EXECUTORS, driver_env, run_script, wait_until_gone

pytestmark = [pytest.mark.integration, pytest.mark.slow]

_DRIVER = (
    DEMO_RUN
    + """    print(run.id, flush=True)
    run.wait(progress=False)
"""
)

_NEXT = """
import json, os, sys
from engine import Engine
from engine.llm import simulator_catalogue
with Engine() as engine:
    engine.use_catalogue(simulator_catalogue(os.environ["SIM_API_BASE"]))
    engine.evaluations.scheduler().handle()  # what any command that works runs does first
    found = engine.run(sys.argv[1]).info()
    run = engine.resume(sys.argv[1])
    info = run.wait(progress=False, timeout=240)
    started = [e for _, e in run.events() if e["type"] == "started"][-1]
    print(json.dumps({"found": found.status.value, "found_error": found.error,
                      "status": info.status.value, "resumed": started["resumed"],
                      "recorded": engine.evaluations.runs.recorded_count(run.id),
                      "total": info.total_cells}), flush=True)
"""


def _stored(data_dir: Path, run_id: str) -> tuple[str, str | None, int]:
    from engine.db import create_db_engine
    from engine.evaluation.runs import RunStore

    db = create_db_engine(f"sqlite+libsql:///{data_dir / 'autoforge.db'}")
    try:
        runs = RunStore(db)
        info = runs.get(None, run_id)
        return info.status.value, info.error, runs.recorded_count(run_id)
    finally:
        db.dispose()


@pytest.mark.parametrize("executor", EXECUTORS)
@pytest.mark.parametrize("stop", [signal.SIGKILL, signal.SIGINT], ids=["sigkill", "sigint"])
def test_a_stopped_driver_leaves_its_run_resumable_and_resume_asks_nothing_twice(
    tmp_path: Path, stop: signal.Signals, executor: str
) -> None:
    from engine.simulator import SimulatorConfig, running_simulator

    with running_simulator(SimulatorConfig(latency_ms=20, seed=5)) as sim:
        env = driver_env(tmp_path, sim.api_base, executor)
        driver = subprocess.Popen(
            [sys.executable, "-c", _DRIVER],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:
            assert driver.stdout is not None
            run_id = driver.stdout.readline().strip()
            assert run_id.startswith("run_"), driver.stderr.read() if driver.stderr else ""
            deadline = time.monotonic() + 120
            while _stored(tmp_path, run_id)[2] < 60:
                assert time.monotonic() < deadline and driver.poll() is None
                time.sleep(0.05)
            driver.send_signal(stop)
            driver.communicate(timeout=120)
        finally:
            if driver.poll() is None:
                driver.kill()
        status, error, _ = _stored(tmp_path, run_id)
        assert status in ("running", "interrupted"), (status, error)
        assert error is None or error.startswith("interrupted: "), error
        wait_until_gone(tmp_path)  # its workers may still call the provider until then
        httpx.post(f"{sim.url}/stats/reset")
        outcome = run_script(_NEXT, run_id, env=env, timeout=300)
        requests = httpx.get(f"{sim.url}/stats").json()["requests_total"]
    # Whoever noticed first (a dying evaluator or the next scheduler) says why, in one line.
    assert outcome["found"] == "interrupted"
    assert outcome["found_error"].startswith("interrupted: "), outcome["found_error"]
    assert outcome["status"] == "completed"
    assert outcome["recorded"] == outcome["total"] == 400
    assert requests == outcome["total"] - outcome["resumed"]
