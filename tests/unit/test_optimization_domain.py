"""domain.optimization: config, split, events and aggregate, front, selection, rules,
promotion, report data and the `random` strategy. Pure: no I/O."""

from __future__ import annotations

import doctest
import importlib
import random
from typing import Any

import pytest

from domain.errors import ConflictError, ValidationError
from domain.optimization import pareto, rules
from domain.optimization.aggregate import Optimization
from domain.optimization.config import OptimizationConfig, default_parallel, split_cases
from domain.optimization.events import Event
from domain.optimization.promotion import NOT_SIGNIFICANT, decide, paired_test, promotion_data
from domain.optimization.random_edits import PHRASES, make, sentences
from domain.optimization.report_data import report_data
from domain.optimization.strategy import CandidateView, CaseEvidence, Content, load_strategy

MODULES = [
    "config",
    "events",
    "aggregate",
    "pareto",
    "rules",
    "promotion",
    "random_edits",
    "report_data",
]


@pytest.mark.parametrize("name", MODULES)
def test_the_examples_in_the_docstrings_hold(name: str) -> None:
    module = importlib.import_module(f"domain.optimization.{name}")
    failed, _ = doctest.testmod(module)
    assert failed == 0


def _config(**changes: Any) -> OptimizationConfig:
    values: dict[str, Any] = {
        "prompt_id": "p",
        "prompt_name": "qa",
        "dataset_version_id": "dsv",
        "optimizer": "random",
        "models": ("openai/sim-small",),
        "reflection_model": None,
        "scorers": ({"type": "equals"},),
    }
    return OptimizationConfig(**{**values, **changes})


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"scorers": ()}, "no-scorer"),
        ({"budget_usd": 0}, "invalid-budget"),
        ({"budget_usd": -1.0}, "invalid-budget"),
        ({"budget_usd": float("nan")}, "invalid-budget"),
        ({"max_metric_calls": 0}, "invalid-max-metric-calls"),
        ({"max_metric_calls": True}, "invalid-max-metric-calls"),
        ({"optimizer": "bogus"}, "unknown-optimizer"),
        ({"split": (0.5, 0.5, 0.5)}, "split-too-small"),
        ({"split": (1.2, -0.1, -0.1)}, "split-too-small"),
        ({"parallel": 33}, "invalid-parallel"),
        ({"minibatch": 0}, "invalid-minibatch"),
        ({"patience": 0}, "invalid-patience"),
    ],
)
def test_a_config_nobody_could_run_is_refused_with_its_reason(
    changes: dict[str, Any], reason: str
) -> None:
    with pytest.raises(ValidationError) as caught:
        _config(**changes)
    assert caught.value.details["reason"] == reason


def test_a_config_round_trips_through_its_dict() -> None:
    config = _config(budget_usd=1.5, options={"max_sentences": 3}, patience=2, parallel=3)
    assert OptimizationConfig.from_dict(config.to_dict()) == config


def test_default_parallel_fills_the_concurrency_between_1_and_32() -> None:
    sizes = (1, 8, 16, 32, 64, 1000)
    assert [default_parallel(c, 8, reflection=True) for c in sizes] == [1, 8, 16, 32, 32, 32]
    assert [default_parallel(c, 8) for c in sizes] == [1, 1, 2, 4, 8, 32]


def test_the_split_is_seeded_disjoint_complete_and_in_dataset_order() -> None:
    ids = [f"case{i:02d}" for i in range(20)]
    a = split_cases(ids, (0.5, 0.25, 0.25), seed=3)
    assert a == split_cases(ids, (0.5, 0.25, 0.25), seed=3)
    assert a != split_cases(ids, (0.5, 0.25, 0.25), seed=4)
    assert (len(a.train), len(a.val), len(a.test)) == (10, 5, 5)
    assert sorted(a.train + a.val + a.test) == ids
    for part in (a.train, a.val, a.test):
        assert list(part) == sorted(part)


