"""Evaluation runs end to end on real Ray, Redis, DB and the simulator over HTTP.

Every test that is not about Ray's workers runs on both executors: the actors as Ray
workers, and the same actors inline in the engine's process (with its embedded Redis)."""

from __future__ import annotations

import json
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
import ray

from actors.naming import evaluator_name, recorder_name
from domain.errors import ConflictError, NotFoundError, ValidationError
from engine.cli.demo_data import MODELS, PROMPT_NAME, SCORERS, V1, V2, demo_cases
from engine.llm import simulator_catalogue

pytestmark = pytest.mark.integration


def _demo_engine(simulator: Any, **settings: Any) -> Any:
    from engine import Engine

    eng = Engine(**settings)
    eng.use_catalogue(simulator_catalogue(simulator.api_base, max_concurrency=256))
    eng.prompts.create(PROMPT_NAME, V1["template"], message=V1["message"])
    eng.prompts.commit(PROMPT_NAME, V2["template"], system=V2["system"], message=V2["message"])
    eng.datasets.create("demo")
    eng.datasets.add("demo", demo_cases(50))
    return eng


@pytest.fixture(scope="module")
def ray_engine(
    ray_cluster: dict[str, Any],
    redis_url: str,
    simulator: Any,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Any]:
    eng = _demo_engine(simulator, data_dir=tmp_path_factory.mktemp("eval"), redis_url=redis_url)
    assert eng.runtime.executor == "ray"
    yield eng
    eng.close()


