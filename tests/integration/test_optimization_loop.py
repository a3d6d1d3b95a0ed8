"""The optimization loop end to end: real simulator over HTTP, embedded Redis, a DB file and
the inline executor. Evaluations are engine runs; nothing of ours is mocked. The strategies
defined here are test strategies (the loop's seam), not stand-ins for our parts."""

from __future__ import annotations

import random
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import httpx
import pytest

from domain.errors import ConflictError, ValidationError
from domain.optimization.strategy import CandidateView, CaseEvidence, Content, Proposal
from engine.llm import simulator_catalogue

pytestmark = pytest.mark.integration

PROMPT = "calc"
TEMPLATE = "What is {{a}} + {{b}}?"
BARE = "Answer with only the number."


def _cases(n: int) -> list[dict[str, Any]]:
    return [{"vars": {"a": i, "b": 2 * i + 1}, "expected": str(3 * i + 1)} for i in range(n)]


def _engine(data_dir: Path, api_base: str) -> Any:
    from engine import Engine

    engine = Engine(data_dir=data_dir, executor="inline")
    engine.use_catalogue(simulator_catalogue(api_base, max_concurrency=64))
    return engine


def _seeded(engine: Any, n: int = 24) -> None:
    engine.prompts.create(PROMPT, TEMPLATE)
    engine.datasets.create("sums")
    engine.datasets.add("sums", _cases(n))


@pytest.fixture(scope="module")
def engine(simulator: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    eng = _engine(tmp_path_factory.mktemp("opt"), simulator.api_base)
    _seeded(eng)
    yield eng
    eng.close()


def _stats(sim: Any) -> dict[str, Any]:
    return dict(httpx.get(f"{sim.url}/stats").json())


def _normalized(history: Sequence[dict[str, Any]]) -> list[tuple[Any, ...]]:
    """What must repeat for a seed: the steps, contents and scores (not ids or times)."""
    out = []
    for e in history:
        out.append(
            (
                e["type"],
                e.get("key"),
                e.get("candidate"),
                e.get("phase"),
                tuple(sorted((e.get("scores") or {}).items())),
                e.get("system"),
                e.get("template"),
                tuple(e.get("minibatch") or ()),
                e.get("cells"),
            )
        )
    return out


# -- cases= on runs -------------------------------------------------------------------------


def test_a_run_over_a_subset_of_cases_works_only_those(engine: Any) -> None:
    ids = [c.id for c in engine.datasets.cases("sums")]
    run = engine.evaluate(
        prompt=PROMPT,
        dataset="sums",
        models=["openai/sim-small"],
        scorers=["contains"],
        cases=[ids[5], ids[1]],
    )
    info = run.wait(progress=False, timeout=60)
    assert info.status.value == "completed"
    assert info.spec.case_ids == (ids[1], ids[5])  # in dataset order
    assert sorted(r.case_id for r in run.records()) == sorted([ids[1], ids[5]])


def test_an_unknown_case_id_is_refused_before_anything_is_stored(engine: Any) -> None:
    before = len(engine.runs(limit=500))
    with pytest.raises(ValidationError) as caught:
        engine.evaluate(
            prompt=PROMPT,
            dataset="sums",
            models=["openai/sim-small"],
            scorers=["contains"],
            cases=["no-such-case"],
        )
    assert caught.value.details["reason"] == "unknown-case"
    assert len(engine.runs(limit=500)) == before


# -- bad input ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"scorers": []}, "no-scorer"),
        ({"split": (0.9, 0.05, 0.05)}, "split-too-small"),
        ({"split": (0.5, 0.2, 0.2)}, "split-too-small"),
        ({"models": ["openai/sim-nope"]}, "unknown-model"),
        ({"optimizer": "gepa", "reflection_model": "openai/no-reflector"}, "unknown-model"),
        (
            {
                "optimizer": "gepa",
                "models": ["openai/sim-small"],
                "reflection_model": None,
                "_real": True,
            },
            "no-reflection-model",
        ),
        ({"budget": 0}, "invalid-budget"),
        ({"budget": -2.0}, "invalid-budget"),
        ({"max_metric_calls": 0}, "invalid-max-metric-calls"),
        ({"patience": 0}, "invalid-patience"),
        ({"optimizer": "annealing"}, "unknown-optimizer"),
    ],
)
def test_bad_input_is_refused_before_any_call_or_write(
    engine: Any, simulator: Any, strategies: None, changes: dict[str, Any], reason: str
) -> None:
    kwargs: dict[str, Any] = {
        "models": ["openai/sim-small"],
        "scorers": ["contains"],
        "optimizer": "random",
        "max_metric_calls": 50,
    }
    real = changes.pop("_real", False)
    kwargs.update(changes)
    if real:  # a model that is not simulated needs a reflection model named
        engine.use_catalogue(_with_real_model(simulator.api_base))
        kwargs["models"] = ["openai/real-small"]
    requests = _stats(simulator)["requests_total"]
    before = len(engine.optimizations(limit=500))
    branches = set(engine.prompts.get(PROMPT).branches)
    try:
        with pytest.raises(ValidationError) as caught:
            engine.optimize(PROMPT, "sums", **kwargs)
    finally:
        engine.use_catalogue(simulator_catalogue(simulator.api_base, max_concurrency=64))
    assert caught.value.details["reason"] == reason, caught.value
    assert len(engine.optimizations(limit=500)) == before
    assert set(engine.prompts.get(PROMPT).branches) == branches
    assert _stats(simulator)["requests_total"] == requests