@pytest.mark.parametrize(("n", "split"), [(5, (0.5, 0.25, 0.25)), (10, (0.9, 0.05, 0.05))])
def test_a_split_with_fewer_than_two_cases_somewhere_is_too_small(
    n: int, split: tuple[float, float, float]
) -> None:
    with pytest.raises(ValidationError) as caught:
        split_cases([f"c{i}" for i in range(n)], split, seed=0)
    assert caught.value.details["reason"] == "split-too-small"


def test_the_front_keeps_the_non_dominated_and_the_first_of_equals() -> None:
    cases = ["a", "b", "c"]
    scored = [
        ("c0", {"a": 1, "b": 0, "c": 0}),
        ("c1", {"a": 0, "b": 1, "c": 0}),
        ("c2", {"a": 1, "b": 1, "c": 0}),  # dominates c0 and c1
        ("c3", {"a": 0, "b": 0, "c": 1}),
        ("c4", {"a": 1, "b": 1, "c": 0}),  # equals c2
    ]
    assert pareto.front(scored, cases) == ["c2", "c3"]


def test_parents_are_drawn_in_proportion_to_the_cases_each_is_best_on() -> None:
    cases = ["a", "b", "c", "d"]
    scores = {"x": {"a": 1, "b": 1, "c": 1, "d": 0}, "y": {"a": 0, "b": 0, "c": 0, "d": 1}}
    assert pareto.best_counts(["x", "y"], scores, cases) == {"x": 3, "y": 1}
    rng = random.Random(0)
    draws = [pareto.select_parent(["x", "y"], scores, cases, rng) for _ in range(4000)]
    share = draws.count("x") / len(draws)
    assert 0.70 < share < 0.80
    again = random.Random(0)
    assert draws[:50] == [pareto.select_parent(["x", "y"], scores, cases, again) for _ in range(50)]


def test_a_member_best_on_no_case_is_never_drawn() -> None:
    scores = {"x": {"a": 1.0, "b": 0.5}, "y": {"a": 0.5, "b": 1.0}, "z": {"a": 0.9, "b": 0.9}}
    rng = random.Random(1)
    draws = {pareto.select_parent(["x", "y", "z"], scores, ["a", "b"], rng) for _ in range(500)}
    assert draws == {"x", "y"}


def test_acceptance_needs_a_strictly_greater_minibatch_sum() -> None:
    assert rules.accepts({"a": 1.0, "b": 0.5}, {"a": 1.0, "b": 0.0}, ["a", "b"])
    assert not rules.accepts({"a": 1.0}, {"a": 1.0}, ["a"])
    assert not rules.accepts({"a": 1.0, "z": 1.0}, {"a": 1.0}, ["a"])  # only the minibatch


def test_the_next_generation_never_plans_more_calls_than_are_left() -> None:
    one = rules.candidate_calls(minibatch=4, val_cases=6, models=2, judges_per_cell=1)
    assert one == 2 * 2 * (4 + 6)
    costs = [17, 1, 1, 17, 1, 17, 1, 1]
    for used in range(0, 300, 7):
        k = rules.affordable_slots(costs, used=used, max_calls=300, reserve=one)
        assert 0 <= k <= len(costs)
        # every opened slot's reflection and parent minibatch, and one new candidate, fit
        assert k == 0 or used + sum(costs[:k]) + one <= 300
        if k < len(costs):
            assert used + sum(costs[: k + 1]) + one > 300


def test_a_further_new_candidate_is_evaluated_only_if_it_fits() -> None:
    common = {"one": 40, "max_calls": 300}
    assert rules.fits_candidate(used=200, unrecorded=3, reserved=40, **common)
    assert not rules.fits_candidate(used=200, unrecorded=3, reserved=80, **common)
    assert not rules.fits_candidate(used=261, unrecorded=0, reserved=0, **common)


