"""A live `autoforge eval` while other processes run `autoforge run list/show/report/cancel`
on the same data dir: list, show and report read the database, cancel joins its Redis and Ray;
none kills them, and the cancel reaches its run.

Timeouts are generous because the cancel starts Python, joins Ray and imports the engine:
~5 s here alone, minutes on a machine shared with other Ray test suites. The run is
3,000 cells at concurrency 2 and 100 ms (>= 150 s) so it is still live when the cancel lands."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import psutil
import pytest

pytestmark = [pytest.mark.integration, pytest.mark.slow]

_EVAL = """
name: live
prompt: {name: live-prompt, versions: [{template: "Say {{word}}"}]}
models: [openai/sim-small]
dataset: cases.jsonl
scorers: [{type: icontains, args: {value: "a"}}]
repeats: 2
concurrency: 2
cache: false
"""


def _cli(env: dict[str, str], *args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "engine.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def _wait_for(predicate: Any, what: str, timeout_s: float = 300) -> None:
    deadline = time.monotonic() + timeout_s
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)


def test_cli_commands_during_a_live_eval_join_it_and_cancel_it(tmp_path: Path) -> None:
    from engine.llm import simulator_catalogue
    from engine.simulator import SimulatorConfig, running_simulator

    data = tmp_path / "data"
    (tmp_path / "eval.yaml").write_text(_EVAL)
    (tmp_path / "cases.jsonl").write_text(
        "".join(json.dumps({"word": f"w{i}a"}) + "\n" for i in range(1500))
    )
    env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "RAY_ADDRESS")}
    # A cancel reaches the run through the owner's Ray: an inline owner's runs cannot be
    # reached from another process (`test_inline_executor`).
    env.update(AUTOFORGE_DATA_DIR=str(data), AUTOFORGE_RAY_NUM_CPUS="1", AUTOFORGE_EXECUTOR="ray")
    with running_simulator(SimulatorConfig(latency_ms=100, seed=9)) as sim:
        catalogue = tmp_path / "catalogue.json"
        catalogue.write_text(json.dumps(simulator_catalogue(sim.api_base).to_dict()))
        env["AUTOFORGE_CATALOGUE_PATH"] = str(catalogue)
        first = subprocess.Popen(
            [sys.executable, "-m", "engine.cli", "eval", str(tmp_path / "eval.yaml"), "--json"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        try:

            def started() -> bool:
                assert first.poll() is None, first.communicate()[1][-3000:]
                return int(httpx.get(f"{sim.url}/stats").json()["requests_total"]) > 0

            _wait_for(started, "the eval's first provider request")
            redis_pid = int((data / "redis" / "redis.pid").read_text())

            listed = _cli(env, "run", "list", "--json")
            assert listed.returncode == 0, listed.stderr[-2000:]
            runs = json.loads(listed.stdout)
            assert [r["status"] for r in runs] == ["running"]
            run_id = runs[0]["id"]

            shown = _cli(env, "run", "show", run_id, "--json")
            assert shown.returncode == 0, shown.stderr[-2000:]
            assert json.loads(shown.stdout)["status"] == "running"
            reported = _cli(env, "run", "report", run_id, "--format", "json")
            assert reported.returncode == 0, reported.stderr[-2000:]
            assert json.loads(reported.stdout)["kind"] == "report"
            assert psutil.pid_exists(redis_pid), "a second process killed the eval's Redis"

            cancelled = _cli(env, "run", "cancel", run_id)
            assert cancelled.returncode == 0, cancelled.stderr[-2000:]
            assert int((data / "redis" / "redis.pid").read_text()) == redis_pid

            out, err = first.communicate(timeout=300)
        finally:
            if first.poll() is None:
                first.kill()
                first.communicate()
    outcome = json.loads(out[out.index("{") :])
    assert outcome["status"] == "cancelled", err[-2000:]
    assert "reaping" not in err + listed.stderr + shown.stderr + cancelled.stderr