def _with_real_model(api_base: str) -> Any:
    from domain.llm import Catalogue

    data = simulator_catalogue(api_base).to_dict()
    model = dict(data["models"][0])
    model["name"] = "openai/real-small"
    data["models"] = [*data["models"], model]
    return Catalogue.from_dict(data)


def test_a_chat_template_of_another_shape_is_unsupported(engine: Any) -> None:
    engine.prompts.create(
        "three-turns",
        [
            {"role": "user", "content": "hi"},
            {"role": "assistant", "content": "yes?"},
            {"role": "user", "content": TEMPLATE},
        ],
    )
    with pytest.raises(ValidationError) as caught:
        engine.optimize(
            "three-turns", "sums", ["openai/sim-small"], ["contains"], optimizer="random"
        )
    assert caught.value.details["reason"] == "unsupported-template"


def test_another_owners_optimization_is_not_found(engine: Any) -> None:
    from domain.errors import NotFoundError

    opt = engine.optimize(
        PROMPT,
        "sums",
        ["openai/sim-small"],
        ["contains"],
        optimizer="random",
        max_metric_calls=12,
        minibatch=2,
        seed=9,
    )
    opt.wait(progress=False, timeout=120)
    with pytest.raises(NotFoundError):
        engine.as_owner("mallory").optimization(opt.id)
    assert engine.as_owner("mallory").optimizations() == []
    assert opt.id in [o.id for o in engine.optimizations()]


def test_code_assertions_optimize_only_when_the_caller_allows_code(engine: Any) -> None:
    from domain.errors import CodeNotAllowedError

    # Passes when the answer holds the expected number: the program sees the case's context.
    check = {
        "type": "python",
        "args": {"expression": "context['expected'] in output"},
        "name": "holds-answer",
    }
    before = len(engine.optimizations(limit=500))
    with pytest.raises(CodeNotAllowedError):
        engine.optimize(PROMPT, "sums", ["openai/sim-small"], [check], optimizer="random")
    assert len(engine.optimizations(limit=500)) == before  # refused before anything is stored
    opt = engine.optimize(
        PROMPT,
        "sums",
        ["openai/sim-small"],
        [check],
        optimizer="random",
        max_metric_calls=12,
        minibatch=2,
        seed=9,
        allow_code=True,
    )
    info = opt.wait(progress=False, timeout=120)
    assert info.status == "completed", info.error
    runs = [r for r in engine.runs(limit=500) if r.name.startswith(opt.id)]
    assert runs and all(r.spec.allow_code for r in runs)
    records = [rec for r in runs for rec in engine.run(r.id).records()]
    assert records and all(rec.error is None for rec in records)
    assert {name for rec in records for name in rec.scores} == {"holds-answer"}