def test_the_stopping_rule_names_why() -> None:
    usage = rules.Usage(cells=50, reflection_calls=5, judge_calls=5, cost_usd=0.2)
    assert usage.calls == 60
    common: dict[str, Any] = {"max_calls": 100, "stale_generations": 0, "patience": None}
    assert rules.stop_reason(usage=usage, budget_usd=None, affordable=1, **common) is None
    assert rules.stop_reason(usage=usage, budget_usd=0.2, affordable=1, **common) == (
        "budget-exceeded"
    )
    assert rules.stop_reason(usage=usage, budget_usd=None, affordable=0, **common) == (
        "max-metric-calls"
    )
    stale = {**common, "stale_generations": 3, "patience": 3}
    assert rules.stop_reason(usage=usage, budget_usd=None, affordable=1, **stale) == "patience"


def test_promotion_needs_significance_and_more_wins() -> None:
    cases = [f"t{i}" for i in range(12)]
    baseline = dict.fromkeys(cases, False)
    best = dict.fromkeys(cases, True)
    strong = paired_test(cases, baseline, best)
    assert (strong.b, strong.c) == (0, 12)
    assert decide(strong, 0.05) == (True, "significant improvement")
    weak = paired_test(cases, baseline, {**baseline, "t0": True, "t1": True})
    assert decide(weak, 0.05) == (False, NOT_SIGNIFICANT)
    worse = paired_test(cases, best, baseline)
    assert worse.p_value < 0.05 and decide(worse, 0.05)[0] is False
    refused = promotion_data("production", "v", weak, 0.05, "now")
    assert refused["promoted"] is False and refused["reason"] == NOT_SIGNIFICANT
    with pytest.raises(ValidationError):
        decide(strong, 1.5)


def _evidence(case: str, score: float) -> CaseEvidence:
    return CaseEvidence(case, {"q": case}, "x", "y", score, score >= 1, {})


def test_the_random_strategy_is_seeded_and_never_reads_the_evidence() -> None:
    strategy = load_strategy("random")
    parent = CandidateView("c0", Content("Answer the question.", "{{q}}"))
    assert strategy.ask(parent, [], random.Random(0)) is None
    one = strategy.propose(parent, [_evidence("a", 0.0)], None, random.Random("s"))
    two = strategy.propose(parent, [_evidence("b", 1.0)], "ignored", random.Random("s"))
    assert one is not None and one == two
    assert one.content.template == "{{q}}"
    assert one.content != parent.content
    proposals = [strategy.propose(parent, [], None, random.Random(i)) for i in range(30)]
    for proposal in proposals:
        assert proposal is not None
        for sentence in sentences(proposal.content.system):
            assert sentence in PHRASES or sentence == "Answer the question."
    assert len({p.content for p in proposals if p}) > 5
    assert strategy.merge(parent, parent, None, random.Random(0)) is None


def test_the_random_strategy_refuses_unknown_options() -> None:
    with pytest.raises(ValidationError) as caught:
        make({"rules": "leak"})
    assert caught.value.details["reason"] == "invalid-options"


def _started(state: Optimization) -> None:
    state.record(
        Event(
            "started",
            {
                "config": _config(max_metric_calls=100).to_dict(),
                "branch": "opt/o1",
                "split": {"train": ["a", "b"], "val": ["c", "d"], "test": ["e", "f"]},
                "baseline": {"version": "v0", "system": "", "template": "{{q}}"},
            },
        )
    )


def _evaluated(cid: str, phase: str, scores: dict[str, float], **extra: Any) -> Event:
    data = {"key": f"eval:{cid}:{phase}", "candidate": cid, "phase": phase, "scores": scores}
    data.update({"cells": len(scores), "cost_usd": 0.01 * len(scores), **extra})
    return Event("candidate-evaluated", data)


