"""Engine processes of their own for the tests that kill or stop one: each starts its own
embedded Redis (and Ray, on the Ray executor) on a test's data dir and talks to the
simulator at ``SIM_API_BASE``."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

DEMO_RUN = """
import json, os, signal, sys, time
from engine import Engine
from engine.cli.demo_data import PROMPT_NAME, V1, demo_cases
from engine.llm import simulator_catalogue
with Engine() as engine:
    engine.use_catalogue(simulator_catalogue(os.environ["SIM_API_BASE"]))
    engine.prompts.create(PROMPT_NAME, V1["template"])
    engine.datasets.create("demo")
    engine.datasets.add("demo", demo_cases(50))
    run = engine.evaluate(prompt=PROMPT_NAME, dataset="demo",
                          models=["openai/sim-small", "openai/sim-medium"],
                          scorers=["icontains"], repeats=4, cache=False, concurrency=4)
"""
"""A driver's start: a 400-cell run (2 models x 50 cases x 4 repeats) as ``run``, inside
``with Engine() as engine:``; a test appends what the driver does next, indented 4."""


EXECUTORS = ("inline", "ray")
"""What a driver test runs on: the actors in the driver's process, or as Ray workers."""


def driver_env(data_dir: Path, api_base: str, executor: str = "auto") -> dict[str, str]:
    """This environment for an engine with embedded services on ``data_dir`` whose actors
    run on ``executor`` (`auto`: inline, as nothing else runs)."""
    env = {k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "RAY_ADDRESS")}
    env.update(
        AUTOFORGE_DATA_DIR=str(data_dir), AUTOFORGE_RAY_NUM_CPUS="1", AUTOFORGE_EXECUTOR=executor
    )
    env["SIM_API_BASE"] = api_base
    return env


def run_script(script: str, *args: str, env: dict[str, str], timeout: float) -> Any:
    """Run ``script`` to its end and return the JSON of its last JSON line of output."""
    done = subprocess.run(
        [sys.executable, "-c", script, *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return last_json_line(done.stdout)


def last_json_line(output: str) -> Any:
    """The JSON object on the last line of ``output`` that holds one.

    Ray's raylet may print its own lines to a driver's stdout (e.g. a retried task of a dying
    actor) after the script's answer, so lines that are not a JSON object are passed over.
    """
    answers = [line for line in output.splitlines() if line.startswith("{")]
    assert answers, output[-3000:]
    return json.loads(answers[-1])


_AGENTS = ("ray::DashboardA", "ray::RuntimeEnv", "ray::IDLE")


def wait_until_gone(data_dir: Path, timeout_s: float = 60) -> None:
    """Wait until no process of an engine on ``data_dir`` is left.

    A killed driver's Ray workers outlive it for a moment (they notice their raylet's death
    on their own) and may still call the provider then: a test that counts a later
    process's provider requests starts counting once they are gone. Processes are known by
    the ``AUTOFORGE_DATA_DIR`` they inherited.
    """
    marker = f"AUTOFORGE_DATA_DIR={data_dir}".encode() + b"\0"
    deadline = time.monotonic() + timeout_s
    while True:
        left = []
        for proc in Path("/proc").iterdir():
            if not proc.name.isdigit() or int(proc.name) == os.getpid():
                continue
            try:
                environ = (proc / "environ").read_bytes()
                state = (proc / "stat").read_text().rpartition(")")[2].split()[0]
                name = (proc / "comm").read_text().strip()
            except (OSError, IndexError):  # gone meanwhile, or not ours
                continue
            # A zombie runs nothing, and Ray's node agents never call a provider (one may
            # linger past its node while it times out its own connections).
            if marker in environ and state != "Z" and not name.startswith(_AGENTS):
                left.append(proc.name)
        if not left:
            return
        assert time.monotonic() < deadline, f"processes of {data_dir} still alive: {left}"
        time.sleep(0.05)
