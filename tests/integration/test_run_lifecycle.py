"""What becomes of a run when something around it fails: its scheduler dies, a batch raises,
its budget runs out. Real Ray, Redis, DB file and a simulator over HTTP."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import ray

from actors.naming import scheduler_name
from domain.evaluation.failure import INTERNAL
from engine.cli.demo_data import MODELS, PROMPT_NAME, V1, demo_cases
from engine.llm import simulator_catalogue
from engine.simulator import Simulator, SimulatorConfig, running_simulator

pytestmark = pytest.mark.integration
LEAKS = ("Traceback", 'File "', "pid=", "ip=", "\n")


@pytest.fixture(scope="module")
def sim() -> Iterator[Simulator]:
    with running_simulator(SimulatorConfig(latency_ms=15, seed=23)) as simulator:
        yield simulator


def _lifecycle_engine(sim: Simulator, **settings: Any) -> Any:
    from engine import Engine

    eng = Engine(**settings)
    eng.use_catalogue(simulator_catalogue(sim.api_base, max_concurrency=256, name="lifecycle"))
    eng.prompts.create(PROMPT_NAME, V1["template"], message=V1["message"])
    eng.datasets.create("demo")
    eng.datasets.add("demo", demo_cases(50))
    return eng


@pytest.fixture(scope="module")
def ray_engine(
    ray_cluster: dict[str, Any],
    redis_url: str,
    sim: Simulator,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Any]:
    eng = _lifecycle_engine(sim, data_dir=tmp_path_factory.mktemp("lifecycle"), redis_url=redis_url)
    yield eng
    eng.close()


@pytest.fixture(scope="module")
def inline_engine(sim: Simulator, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    # Its own (embedded) Redis: recorders sharing one Redis share its watched runs.
    eng = _lifecycle_engine(sim, data_dir=tmp_path_factory.mktemp("inline"), executor="inline")
    yield eng
    eng.close()


@pytest.fixture(params=["ray", "inline"])
def engine(request: pytest.FixtureRequest) -> Any:
    """Both executors keep every rule of a run's life that is not about Ray's workers."""
    return request.getfixturevalue(f"{request.param}_engine")


def _requests(sim: Simulator) -> int:
    return int(httpx.get(f"{sim.url}/stats").json()["requests_total"])


def _wait_recorded(engine: Any, run_id: str, at_least: int, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while engine.evaluations.runs.recorded_count(run_id) < at_least:
        assert time.monotonic() < deadline, f"fewer than {at_least} cells recorded"
        time.sleep(0.05)


@pytest.mark.slow
def test_a_killed_scheduler_continues_its_run_with_no_cell_asked_twice(
    ray_engine: Any, sim: Simulator
) -> None:
    engine = ray_engine
    httpx.post(f"{sim.url}/stats/reset")
    run = engine.evaluate(
        prompt=PROMPT_NAME,
        dataset="demo",
        models=list(MODELS),
        scorers=["icontains"],
        repeats=4,
        seed=61,
        cache=False,
        concurrency=16,
    )
    _wait_recorded(engine, run.id, 40)
    ray.kill(
        ray.get_actor(scheduler_name(engine.settings.effective_database_url)), no_restart=False
    )
    info = run.wait(progress=False, timeout=120)
    assert info.status.value == "completed", info.error
    assert engine.evaluations.runs.recorded_count(run.id) == info.total_cells == 400
    # One provider request per cell: none of the cells in flight at the kill was asked again.
    assert _requests(sim) == 400, httpx.get(f"{sim.url}/stats").json()
    started = [e for _, e in run.events() if e["type"] == "started"]
    assert len(started) == 2 and started[-1]["resumed"] >= 40


def test_a_batch_that_raises_fails_the_run_with_a_code_and_a_sentence(engine: Any) -> None:
    from domain.scoring import CustomScorer

    class Explodes(CustomScorer):  # a bug in the cell pipeline, past the scorer's guard
        def score(self, ctx: Any) -> Any:
            raise ValueError(f"crashed reading /home/alice/secret.txt on {ctx.output!r}")

    run = engine.evaluate(
        prompt=PROMPT_NAME,
        dataset="demo",
        models=["openai/sim-small"],
        scorers=[Explodes(lambda ctx: True, "explodes", 1.0, 1.0)],
        seed=62,
        concurrency=4,
    )
    info = run.wait(progress=False, timeout=60)
    assert info.status.value == "failed"
    assert info.error is not None and info.error.startswith("internal: ")
    assert "ValueError" in info.error and info.error != INTERNAL
    assert not any(leak in info.error for leak in LEAKS), info.error
    assert "/home/alice" not in info.error


def test_a_run_stopped_at_its_budget_counts_the_cells_left_and_resumes_with_a_higher_cap(
    engine: Any,
) -> None:
    run = engine.evaluate(
        prompt=PROMPT_NAME,
        dataset="demo",
        models=["openai/sim-large"],
        scorers=["icontains"],
        repeats=2,
        seed=63,
        cache=False,
        budget=0.005,
        concurrency=4,
        params={"max_tokens": 32},
    )
    stopped = run.wait(progress=False, timeout=120)
    recorded = engine.evaluations.runs.recorded_count(run.id)
    assert stopped.status.value == "budget-exceeded"
    assert 0 < recorded < 100
    assert stopped.over_budget_cells == 100 - recorded
    assert stopped.error is not None and f"{100 - recorded} of 100 cells" in stopped.error
    final = [e for _, e in run.events() if e.get("final")][-1]
    assert final["over_budget"] == stopped.over_budget_cells

    finished = run.resume(budget=1.0).wait(progress=False, timeout=120)
    assert finished.status.value == "completed", finished.error
    assert finished.spec.budget_usd == 1.0 and finished.over_budget_cells == 0
    assert engine.evaluations.runs.recorded_count(run.id) == 100
    spent = sum(r.cost_usd or 0.0 for r in run.records())
    assert 0.005 < spent <= 1.0


def test_a_budget_on_resume_must_be_a_positive_amount(engine: Any) -> None:
    from domain.errors import ValidationError

    run = engine.evaluations.runs.list_runs(engine.owner, limit=1)[0]
    with pytest.raises(ValidationError, match="positive"):
        engine.resume(run.id, budget=-1.0)


def test_a_run_stopped_at_its_budget_spent_close_to_it_and_says_so(engine: Any) -> None:
    # No max_tokens: the forecast must come from the completions the run has seen. Bounds:
    # a call is admitted only while spent + reserved + its forecast fit under the cap, and the
    # run stops only when a forecast no longer fits next to what is *spent* (calls in flight
    # are waited for, not refused), so spent >= cap - one forecast; each of the `concurrency`
    # calls in flight may cost more than it reserved, by at most one cell's cost.
    cap, concurrency = 0.02, 16
    run = engine.evaluate(
        prompt=PROMPT_NAME,
        dataset="demo",
        models=["openai/sim-large"],
        scorers=["icontains"],
        repeats=4,
        seed=64,
        cache=False,
        budget=cap,
        concurrency=concurrency,
    )
    info = run.wait(progress=False, timeout=120)
    records = run.records()
    spent = sum(r.cost_usd or 0.0 for r in records)
    most = max(r.cost_usd or 0.0 for r in records)
    assert info.status.value == "budget-exceeded", info.error
    assert 0.8 * cap <= spent <= cap + concurrency * most, (spent, len(records))
    left = 200 - len(records)
    assert info.error is not None and info.error.startswith(
        f"budget-exceeded: stopped at the budget: spent ${spent:.4f} of $0.02; "
        f"{left} of 200 cells not run; resume with a higher budget: "
        f"autoforge run resume {run.id} --budget "
    ), info.error
    suggested = float(info.error.rsplit(" ", 1)[-1])
    assert suggested >= spent * 200 / len(records)  # enough to finish at the cost so far


def _events(run: Any, kind: str) -> list[dict[str, Any]]:
    return [e for _, e in run.events() if e["type"] == kind]


def test_a_resume_keeps_the_runs_concurrency_and_counts_cost_from_what_it_spent(
    engine: Any, sim: Simulator
) -> None:
    run = engine.evaluate(
        prompt=PROMPT_NAME,
        dataset="demo",
        models=["openai/sim-large"],
        scorers=["icontains"],
        repeats=2,
        seed=65,
        cache=False,
        budget=0.003,
        concurrency=2,
        params={"max_tokens": 32},
    )
    assert run.wait(progress=False, timeout=120).status.value == "budget-exceeded"
    spent = sum(r.cost_usd or 0.0 for r in run.records())

    httpx.post(f"{sim.url}/stats/reset")
    again = run.resume(budget=0.006).wait(progress=False, timeout=120)
    assert httpx.get(f"{sim.url}/stats").json()["max_in_flight"] <= 2
    resumed = _events(run, "started")[-1]
    assert resumed["cost_usd"] == pytest.approx(spent) and resumed["concurrency"] == 2
    assert again.status.value == "budget-exceeded" and again.spec.concurrency == 2
    final = [e for _, e in run.events() if e.get("final")][-1]
    assert final["cost_usd"] == pytest.approx(sum(r.cost_usd or 0.0 for r in run.records()))

    done = run.resume(budget=1.0, concurrency=8).wait(progress=False, timeout=120)
    assert done.status.value == "completed" and done.spec.concurrency == 8
    assert _events(run, "started")[-1]["concurrency"] == 8


def test_one_engine_owns_one_gateway_per_account_that_all_its_evaluators_share(
    ray_engine: Any,
) -> None:
    engine = ray_engine
    from actors.naming import gateway_name
    from engine.ray_runtime import NAMESPACE

    run = engine.evaluate(
        prompt=PROMPT_NAME,
        dataset="demo",
        models=["openai/sim-small"],
        scorers=["icontains"],
        seed=66,
        cache=False,
        concurrency=8,
    )
    assert run.wait(progress=False, timeout=120).status.value == "completed"
    # The one named actor the evaluators' links found is the engine's own, alive with it.
    gateway = ray.get_actor(gateway_name("lifecycle"), namespace=NAMESPACE)
    owned = engine._shared.clients.get("gateway:lifecycle")  # the handle the engine keeps
    assert owned is not None and owned._actor_id == gateway._actor_id
    assert ray.get(gateway.status.remote())["account"] == "lifecycle"
