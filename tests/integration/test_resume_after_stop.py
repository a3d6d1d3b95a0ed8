"""Stop the whole engine mid-run (SIGKILL), start it again, resume: nothing recorded is
asked of the provider again. Each phase is its own process with its own Redis (and Ray, on
the Ray executor)."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from tests.integration.drivers import DEMO_RUN, EXECUTORS, driver_env, run_script, wait_until_gone

pytestmark = [pytest.mark.integration, pytest.mark.slow]

_SETUP = (
    DEMO_RUN
    + """    print(run.id, flush=True)
    while engine.evaluations.runs.recorded_count(run.id) < 60:
        time.sleep(0.02)
    print(engine.evaluations.runs.recorded_count(run.id), flush=True)
    os.kill(os.getpid(), 9)
"""
)

_RESUME = """
import json, os, sys
from engine import Engine
from engine.llm import simulator_catalogue
with Engine() as engine:
    engine.use_catalogue(simulator_catalogue(os.environ["SIM_API_BASE"]))
    run = engine.resume(sys.argv[1])
    info = run.wait(progress=False, timeout=240)
    started = [e for _, e in run.events() if e["type"] == "started"][-1]
    print(json.dumps({"status": info.status.value, "resumed": started["resumed"],
                      "recorded": engine.evaluations.runs.recorded_count(run.id),
                      "total": info.total_cells}), flush=True)
"""


@pytest.mark.parametrize("executor", EXECUTORS)
def test_resume_after_a_killed_engine_calls_only_unrecorded_cells(
    tmp_path: Path, executor: str
) -> None:
    from engine.simulator import SimulatorConfig, running_simulator

    with running_simulator(SimulatorConfig(latency_ms=20, seed=3)) as sim:
        env = driver_env(tmp_path, sim.api_base, executor)
        first = subprocess.run(
            [sys.executable, "-c", _SETUP], env=env, capture_output=True, text=True, timeout=180
        )
        assert first.returncode == -signal.SIGKILL, first.stderr[-3000:]
        run_id, recorded_at_kill = first.stdout.split()[:2]
        assert int(recorded_at_kill) >= 60
        wait_until_gone(tmp_path)  # its workers may still call the provider until then
        httpx.post(f"{sim.url}/stats/reset")
        outcome = run_script(_RESUME, run_id, env=env, timeout=240)
        requests = httpx.get(f"{sim.url}/stats").json()["requests_total"]
    assert outcome["status"] == "completed"
    assert outcome["recorded"] == outcome["total"] == 400
    assert outcome["resumed"] >= int(recorded_at_kill)
    # Only the cells that were not recorded were asked again: none of the recorded ones.
    assert requests == outcome["total"] - outcome["resumed"]