@pytest.fixture(scope="module")
def inline_engine(simulator: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    # Its own (embedded) Redis: recorders sharing one Redis share its watched runs.
    eng = _demo_engine(simulator, data_dir=tmp_path_factory.mktemp("inline"), executor="inline")
    yield eng
    eng.close()


@pytest.fixture(params=["ray", "inline"])
def engine(request: pytest.FixtureRequest) -> Any:
    return request.getfixturevalue(f"{request.param}_engine")


def _versions(engine: Any) -> list[str]:
    return [v.id for v in reversed(engine.prompts.log(PROMPT_NAME))]


def _requests(simulator: Any) -> int:
    return int(httpx.get(f"{simulator.url}/stats").json()["requests_total"])


def test_report_numbers_match_an_independent_recount(engine: Any) -> None:
    run = engine.evaluate(
        prompt=PROMPT_NAME,
        dataset="demo",
        models=list(MODELS),
        scorers=list(SCORERS),
        versions=_versions(engine),
        repeats=3,
        seed=11,
    )
    info = run.wait(progress=False, timeout=180)
    assert info.status.value == "completed"
    rows = list(engine.evaluations.runs.result_rows(engine.owner, run.id))
    assert len(rows) == 2 * 2 * 50 * 3
    assert len({(r["prompt_version"], r["model"], r["case_id"], r["repeat"]) for r in rows}) == 600
    groups: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        groups[(row["prompt_version"], row["model"])].append(row)
    report = json.loads(run.report("json"))
    by_group = {(g["prompt_version"], g["model"]): g for g in report["groups"]}
    assert set(by_group) == set(groups)
    for key, cells in groups.items():
        passed = sum(1 for c in cells if c["error"] is None and c["passed"])
        cost = sum(c["cost_usd"] or 0.0 for c in cells)
        mean_correct = sum(c["scores"]["correct"] for c in cells) / len(cells)
        graded = [c for c in cells if c["error"] is not None or c["passed"] is not None]
        latencies = [c["latency_ms"] for c in cells if c["latency_ms"] is not None]
        group = by_group[key]
        assert group["n_cells"] == len(cells) == 150
        assert group["n_passed"] == passed
        assert group["pass_rate"] == pytest.approx(passed / len(graded))
        assert group["latency_p50_ms"] == pytest.approx(float(np.percentile(latencies, 50)))
        assert group["latency_p95_ms"] == pytest.approx(float(np.percentile(latencies, 95)))
        assert group["prompt_tokens"] == sum(c["prompt_tokens"] for c in cells)
        assert group["cost_usd"] == pytest.approx(cost)
        assert group["mean_scores"]["correct"] == pytest.approx(mean_correct)
    # The better prompt really is better for the weak model.
    v1, v2 = _versions(engine)
    small = "openai/sim-small"
    assert by_group[(v2, small)]["pass_rate"] > by_group[(v1, small)]["pass_rate"]


@pytest.mark.parametrize(
    ("overrides", "error", "fragment"),
    [
        ({"versions": ["0" * 64]}, NotFoundError, ""),
        ({"scorers": [{"type": "no-such-scorer"}]}, ValidationError, "unknown scorer"),
        ({"scorers": [{"type": "regex", "args": {"pattern": "("}}]}, ValidationError, "("),
        ({"budget": 0.0}, ValidationError, "budget"),
        ({"budget": -1.0}, ValidationError, "budget"),
        (
            {"scorers": [{"type": "json-schema", "args": {"schema": {"type": 12}}}]},
            ValidationError,
            "schema",
        ),
        ({"models": ["openai/not-in-catalogue"]}, ValidationError, "unknown model"),
        ({"dataset": "no-such-dataset"}, NotFoundError, "not found"),
    ],
)
def test_bad_input_fails_before_any_provider_call(
    engine: Any, simulator: Any, overrides: dict[str, Any], error: type[Exception], fragment: str
) -> None:
    before = _requests(simulator)
    runs_before = len(engine.evaluations.runs.list_runs(engine.owner, limit=1000))
    kwargs: dict[str, Any] = {
        "prompt": PROMPT_NAME,
        "dataset": "demo",
        "models": ["openai/sim-small"],
        "scorers": ["icontains"],
    }
    kwargs.update(overrides)
    with pytest.raises(error) as caught:
        engine.evaluate(**kwargs)
    assert fragment in str(caught.value)
    assert _requests(simulator) == before
    assert len(engine.evaluations.runs.list_runs(engine.owner, limit=1000)) == runs_before


def test_empty_dataset_is_refused(engine: Any) -> None:
    engine.datasets.create("empty")
    with pytest.raises(ValidationError, match="empty"):
        engine.evaluate(prompt=PROMPT_NAME, dataset="empty", models=["openai/sim-small"])


def _wait_recorded(engine: Any, run_id: str, at_least: int, timeout: float = 60) -> int:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        count = engine.evaluations.runs.recorded_count(run_id)
        if count >= at_least:
            return count
        time.sleep(0.05)
    raise AssertionError(f"only {count} cells recorded")


def _use_session_simulator(engine: Any, simulator: Any) -> None:
    engine.use_catalogue(simulator_catalogue(simulator.api_base, max_concurrency=256))


def _kill_mid_run(engine: Any, seed: int, actor: Callable[[str], str]) -> tuple[Any, Any]:
    """Start an 800-cell run, kill the actor ``actor`` names for the engine's database once
    40 cells are recorded, and wait for the run to stop; returns the run and its final info."""
    run = engine.evaluate(
        prompt=PROMPT_NAME,
        dataset="demo",
        models=list(MODELS),
        scorers=["icontains"],
        versions=_versions(engine),
        repeats=4,
        seed=seed,
        cache=False,
        concurrency=16,
    )
    _wait_recorded(engine, run.id, 40)
    ray.kill(ray.get_actor(actor(engine.settings.effective_database_url)), no_restart=False)
    return run, run.wait(progress=False, timeout=180)


def test_killing_an_evaluator_mid_run_records_every_cell_once(ray_engine: Any) -> None:
    engine = ray_engine
    run, info = _kill_mid_run(engine, 21, lambda url: evaluator_name(url, 0))
    assert info.status.value == "completed"
    assert engine.evaluations.runs.recorded_count(run.id) == 800
    kinds = [e["type"] for _, e in run.events()]
    assert "retrying" in kinds


def test_killing_the_recorder_mid_run_reclaims_its_entries(ray_engine: Any) -> None:
    engine = ray_engine
    run, info = _kill_mid_run(engine, 31, recorder_name)
    assert info.status.value == "completed"
    assert engine.evaluations.runs.recorded_count(run.id) == 800


def test_rerunning_an_unchanged_evaluation_makes_no_provider_call(
    engine: Any, simulator: Any
) -> None:
    kwargs: dict[str, Any] = {
        "prompt": PROMPT_NAME,
        "dataset": "demo",
        "models": ["openai/sim-medium"],
        "scorers": ["icontains"],
        "seed": 5,
    }
    engine.evaluate(**kwargs).wait(progress=False, timeout=120)
    before = _requests(simulator)
    second = engine.evaluate(**kwargs)
    second.wait(progress=False, timeout=120)
    assert _requests(simulator) == before
    assert all(r.cached for r in second.records())


def test_budget_stops_a_run_at_its_cap(engine: Any) -> None:
    run = engine.evaluate(
        prompt=PROMPT_NAME,
        dataset="demo",
        models=["openai/sim-large"],
        scorers=["icontains"],
        repeats=3,
        seed=41,
        cache=False,
        budget=0.01,
        concurrency=4,
        params={"max_tokens": 32},  # the forecast reserves max_tokens of output per call
    )
    info = run.wait(progress=False, timeout=120)
    assert info.status.value == "budget-exceeded"
    spent = sum(r.cost_usd or 0.0 for r in run.records())
    assert 0 < spent <= 0.01
    assert len(run.records()) < 150


def test_cancel_stops_dispatching(engine: Any) -> None:
    run = engine.evaluate(
        prompt=PROMPT_NAME,
        dataset="demo",
        models=list(MODELS),
        scorers=["icontains"],
        versions=_versions(engine),
        repeats=10,
        seed=51,
        cache=False,
        concurrency=4,
    )
    _wait_recorded(engine, run.id, 8)
    run.cancel()
    info = run.wait(progress=False, timeout=60)
    assert info.status.value == "cancelled"
    recorded = engine.evaluations.runs.recorded_count(run.id)
    assert recorded < 2000
    resumed = run.resume(concurrency=64)
    assert resumed.wait(progress=False, timeout=240).status.value == "completed"
    assert engine.evaluations.runs.recorded_count(run.id) == 2000


def test_runs_and_datasets_are_owner_scoped(engine: Any) -> None:
    other = engine.as_owner("someone-else")
    with pytest.raises(NotFoundError):
        other.datasets.get("demo")
    mine = engine.evaluations.runs.list_runs(engine.owner, limit=1)
    assert mine
    with pytest.raises(NotFoundError):
        other.run(mine[0].id)


def test_an_owner_view_builds_its_own_services(engine: Any) -> None:
    from functools import cached_property

    from engine.sdk import Engine

    alice = engine.as_owner("alice-view")
    services = [n for n, v in vars(Engine).items() if isinstance(v, cached_property)]
    assert {"prompts", "datasets", "evaluations"} <= set(services)
    for name in services:
        getattr(alice, name)  # every service of alice's view is built and cached
    bob = alice.as_owner("bob-view")
    assert not set(services) & set(vars(bob))  # nothing of alice's view carries over
    assert bob.prompts.owner == bob.datasets.owner == bob.evaluations.owner == "bob-view"
    assert bob.evaluations.prompts.owner == "bob-view"
    assert bob.catalogue is engine.catalogue  # what is shared stays shared
    assert [r.id for r in engine.runs(limit=5)] == [
        r.id for r in engine.evaluations.runs.list_runs(engine.owner, limit=5)
    ]
    assert bob.runs() == []


def test_html_report_is_self_contained(engine: Any, tmp_path: Path) -> None:
    run = engine.evaluations.runs.list_runs(engine.owner, limit=50)[-1]
    path = engine.run(run.id).save_report(tmp_path / "r.html")
    html = path.read_text()
    assert html.startswith("<!DOCTYPE html") or html.lower().startswith("<!doctype html")
    assert "<script src" not in html and "<svg" in html


def test_a_real_model_without_its_api_key_is_refused_before_any_call(
    engine: Any, simulator: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from engine.llm import default_catalogue

    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    previous = engine.catalogue
    engine.use_catalogue(default_catalogue(simulator.api_base))
    try:
        before = _requests(simulator)
        with pytest.raises(ValidationError, match="OPENAI_API_KEY"):
            engine.evaluate(prompt=PROMPT_NAME, dataset="demo", models=["openai/gpt-4o-mini"])
        assert _requests(simulator) == before
    finally:
        engine.use_catalogue(previous)


def test_an_idempotency_key_returns_the_same_run_and_refuses_another_request(
    engine: Any,
) -> None:
    from domain.errors import ConflictError

    kwargs: dict[str, Any] = {
        "prompt": PROMPT_NAME,
        "dataset": "demo",
        "models": ["openai/sim-small"],
        "scorers": ["icontains"],
    }
    first = engine.evaluate(**kwargs, idempotency_key="key-1")
    assert engine.evaluate(**kwargs, idempotency_key="key-1").id == first.id
    with pytest.raises(ConflictError, match="Idempotency-Key"):
        engine.evaluate(**{**kwargs, "repeats": 2}, idempotency_key="key-1")
    first.wait(progress=False, timeout=60)


@pytest.mark.parametrize("concurrency", [32, 6])
def test_a_run_never_has_more_calls_in_flight_than_its_concurrency(
    engine: Any, simulator: Any, concurrency: int
) -> None:
    """32 is over-dispatched (each of Ray's 2 evaluators runs at most 16 at once), 6 is not."""
    from engine.simulator import SimulatorConfig, running_simulator

    with running_simulator(SimulatorConfig(latency_ms=30, seed=concurrency)) as slow:
        engine.use_catalogue(
            simulator_catalogue(slow.api_base, max_concurrency=512, name=f"slow-{concurrency}")
        )
        try:
            run = engine.evaluate(
                prompt=PROMPT_NAME,
                dataset="demo",
                models=["openai/sim-small"],
                scorers=["icontains"],
                repeats=4,
                seed=concurrency,
                cache=False,
                concurrency=concurrency,
            )
            info = run.wait(progress=False, timeout=120)
            peak = slow.stats()["max_in_flight"]
        finally:
            _use_session_simulator(engine, simulator)
    assert info.status.value == "completed"
    assert engine.evaluations.runs.recorded_count(run.id) == 200
    assert concurrency // 2 < peak <= concurrency


def test_refs_a_person_types_pick_versions_and_name_them_in_the_report(engine: Any) -> None:
    engine.prompts.label(PROMPT_NAME, "production", "v2")
    run = engine.evaluate(
        prompt=PROMPT_NAME,
        dataset="demo",
        models=[MODELS[0]],
        scorers=["icontains"],
        versions=["main~1", "production"],
        name="refs check",
        seed=5,
    )
    info = run.wait(progress=False, timeout=180)

    v1, v2 = _versions(engine)
    assert (info.status.value, info.name, info.spec.prompt_versions) == (
        "completed",
        "refs check",
        (v1, v2),
    )
    assert run.version_names() == {v1: "v1", v2: "v2 (production)"}
    report = run.report("markdown")
    assert f"| v1 | {MODELS[0]} |" in report and f"| v2 (production) | {MODELS[0]} |" in report
    with pytest.raises(ConflictError, match=f"run {run.id} is already completed"):
        engine.evaluations.cancel(run.id)


def test_a_routed_run_calls_the_model_its_rule_picks(engine: Any) -> None:
    from domain.llm import cheapest_that_qualifies

    candidates = ["openai/sim-large", "openai/sim-medium"]
    rule = cheapest_that_qualifies([engine.catalogue.model(m) for m in candidates]).name
    assert rule == "openai/sim-medium"
    run = engine.evaluate(
        prompt=PROMPT_NAME,
        dataset="demo",
        models=candidates,
        scorers=["icontains"],
        versions=["v1"],
        routing="cheapest",
        seed=7,
    )
    assert run.wait(progress=False, timeout=180).status.value == "completed"

    rows = list(engine.evaluations.runs.result_rows(engine.owner, run.id))
    assert len(rows) == 50
    assert {r["model"] for r in rows} == {"cheapest(openai/sim-large|openai/sim-medium)"}
    assert {r["detail"]["model_used"] for r in rows} == {rule}
    assert {r["fallback_model"] for r in rows} == {None}
    assert engine.evaluations.runs.get(engine.owner, run.id).spec.routing == "cheapest"


def _pending_runs(engine: Any) -> list[str]:
    runs = engine.evaluations.runs.list_runs(engine.owner, limit=1000)
    return [r.id for r in runs if r.status.value == "pending"]


async def test_evaluate_with_a_budget_works_under_a_running_event_loop(engine: Any) -> None:
    # A notebook cell runs in a thread whose event loop is running: the sync SDK must work.
    run = engine.evaluate(
        prompt=PROMPT_NAME,
        dataset="demo",
        models=["openai/sim-small"],
        scorers=["icontains"],
        seed=43,
        budget=1.0,
    )
    info = run.wait(progress=False, timeout=120)
    assert info.status.value == "completed"
    assert _pending_runs(engine) == []


def test_an_unpicklable_custom_scorer_is_refused_before_the_run_is_recorded(
    engine: Any,
) -> None:
    import threading

    lock = threading.Lock()

    def locked(ctx: Any) -> float:
        with lock:
            return 1.0

    runs_before = len(engine.evaluations.runs.list_runs(engine.owner, limit=1000))
    with pytest.raises(ValidationError, match="cannot be sent"):
        engine.evaluate(
            prompt=PROMPT_NAME, dataset="demo", models=["openai/sim-small"], scorers=[locked]
        )
    assert len(engine.evaluations.runs.list_runs(engine.owner, limit=1000)) == runs_before
    assert _pending_runs(engine) == []


@pytest.mark.slow
def test_a_run_whose_start_fails_is_marked_failed_not_left_pending(
    ray_cluster: dict[str, Any], simulator: Any, tmp_path: Path
) -> None:
    from engine import Engine
    from engine.redis_embedded import EmbeddedRedis

    server = EmbeddedRedis(tmp_path / "redis")
    eng = Engine(data_dir=tmp_path / "data", redis_url=server.start())
    try:
        eng.use_catalogue(simulator_catalogue(simulator.api_base, name="start-fails"))
        eng.prompts.create(PROMPT_NAME, V1["template"])
        eng.datasets.create("demo")
        eng.datasets.add("demo", demo_cases(3))
        server.stop()  # Redis goes between validation and the start, where the budget is set
        with pytest.raises(Exception, match="(?i)connect"):
            eng.evaluate(
                prompt=PROMPT_NAME, dataset="demo", models=["openai/sim-small"], budget=1.0
            )
        runs = eng.evaluations.runs.list_runs(eng.owner)
        assert [r.status.value for r in runs] == ["failed"]
        assert runs[0].error is not None and runs[0].error.startswith("internal:")
    finally:
        eng.close()


def test_cases_bring_their_own_scorers_negation_and_threshold(inline_engine: Any) -> None:
    engine = inline_engine
    anything = {"type": "regex", "args": {"pattern": "."}, "name": "says-something"}
    judge = {
        "type": "llm-judge",
        "args": {"model": "openai/sim-judge", "rubric": "The answer is a number."},
    }
    cases = [
        {"id": "own-pass", "vars": {"question": "What is 2 + 2?"}, "scorers": [anything]},
        {
            "id": "own-negated",
            "vars": {"question": "What is 3 + 3?"},
            "scorers": [{**anything, "negate": True, "name": "silent"}],
        },
        {
            # One of two equal-weight scorers fails: 0.5 reaches the case's threshold.
            "id": "own-threshold",
            "vars": {"question": "What is 4 + 4?"},
            "scorers": [anything, {**anything, "negate": True, "name": "silent"}],
            "threshold": 0.5,
        },
        {"id": "own-judged", "vars": {"question": "What is 5 + 5?"}, "scorers": [judge]},
        {"id": "run-only", "vars": {"question": "What is 6 + 6?"}, "expected": "12"},
    ]
    engine.datasets.create("own-scorers")
    engine.datasets.add("own-scorers", cases)
    with pytest.raises(ValidationError) as clash:
        engine.evaluate(
            prompt=PROMPT_NAME,
            dataset="own-scorers",
            models=["openai/sim-large"],
            scorers=[{"type": "numeric", "name": "says-something"}],
        )
    assert clash.value.details["reason"] == "scorer-name-clash"
    run = engine.evaluate(
        prompt=PROMPT_NAME,
        dataset="own-scorers",
        models=["openai/sim-large"],
        scorers=[{"type": "numeric", "name": "correct"}],
    )
    assert run.wait(progress=False, timeout=120).status.value == "completed"
    rows = {r["case_id"]: r for r in engine.evaluations.runs.result_rows(engine.owner, run.id)}
    assert set(rows["own-pass"]["scores"]) == {"correct", "says-something"}
    assert rows["own-pass"]["scores"]["says-something"] == 1.0
    assert rows["own-negated"]["scores"]["silent"] == 0.0
    assert rows["own-negated"]["passed"] is False
    assert "negated:" in rows["own-negated"]["detail"]["reasons"]["silent"]
    threshold = rows["own-threshold"]
    assert threshold["scores"]["says-something"] == 1.0 and threshold["scores"]["silent"] == 0.0
    # The run's `correct` (no expected answer: fails) weighs too: (0 + 1 + 0) / 3 < 0.5.
    assert threshold["score"] == pytest.approx(1 / 3)
    assert threshold["passed"] is False
    assert "llm-judge" in rows["own-judged"]["scores"]
    assert set(rows["run-only"]["scores"]) == {"correct"}