def _history() -> list[Event]:
    state = Optimization("o1", "u1")
    _started(state)
    for event in [
        _evaluated("c0", "val", {"c": 0.0, "d": 1.0}),
        _evaluated("c0", "train", {"a": 0.0, "b": 0.0}, judge_calls=2, judge_cost_usd=0.5),
        Event(
            "candidate-proposed",
            {
                "key": "proposal:g1s0",
                "candidate": "c1",
                "version": "v1",
                "parent_ids": ["c0"],
                "system": "Be concise.",
                "template": "{{q}}",
                "rationale": "random edit",
                "minibatch": ["a", "b"],
                "reflection_calls": 1,
                "reflection_cost_usd": 0.1,
            },
        ),
        _evaluated("c1", "train", {"a": 1.0, "b": 0.0}),
        Event(
            "candidate-accepted",
            {"candidate": "c1", "minibatch_score": 1.0, "parent_minibatch_score": 0.0},
        ),
        _evaluated("c1", "val", {"c": 1.0, "d": 1.0}),
        Event("generation-finished", {"key": "generation:1", "generation": 1}),
        _evaluated("c0", "test", {"e": 0.0, "f": 0.0}, passed={"e": False, "f": False}),
        _evaluated("c1", "test", {"e": 1.0, "f": 1.0}, passed={"e": True, "f": True}),
        Event("finished", {"status": "completed", "stop": "max-metric-calls"}),
    ]:
        state.record(event)
    return state.events


def test_the_aggregate_folds_scores_calls_costs_and_the_best() -> None:
    events = _history()
    state = Optimization.replay("o1", "u1", events)
    assert state.status == "completed"
    assert list(state.candidates) == ["c0", "c1"]
    assert state.best() is state.candidates["c1"]
    assert state.front() == ["c1"]
    # cells 2 + 2 + 2 + 2 (val/train) + judges 2 + reflection 1; test cells apart.
    assert state.usage.calls == 8 + 2 + 1
    assert state.test_calls == 4
    assert state.usage.cost_usd == pytest.approx(0.08 + 0.5 + 0.1)
    assert state.candidates["c1"].accepted is True
    assert [t["candidate"] for t in state.trajectory] == ["c0", "c1"]
    assert state.recorded("proposal:g1s0") is not None
    assert state.recorded("generation:2") is None


def test_nothing_but_a_promotion_follows_the_end() -> None:
    state = Optimization.replay("o1", "u1", _history())
    with pytest.raises(ConflictError):
        state.record(_evaluated("c1", "val", {"c": 0.0}))
    state.record(
        Event("promoted", {"promoted": True, "label": "prod", "version": "v1", "p_value": 0.01})
    )
    assert state.promoted is not None and state.promoted["label"] == "prod"


def test_the_report_data_follows_the_contracts_schema() -> None:
    state = Optimization.replay("o1", "u1", _history())
    data = report_data(state, {"id": "o1"})
    assert set(data) == {
        "optimization",
        "trajectory",
        "candidates",
        "front",
        "diff",
        "test",
        "cost",
    }
    assert data["front"] == ["c1"]
    assert [c["id"] for c in data["candidates"]] == ["c0", "c1"]
    assert data["candidates"][1]["val_score"] == 1.0
    assert data["diff"]["best"] == {"system": "Be concise.", "template": "{{q}}"}
    assert "+Be concise." in data["diff"]["unified"]
    test = data["test"]
    assert (test["n"], test["b"], test["c"]) == (2, 0, 2)
    assert test["wins"] == ["e", "f"] and test["losses"] == []
    assert test["baseline_score"] == 0.0 and test["best_score"] == 1.0
    assert data["cost"]["total"] == pytest.approx(
        sum(v for k, v in data["cost"].items() if k != "total")
    )
    assert data["cost"]["reflection"] == pytest.approx(0.1)
    assert data["cost"]["judges"] == pytest.approx(0.5)


def test_the_loop_stops_when_generations_spend_nothing() -> None:
    common: dict[str, Any] = {
        "usage": rules.Usage(),
        "max_calls": 100,
        "budget_usd": None,
        "stale_generations": 0,
        "patience": None,
        "affordable": 1,
    }
    assert rules.stop_reason(idle_generations=rules.IDLE_GENERATIONS - 1, **common) is None
    assert rules.stop_reason(idle_generations=rules.IDLE_GENERATIONS, **common) == "exhausted"