# -- the random optimizer end to end ----------------------------------------------------------


def _random(engine: Any, **changes: Any) -> Any:
    kwargs: dict[str, Any] = {
        "optimizer": "random",
        "max_metric_calls": 60,
        "minibatch": 4,
        "concurrency": 8,
        "seed": 3,
    }
    kwargs.update(changes)
    return engine.optimize(PROMPT, "sums", ["openai/sim-small"], ["contains"], **kwargs)


@pytest.mark.slow
def test_the_random_optimizer_end_to_end(engine: Any, simulator: Any, tmp_path: Path) -> None:
    opt = _random(engine, idempotency_key="rand-e2e")
    assert _random(engine, idempotency_key="rand-e2e").id == opt.id  # idempotent
    info = opt.wait(progress=False, timeout=240)
    assert info.status == "completed", info.error
    assert 0 < info.calls <= 60
    assert info.branch == f"opt/{opt.id}"
    candidates = opt.candidates
    assert candidates[0].kind == "baseline" and candidates[0].version == info.baseline_version
    assert len(candidates) == info.candidates >= 2
    # Every candidate is a version on the branch, its message holds rationale, parent, scores.
    log = {v.id: v for v in engine.prompts.log(PROMPT, info.branch, limit=500)}
    for candidate in candidates[1:]:
        message = log[candidate.version].message
        assert candidate.rationale.split(":")[0] in message
        assert f"Parent: {candidate.parent_ids[0]}" in message
        assert "Parent minibatch score:" in message
        assert candidate.template == TEMPLATE
    best = opt.best
    assert best is not None and best.id == info.best_candidate
    assert engine.prompts.show(PROMPT, f"opt/{opt.id}/best").id == best.version
    assert {c.id for c in opt.front} <= {c.id for c in candidates}
    # The loop's bookkeeping agrees with an independent recount of the runs' cells.
    runs = [r for r in engine.runs(limit=500) if r.name.startswith(opt.id)]
    counted = sum(engine.run(r.id).recorded() for r in runs if not r.name.endswith(" test"))
    assert counted == info.calls  # no reflection, no judges
    assert info.test_calls == sum(
        engine.run(r.id).recorded() for r in runs if r.name.endswith(" test")
    )
    data = opt.report_data()
    assert data["optimization"]["id"] == opt.id
    assert data["front"] == [c.id for c in opt.front]
    assert data["test"] is not None and data["test"]["n"] == len(data["test"]["cases"])
    assert data["trajectory"][0]["candidate"] == "c0"
    kinds = [e["type"] for e in opt.history]
    assert kinds[0] == "started" and kinds[-1] == "finished"
    events = opt.events()
    assert events and events[-1][1]["type"] == "finished"
    assert {"calls", "max_metric_calls", "best_score", "front_size", "cost_usd", "status"} <= set(
        events[-1][1]
    )
    # The same seed in another engine (its own Redis: no shared cache) walks the same path.
    other = _engine(tmp_path / "again", simulator.api_base)
    try:
        _seeded(other)
        again = _random(other)
        assert again.wait(progress=False, timeout=240).status == "completed"
        assert _normalized(again.history) == _normalized(opt.history)
        different = _random(other, seed=4)
        assert different.wait(progress=False, timeout=240).status == "completed"
        assert _normalized(different.history) != _normalized(opt.history)
    finally:
        other.close()


# -- a reflecting test strategy: calls and budget ---------------------------------------------


class AskingStrategy:
    """Asks the reflection model for each proposal and appends a seeded generic phrase."""

    name = "asking"
    PHRASES = ("Be exact.", "Check the sum.", "Read twice.", "Be brief.", "Stay calm.")

    def ask(
        self, parent: CandidateView, evidence: Sequence[CaseEvidence], rng: random.Random
    ) -> list[dict[str, str]]:
        shown = "; ".join(f"{e.variables} -> {e.output}" for e in evidence)
        return [{"role": "user", "content": f"Improve: {parent.content.system} {shown}"}]

    def propose(
        self,
        parent: CandidateView,
        evidence: Sequence[CaseEvidence],
        reply: str | None,
        rng: random.Random,
    ) -> Proposal | None:
        assert reply is not None  # the loop sent our request and handed back the answer
        system = f"{parent.content.system} {rng.choice(self.PHRASES)}".strip()
        return Proposal(Content(system, parent.content.template), f"asked: {reply[:20]}")

    def merge(self, a: Any, b: Any, ancestor: Any, rng: random.Random) -> None:
        return None


