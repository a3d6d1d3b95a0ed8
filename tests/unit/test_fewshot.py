"""The fewshot strategy: bootstrapped demonstrations, seeded subsets, the system format."""

from __future__ import annotations

import random

import pytest

from domain.errors import ValidationError
from domain.optimization.fewshot import HEADING, FewShot, make, render_input
from domain.optimization.strategy import CandidateView, CaseEvidence, Content, load_strategy

PARENT = CandidateView("c0", Content("Be helpful.", "What is {{a}} + {{ b }}?"))


def ev(i: int, passed: bool, output: str | None = None) -> CaseEvidence:
    out = output if output is not None else (str(i + 1) if passed else f"It is {i + 1}.")
    return CaseEvidence(f"c{i}", {"a": i, "b": 1}, str(i + 1), out, float(passed), passed)


def test_render_input_fills_variables() -> None:
    assert (
        render_input("What is {{a}} + {{ b }} {{c}}?", {"a": 1, "b": 2}) == "What is 1 + 2 {{c}}?"
    )


def test_demos_come_from_passing_cases_in_the_documented_format() -> None:
    evidence = [ev(1, True), ev(2, False), ev(3, True)]
    proposal = make({"demos": 2}).propose(PARENT, evidence, None, random.Random(0))
    assert proposal is not None
    system = proposal.content.system
    assert system.startswith("Be helpful.\n\n" + HEADING)
    assert (
        "Input: What is 1 + 1?\nOutput: 2" in system
        and "Input: What is 3 + 1?\nOutput: 4" in system
    )
    assert "What is 2 + 1?" not in system
    assert "bootstrapped from passing cases" in proposal.rationale
    assert proposal.content.template == PARENT.content.template


def test_without_passing_cases_it_falls_back_to_expected_outputs() -> None:
    evidence = [ev(i, False) for i in range(5)]
    proposal = make({}).propose(PARENT, evidence, None, random.Random(1))
    assert proposal is not None and proposal.content.system.count("Output: ") == 3
    assert "It is" not in proposal.content.system
    assert "labelled expected outputs" in proposal.rationale


def test_subsets_are_seeded_and_vary_with_the_seed() -> None:
    evidence = [ev(i, True) for i in range(8)]
    strategy = make({"demos": 3})

    def system(seed: int) -> str:
        proposal = strategy.propose(PARENT, evidence, None, random.Random(seed))
        assert proposal is not None
        return proposal.content.system

    assert system(4) == system(4)
    assert len({system(s) for s in range(10)}) > 1


def test_new_demos_replace_old_ones() -> None:
    first = make({"demos": 1}).propose(PARENT, [ev(1, True)], None, random.Random(0))
    assert first is not None
    child = CandidateView("c1", first.content, ("c0",))
    second = make({"demos": 1}).propose(child, [ev(5, True)], None, random.Random(0))
    assert second is not None
    assert second.content.system.count(HEADING) == 1 and "Output: 2" not in second.content.system


def test_no_reflection_no_merge_no_pool() -> None:
    strategy = make({})
    assert strategy.ask(PARENT, [ev(1, False)], random.Random(0)) is None
    assert strategy.merge(PARENT, PARENT, None, random.Random(0)) is None
    unlabelled = CaseEvidence("c9", {"a": 1, "b": 1}, None, "x", 0.0, None)
    assert strategy.propose(PARENT, [unlabelled], None, random.Random(0)) is None


def test_loaded_by_name_and_options_checked() -> None:
    assert load_strategy("fewshot", {"demos": 5}) == FewShot(demos=5)
    for bad in (0, 17, "3", False):
        with pytest.raises(ValidationError):
            make({"demos": bad})
