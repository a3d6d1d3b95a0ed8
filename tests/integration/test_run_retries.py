"""Progress counts retried provider calls (429s, 5xx) as they happen, not only lost batches.
Real Ray, Redis, DB file and a rate-limited simulator over HTTP."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest

from engine.cli.demo_data import PROMPT_NAME, V1, demo_cases
from engine.llm import simulator_catalogue
from engine.simulator import Simulator, SimulatorConfig, running_simulator

pytestmark = [pytest.mark.integration, pytest.mark.slow]
RPM = 20
WINDOW_S = 6.0  # the 429s' retries wait seconds for the window, not a minute


@pytest.fixture(scope="module")
def sim() -> Iterator[Simulator]:
    with running_simulator(SimulatorConfig(rpm=RPM, window_s=WINDOW_S, seed=29)) as simulator:
        yield simulator


@pytest.fixture(scope="module")
def engine(
    ray_cluster: dict[str, Any],
    redis_url: str,
    sim: Simulator,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Any]:
    from engine import Engine

    eng = Engine(data_dir=tmp_path_factory.mktemp("retries"), redis_url=redis_url)
    # Our side knows no limit, so the simulator's window answers 429s.
    eng.use_catalogue(simulator_catalogue(sim.api_base, max_concurrency=64, name="retries"))
    eng.prompts.create(PROMPT_NAME, V1["template"], message=V1["message"])
    eng.datasets.create("demo")
    eng.datasets.add("demo", demo_cases(2 * RPM))
    yield eng
    eng.close()


def test_progress_counts_429_retries_while_they_happen(engine: Any, sim: Simulator) -> None:
    run = engine.evaluate(
        prompt=PROMPT_NAME,
        dataset="demo",
        models=["openai/sim-small"],
        scorers=["icontains"],
        seed=71,
        cache=False,
        concurrency=8,
    )
    seen, last, deadline = 0, "0-0", time.monotonic() + 60
    while not seen:  # the 429s come at once; their retries wait out the simulator's window
        assert time.monotonic() < deadline, "no retry counted while the run waits on 429s"
        events = run.events(last)
        for _, event in events:
            assert not event.get("final"), event
            seen = max(seen, int(event.get("retries", 0)))
        last = events[-1][0] if events else last
    live = run.progress()
    assert live is not None and live["retries"] >= seen > 0 and live["done"] < 2 * RPM

    info = run.wait(progress=False, timeout=180)
    assert info.status.value == "completed", info.error
    final = [e for _, e in run.events() if e.get("final")][-1]
    assert sim.stats()["rate_limited"] > 0
    rows = engine.evaluations.runs.result_rows(engine.owner, run.id)
    assert final["retries"] == sum(row["detail"]["attempts"] - 1 for row in rows)