class PerfectStrategy(AskingStrategy):
    """Proposes the instruction the simulator's arithmetic needs to pass ``equals``."""

    def propose(
        self,
        parent: CandidateView,
        evidence: Sequence[CaseEvidence],
        reply: str | None,
        rng: random.Random,
    ) -> Proposal | None:
        if BARE in parent.content.system:
            return None
        return Proposal(Content(BARE, parent.content.template), "ask for the bare number")


class MergingStrategy(AskingStrategy):
    """Children of the baseline only, each with another phrase; a merge joins two."""

    def propose(
        self,
        parent: CandidateView,
        evidence: Sequence[CaseEvidence],
        reply: str | None,
        rng: random.Random,
    ) -> Proposal | None:
        if parent.id != "c0":
            return None
        note = f"Note {rng.randrange(10_000)}."
        return Proposal(Content(f"{BARE} {note}", TEMPLATE), "a phrase")

    def merge(self, a: Any, b: Any, ancestor: Any, rng: random.Random) -> Proposal | None:
        assert ancestor is not None and ancestor.id == "c0"
        system = f"{a.content.system} {b.content.system.split('. ')[-1]}"
        return Proposal(Content(system, a.content.template), f"merge of {a.id} and {b.id}")


@pytest.fixture
def strategies(monkeypatch: pytest.MonkeyPatch) -> None:
    """Load the test strategies for the `gepa` name (as the SDK's loader does)."""
    import engine.sdk.optimizations as sdk

    made = {"asking": AskingStrategy, "perfect": PerfectStrategy, "merging": MergingStrategy}

    def load(name: str, options: Any = None) -> Any:
        return made[dict(options or {}).get("test", "asking")]()

    monkeypatch.setattr(sdk, "load_strategy", load)


@pytest.mark.slow
@pytest.mark.parametrize("limit", ["calls", "budget"])
def test_max_metric_calls_and_budget_hold_with_reflection_calls(
    tmp_path: Path, strategies: None, limit: str
) -> None:
    from engine.simulator import SimulatorConfig, running_simulator

    with running_simulator(SimulatorConfig(seed=11)) as sim:
        eng = _engine(tmp_path, sim.api_base)
        try:
            _seeded(eng, 20)
            httpx.post(f"{sim.url}/stats/reset")
            extra = (
                {"max_metric_calls": 45}
                if limit == "calls"
                else {"max_metric_calls": 10_000, "budget": 0.0004}
            )
            opt = eng.optimize(
                PROMPT,
                "sums",
                ["openai/sim-small"],
                ["contains"],
                optimizer="gepa",
                reflection_model="openai/sim-medium",
                minibatch=2,
                concurrency=4,
                parallel=2,
                seed=1,
                options={"test": "asking"},
                **extra,
            )
            info = opt.wait(progress=False, timeout=240)
            cost = opt.report_data()["cost"]
            by_model = _stats(sim)["by_model"]
        finally:
            eng.close()
    assert info.reflection_calls > 0
    assert by_model.get("sim-medium", 0) <= info.reflection_calls  # cache may answer some
    if limit == "calls":
        assert info.status == "completed", info.error
        assert info.calls <= 45
        assert info.calls + 1 + 2 * 2 + 5 > 45  # it went as far as a next candidate allowed
    else:
        assert info.status == "budget-exceeded", info.error
        # The runs of a step share what is left; only reflection calls may go past it.
        assert cost["candidates"] + cost["judges"] <= 0.0004
        assert info.cost_usd == pytest.approx(cost["candidates"] + cost["reflection"])
        assert info.cost_usd > 0.0004 * 0.5
    cells = sum(v for k, v in by_model.items() if k == "sim-small")
    assert cells <= info.calls - info.reflection_calls + info.test_calls


