"""What a worked cell records, end to end through the actors: the provider's latency apart
from the waits, and why a failed case failed, with its case."""

from __future__ import annotations

import json
from collections.abc import Iterator
from statistics import median
from typing import Any

import pytest

from engine.cli.demo_data import MODELS, PROMPT_NAME, SCORERS, V1, demo_cases
from engine.llm import simulator_catalogue
from engine.simulator import Simulator, SimulatorConfig, running_simulator

pytestmark = [pytest.mark.integration, pytest.mark.slow]
BASE_LATENCY_MS = 100  # sim-small answers in 0.5×, sim-large in 2×


@pytest.fixture(scope="module")
def slow() -> Iterator[Simulator]:
    with running_simulator(SimulatorConfig(seed=13, latency_ms=BASE_LATENCY_MS)) as simulator:
        yield simulator


@pytest.fixture(scope="module")
def engine(
    ray_cluster: dict[str, Any],
    redis_url: str,
    slow: Simulator,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Any]:
    from engine import Engine

    eng = Engine(data_dir=tmp_path_factory.mktemp("contract"), redis_url=redis_url)
    # Two permits for the account: most cells wait for one.
    eng.use_catalogue(simulator_catalogue(slow.api_base, max_concurrency=2, name="contract"))
    eng.prompts.create(PROMPT_NAME, V1["template"], message=V1["message"])
    eng.datasets.create("demo")
    eng.datasets.add("demo", demo_cases(12))
    yield eng
    eng.close()


def test_cells_record_provider_latency_queue_time_and_why_they_failed(engine: Any) -> None:
    run = engine.evaluate(
        prompt=PROMPT_NAME,
        dataset="demo",
        models=list(MODELS),
        scorers=list(SCORERS),
        seed=3,
        cache=False,
        concurrency=8,
    )
    info = run.wait(progress=False, timeout=180)
    assert info.status.value == "completed", info.error
    records = run.records()
    assert len(records) == 24
    for model, factor in (("openai/sim-small", 0.5), ("openai/sim-large", 2.0)):
        delay = BASE_LATENCY_MS * factor
        latencies = [r.latency_ms for r in records if r.model == model]
        assert all(0.9 * delay <= ms < delay + 150 for ms in latencies), (model, latencies)
        assert median(latencies) < delay + 60
    assert max(r.queue_ms for r in records) >= 2 * BASE_LATENCY_MS  # waits for a permit
    cases = {case["id"]: case for case in demo_cases(12)}
    for record in records:
        case = cases[record.case_id]
        assert (record.variables, record.expected) == (case["vars"], case["expected"])
    failed = [r for r in records if r.passed is False]
    assert failed, "the weak model fails some demo cases"
    assert all("correct" in r.reasons or "concise" in r.reasons for r in failed)
    report = json.loads(run.report("json"))
    assert report["n_failed"] == len(failed)
    assert {(c["case_id"], c["model"]) for c in report["failed_cases"]} == {
        (r.case_id, r.model) for r in failed
    }
    assert "Failed cases" in run.report("markdown")
