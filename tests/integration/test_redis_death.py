"""SIGKILL the embedded redis-server mid-run: the engine restarts it from its append-only
file on the same socket and the run completes, with no provider request made twice."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

pytestmark = [pytest.mark.integration, pytest.mark.slow]

_DRIVER = """
import json, os, signal, time
from engine import Engine
from engine.demo_data import PROMPT_NAME, V1, demo_cases
from engine.llm import simulator_catalogue
with Engine() as engine:
    engine.use_catalogue(simulator_catalogue(os.environ["SIM_API_BASE"]))
    engine.prompts.create(PROMPT_NAME, V1["template"])
    engine.datasets.create("demo")
    engine.datasets.add("demo", demo_cases(50))
    run = engine.evaluate(prompt=PROMPT_NAME, dataset="demo",
                          models=["openai/sim-small", "openai/sim-medium"],
                          scorers=["icontains"], repeats=4, cache=False, concurrency=4)
    while engine.evaluations.runs.recorded_count(run.id) < 60:
        time.sleep(0.02)
    killed = engine.runtime.embedded_redis.pid
    os.kill(killed, signal.SIGKILL)
    info = run.wait(progress=False, timeout=240)
    rows = list(engine.evaluations.runs.result_rows(engine.owner, run.id))
    print(json.dumps({"status": info.status.value, "error": info.error,
                      "cell_errors": [r["error"] for r in rows if r["error"]][:5],
                      "recorded": engine.evaluations.runs.recorded_count(run.id),
                      "total": info.total_cells, "killed": killed,
                      "now": engine.runtime.embedded_redis.pid}), flush=True)
"""


def test_a_killed_embedded_redis_is_restarted_and_the_run_completes(tmp_path: Path) -> None:
    from engine.simulator import SimulatorConfig, running_simulator

    env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "RAY_ADDRESS")}
    env.update(AUTOFORGE_DATA_DIR=str(tmp_path), AUTOFORGE_RAY_NUM_CPUS="1")
    with running_simulator(SimulatorConfig(latency_ms=20, seed=4)) as sim:
        env["SIM_API_BASE"] = sim.api_base
        driver = subprocess.run(
            [sys.executable, "-c", _DRIVER], env=env, capture_output=True, text=True, timeout=300
        )
        assert driver.returncode == 0, driver.stderr[-3000:]
        outcome = json.loads(driver.stdout.strip().splitlines()[-1])
        requests = httpx.get(f"{sim.url}/stats").json()["requests_total"]
    assert outcome["now"] != outcome["killed"]
    assert (outcome["status"], outcome["error"]) == ("completed", None)
    assert outcome["cell_errors"] == []
    assert outcome["recorded"] == outcome["total"] == 400
    # Every cell was asked of the provider once: none again after the restart.
    assert requests == outcome["total"]
