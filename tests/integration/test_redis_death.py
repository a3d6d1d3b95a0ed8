"""SIGKILL the embedded redis-server mid-run: the engine restarts it from its append-only
file on the same socket and the run completes, with no provider request made twice."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from tests.integration.drivers import DEMO_RUN, driver_env, run_script

pytestmark = [pytest.mark.integration, pytest.mark.slow]

_DRIVER = (
    DEMO_RUN
    + """    while engine.evaluations.runs.recorded_count(run.id) < 60:
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
)


def test_a_killed_embedded_redis_is_restarted_and_the_run_completes(tmp_path: Path) -> None:
    from engine.simulator import SimulatorConfig, running_simulator

    with running_simulator(SimulatorConfig(latency_ms=20, seed=4)) as sim:
        outcome = run_script(_DRIVER, env=driver_env(tmp_path, sim.api_base), timeout=300)
        requests = httpx.get(f"{sim.url}/stats").json()["requests_total"]
    assert outcome["now"] != outcome["killed"]
    assert (outcome["status"], outcome["error"]) == ("completed", None)
    assert outcome["cell_errors"] == []
    assert outcome["recorded"] == outcome["total"] == 400
    # Every cell was asked of the provider once: none again after the restart.
    assert requests == outcome["total"]
