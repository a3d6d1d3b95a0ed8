"""A provider gateway lives as long as the engine that needs it: a CLI run on a shared Ray
leaves no gateway behind, while one engine's evaluators share one gateway per account."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import pytest
import ray

from engine.llm import simulator_catalogue
from engine.ray_runtime import NAMESPACE, RAY_AUTH_MODE, current_address
from engine.simulator import SimulatorConfig, running_simulator

pytestmark = [pytest.mark.integration, pytest.mark.slow]

_EVAL = """
name: lifetime
prompt: {name: lifetime-prompt, versions: [{template: "Say {{word}}"}]}
models: [openai/sim-small]
dataset: cases.jsonl
scorers: [{type: icontains, args: {value: "a"}}]
concurrency: 4
cache: false
"""


def _gateway_alive(account: str) -> bool:
    from actors.provider_gateway import gateway_name

    try:
        ray.get_actor(gateway_name(account), namespace=NAMESPACE)
    except ValueError:
        return False
    return True


def test_a_cli_run_on_a_shared_ray_leaves_no_gateway_behind(
    ray_cluster: dict[str, Any], tmp_path: Path
) -> None:
    account = f"life-{uuid.uuid4().hex[:8]}"
    (tmp_path / "eval.yaml").write_text(_EVAL)
    (tmp_path / "cases.jsonl").write_text(
        "".join(json.dumps({"word": f"w{i}a"}) + "\n" for i in range(24))
    )
    env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "RAY_ADDRESS")}
    env.update(AUTOFORGE_DATA_DIR=str(tmp_path / "data"), RAY_ADDRESS=str(current_address()))
    if os.environ.get(RAY_AUTH_MODE):
        env[RAY_AUTH_MODE] = os.environ[RAY_AUTH_MODE]
    with running_simulator(SimulatorConfig(seed=31)) as sim:
        catalogue = tmp_path / "catalogue.json"
        catalogue.write_text(json.dumps(simulator_catalogue(sim.api_base, name=account).to_dict()))
        env["AUTOFORGE_CATALOGUE_PATH"] = str(catalogue)
        done = subprocess.run(
            [sys.executable, "-m", "engine.cli", "eval", str(tmp_path / "eval.yaml"), "--json"],
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert done.returncode == 0, done.stderr[-3000:]
        assert json.loads(done.stdout)["status"] == "completed"
        # One gateway for the whole engine: every request of its evaluators went through it.
        assert sim.stats()["requests_total"] == 24
    deadline = time.monotonic() + 60
    while _gateway_alive(account):  # Ray ends an engine's actors shortly after it exits
        assert time.monotonic() < deadline, f"gateway of {account} outlived the CLI"
        time.sleep(0.2)