@pytest.mark.slow
def test_a_wide_generation_evaluates_only_the_new_candidates_the_calls_left_allow(
    tmp_path: Path, strategies: None
) -> None:
    from engine.simulator import SimulatorConfig, running_simulator

    with running_simulator(SimulatorConfig(seed=11)) as sim:
        eng = _engine(tmp_path, sim.api_base)
        try:
            _seeded(eng, 20)
            opt = eng.optimize(
                PROMPT,
                "sums",
                ["openai/sim-small"],
                ["contains"],
                optimizer="gepa",
                reflection_model="openai/sim-medium",
                max_metric_calls=60,
                minibatch=2,
                concurrency=8,
                parallel=8,
                seed=1,
                options={"test": "asking"},
            )
            info = opt.wait(progress=False, timeout=240)
            history = opt.history
            candidates = opt.candidates
        finally:
            eng.close()
    assert info.status == "completed", info.error
    assert info.calls <= 60
    plans = [e for e in history if e["type"] == "generation-planned"]
    assert plans and all(1 <= len(e["slots"]) <= 8 for e in plans)
    assert len(plans[0]["slots"]) == 8  # the first generation is as wide as asked
    over = [e for e in history if e.get("reason") == "over the call limit"]
    assert over, "eight new proposals cannot all be evaluated within 60 calls"
    assert all(e["reflection_calls"] == 1 for e in over)  # the reflection call still counts
    # Every candidate proposed was evaluated on its minibatch: none left half-done.
    evaluated = {e["candidate"] for e in history if e["type"] == "candidate-evaluated"}
    assert {c.id for c in candidates} <= evaluated


# -- promotion --------------------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize(
    ("n", "split", "granted"),
    [(48, (0.25, 0.25, 0.5), True), (16, (0.5, 0.25, 0.25), False)],
    ids=["24-test-cases", "4-test-cases"],
)
def test_promotion_is_granted_only_with_significance(
    tmp_path: Path,
    simulator: Any,
    strategies: None,
    n: int,
    split: tuple[float, float, float],
    granted: bool,
) -> None:
    eng = _engine(tmp_path, simulator.api_base)
    try:
        _seeded(eng, n)
        eng.prompts.label(PROMPT, "production", to="main")
        production = eng.prompts.show(PROMPT, "production").id
        opt = eng.optimize(
            PROMPT,
            "sums",
            ["openai/sim-large"],
            ["equals"],
            optimizer="gepa",
            reflection_model="openai/sim-small",
            minibatch=2,
            max_metric_calls=200,
            split=split,
            seed=2,
            options={"test": "perfect"},
        )
        info = opt.wait(progress=False, timeout=240)
        assert info.status == "completed", info.error
        assert info.best_candidate != "c0"
        test = opt.report_data()["test"]
        outcome = opt.promote("production", alpha=0.05)
        moved_to = eng.prompts.show(PROMPT, "production").id
        history = [e for e in opt.history if e["type"] == "promoted"]
    finally:
        eng.close()
    assert len(history) == 1 and history[0]["promoted"] is granted
    assert outcome["p_value"] == pytest.approx(test["p_value"])
    if granted:
        assert test["p_value"] < 0.05 and test["c"] > test["b"]
        assert outcome == {**outcome, "promoted": True, "version": info.best_version}
        assert moved_to == info.best_version
    else:
        assert test["p_value"] >= 0.05  # 4 test cases cannot show it at 0.05
        assert outcome["promoted"] is False
        assert outcome["reason"] == "no significant improvement"
        assert moved_to == production


# -- cancel, close, resume ---------------------------------------------------------------------


