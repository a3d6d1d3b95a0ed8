"""The inline executor: the engine's actors on a loop of its own process, with no Ray.

Real embedded Redis, DB file and the simulator over HTTP; the guarantees every executor
keeps are tested on both in `test_evaluation` and the driver tests."""

from __future__ import annotations

import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest

from domain.errors import ServiceUnavailableError
from engine.cli.demo_data import PROMPT_NAME, V1, demo_cases
from engine.llm import simulator_catalogue
from tests.integration.drivers import driver_env, last_json_line

pytestmark = pytest.mark.integration

_COLD_RUN = """
import json, os, sys
from engine import Engine
from engine.llm import simulator_catalogue
with Engine(simulator=False) as engine:
    engine.use_catalogue(simulator_catalogue(os.environ["SIM_API_BASE"]))
    engine.prompts.create("calc", "What is {{a}} + {{b}}?")
    engine.datasets.create("cases")
    engine.datasets.add("cases", [{"vars": {"a": i, "b": 2}, "expected": str(i + 2)}
                                  for i in range(100)])
    run = engine.evaluate(prompt="calc", dataset="cases", models=["openai/sim-small"],
                          scorers=["contains"], repeats=2, cache=False, concurrency=32)
    info = run.wait(progress=False, timeout=120)
    executor = engine.runtime.executor
    recorded = run.recorded()
print(json.dumps({"status": info.status.value, "recorded": recorded, "executor": executor,
                  "loaded": sorted(m for m in ("ray", "litellm") if m in sys.modules)}))
"""


@pytest.mark.slow
def test_a_cold_run_with_no_cluster_runs_inline_and_loads_neither_ray_nor_litellm(
    tmp_path: Path, simulator: Any
) -> None:
    env = driver_env(tmp_path / "data", simulator.api_base)
    env.pop("AUTOFORGE_EXECUTOR", None)
    done = subprocess.run(
        [sys.executable, "-c", _COLD_RUN], env=env, capture_output=True, text=True, timeout=180
    )
    assert done.returncode == 0, done.stderr[-3000:]
    outcome = last_json_line(done.stdout)
    assert outcome == {"status": "completed", "recorded": 200, "executor": "inline", "loaded": []}


def _inline_engine(data_dir: Path, simulator: Any, **settings: Any) -> Any:
    from engine import Engine

    engine = Engine(data_dir=data_dir, executor="inline", **settings)
    engine.use_catalogue(simulator_catalogue(simulator.api_base, max_concurrency=256))
    return engine


def test_a_guest_of_an_inline_owner_runs_through_the_owners_engine(
    tmp_path: Path, simulator: Any
) -> None:
    from engine import Engine

    owner = _inline_engine(tmp_path / "data", simulator)
    try:
        owner.prompts.create(PROMPT_NAME, V1["template"])
        owner.datasets.create("demo")
        owner.datasets.add("demo", demo_cases(5))
        done = owner.evaluate(prompt=PROMPT_NAME, dataset="demo", models=["openai/sim-small"])
        done.wait(progress=False, timeout=60)
        guest = Engine(data_dir=tmp_path / "data")
        guest.use_catalogue(owner.catalogue)
        try:
            # The owner's control channel works the guest's runs: no executor of its own.
            assert guest.runtime.owner_served is not None and guest.runtime.executor is None
            assert [r.id for r in guest.runs()] == [done.id]
            run = guest.evaluate(
                prompt=PROMPT_NAME, dataset="demo", models=["openai/sim-small"], seed=3
            )
            assert run.wait(progress=False, timeout=60).status.value == "completed"
            assert run.recorded() == 5
            assert guest.evaluations.scheduler().cancel(run.id) is False  # over: nothing to stop
        finally:
            guest.close()
        # The guest stopped nothing of the owner's: it still runs cells.
        again = owner.evaluate(
            prompt=PROMPT_NAME, dataset="demo", models=["openai/sim-small"], seed=4
        )
        assert again.wait(progress=False, timeout=60).status.value == "completed"
    finally:
        owner.close()


def test_a_guest_of_an_owner_that_serves_no_channel_refuses_to_start_runs(
    tmp_path: Path, simulator: Any
) -> None:
    import os

    from engine import Engine
    from engine.runtime import Runtime
    from engine.settings import load_settings

    # A command that only opens the DB and Redis (e.g. `autoforge run list`) owns the dir.
    owner = Runtime(load_settings(data_dir=tmp_path / "data"), start_ray=False).start()
    try:
        guest = Engine(data_dir=tmp_path / "data")
        guest.use_catalogue(simulator_catalogue(simulator.api_base))
        try:
            guest.prompts.create(PROMPT_NAME, V1["template"])
            guest.datasets.create("demo")
            guest.datasets.add("demo", demo_cases(3))
            assert guest.runtime.joined is not None and guest.runtime.executor == "inline"
            with pytest.raises(ServiceUnavailableError) as refused:
                guest.evaluate(prompt=PROMPT_NAME, dataset="demo", models=["openai/sim-small"])
            assert refused.value.details["reason"] == "data-dir-busy"
            assert f"pid {os.getpid()}" in refused.value.message
            assert "autoforge engine start" in refused.value.message
            assert guest.runs() == []  # nothing half-made: no run was stored
        finally:
            guest.close()
    finally:
        owner.stop()


def test_prompt_commands_from_many_threads_are_each_applied_once(
    tmp_path: Path, simulator: Any
) -> None:
    engine = _inline_engine(tmp_path / "data", simulator)
    try:
        engine.prompts.create("shared", "v0 {{x}}")
        errors: list[BaseException] = []

        def commit(thread: int) -> None:
            try:
                for i in range(5):
                    engine.prompts.commit("shared", f"t{thread} c{i} {{{{x}}}}")
            except BaseException as exc:  # collected: the test fails on any of them
                errors.append(exc)

        threads = [threading.Thread(target=commit, args=(t,)) for t in range(6)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
        assert errors == []
        assert len(engine.prompts.log("shared")) == 1 + 6 * 5
    finally:
        engine.close()


def test_evaluators_of_two_runs_share_one_gateway_per_account(tmp_path: Path) -> None:
    """Each evaluator has its own LLM client; the account's limit holds across them."""
    from engine.simulator import SimulatorConfig, running_simulator

    with running_simulator(SimulatorConfig(latency_ms=20, seed=4)) as slow:
        engine = _inline_engine(tmp_path / "data", slow, evaluators=2)
        try:
            engine.use_catalogue(simulator_catalogue(slow.api_base, max_concurrency=8))
            engine.prompts.create(PROMPT_NAME, V1["template"])
            engine.datasets.create("demo")
            engine.datasets.add("demo", demo_cases(40))
            runs = [
                engine.evaluate(
                    prompt=PROMPT_NAME,
                    dataset="demo",
                    models=["openai/sim-small"],
                    repeats=2,
                    seed=seed,
                    cache=False,
                    concurrency=32,
                )
                for seed in (1, 2)
            ]
            infos = [run.wait(progress=False, timeout=120) for run in runs]
            peak = slow.stats()["max_in_flight"]
        finally:
            engine.close()
    assert [info.status.value for info in infos] == ["completed", "completed"]
    assert 4 < peak <= 8