def _wait_for(opt: Any, kind: str, count: int, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while sum(1 for e in opt.history if e["type"] == kind) < count:
        assert time.monotonic() < deadline, opt.info
        time.sleep(0.05)


@pytest.mark.slow
def test_a_cancelled_optimization_stops_and_starts_no_more_runs(engine: Any) -> None:
    opt = _random(engine, max_metric_calls=400, seed=21)
    _wait_for(opt, "generation-finished", 1)
    opt.cancel()
    info = opt.wait(progress=False, timeout=120)
    assert info.status == "cancelled"
    runs = [r for r in engine.runs(limit=500) if r.name.startswith(opt.id)]
    time.sleep(0.5)
    assert len([r for r in engine.runs(limit=500) if r.name.startswith(opt.id)]) == len(runs)
    assert all(
        r.status.value != "running" for r in engine.runs(limit=500) if r.name.startswith(opt.id)
    )
    assert opt.history[-1]["type"] == "cancelled"
    with pytest.raises(ConflictError):
        opt.cancel()
    with pytest.raises(ConflictError):
        engine.resume_optimization(opt.id)


ASKED: list[str] = []


class CountingStrategy(AskingStrategy):
    """Notes the parent of every request it is asked to build."""

    def ask(
        self, parent: CandidateView, evidence: Sequence[CaseEvidence], rng: random.Random
    ) -> list[dict[str, str]]:
        ASKED.append(parent.id)
        return super().ask(parent, evidence, rng)


@pytest.mark.slow
def test_a_closed_engine_leaves_it_interrupted_and_a_resume_reuses_the_replies(
    tmp_path: Path, simulator: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    import engine.sdk.optimizations as sdk

    monkeypatch.setattr(sdk, "load_strategy", lambda name, options=None: CountingStrategy())
    ASKED.clear()
    first = _engine(tmp_path, simulator.api_base)
    try:
        _seeded(first, 20)
        opt = first.optimize(
            PROMPT,
            "sums",
            ["openai/sim-small"],
            ["contains"],
            optimizer="gepa",
            reflection_model="openai/sim-medium",
            minibatch=2,
            concurrency=4,
            parallel=2,
            max_metric_calls=150,
            seed=8,
        )
        _wait_for(opt, "generation-finished", 2)
    finally:
        first.close()
    asked_before = len(ASKED)
    second = _engine(tmp_path, simulator.api_base)
    try:
        again = second.optimization(opt.id)
        assert again.status == "interrupted"
        proposals_before = sum(1 for e in again.history if "reflection_calls" in e)
        second.resume_optimization(opt.id)
        info = again.wait(progress=False, timeout=240)
        history = again.history
    finally:
        second.close()
    assert info.status == "completed", info.error
    proposals = [e for e in history if "reflection_calls" in e]
    # A proposal step recorded before the stop is never asked again: its reply is reused.
    assert len(ASKED) - asked_before <= len(proposals) - proposals_before + 2
    assert info.reflection_calls == sum(e["reflection_calls"] for e in proposals)
    assert len({e["key"] for e in proposals}) == len(proposals)


@pytest.mark.slow
def test_the_merge_option_combines_two_front_members_of_no_common_descent(
    tmp_path: Path, simulator: Any, strategies: None
) -> None:
    eng = _engine(tmp_path, simulator.api_base)
    try:
        _seeded(eng, 48)
        opt = eng.optimize(
            PROMPT,
            "sums",
            ["openai/sim-small"],
            ["equals"],
            optimizer="gepa",
            reflection_model="openai/sim-medium",
            minibatch=2,
            parallel=4,
            seed=4,
            max_metric_calls=300,
            options={"test": "merging", "merge": True},
        )
        info = opt.wait(progress=False, timeout=240)
        candidates = opt.candidates
        merges = [c for c in candidates if c.kind == "merge"]
        history = opt.history
        log = {v.id: v.message for v in eng.prompts.log(PROMPT, info.branch, limit=500)}
        verdicts = {
            e["candidate"]
            for e in opt.history
            if e["type"].startswith("candidate-a") or e["type"] == "candidate-rejected"
        }
    finally:
        eng.close()
    assert info.status == "completed", info.error
    assert merges, [e for e in history if "m" in str(e.get("key", "")).split(":")[-1]][:3]
    for child in merges:
        a, b = child.parent_ids
        assert a != b and "c0" not in (a, b)
        assert f"Parent: {a}" in log[child.version] and f"Parent: {b}" in log[child.version]
        assert child.id in verdicts
