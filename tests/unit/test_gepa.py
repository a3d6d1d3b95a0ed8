"""The gepa strategy: reflection requests from failures, proposals from replies."""

from __future__ import annotations

import random

import pytest

from domain.errors import ValidationError
from domain.optimization import reflection
from domain.optimization.gepa import Gepa, make
from domain.optimization.strategy import (
    CandidateView,
    CaseEvidence,
    Content,
    Proposal,
    load_strategy,
)

PARENT = CandidateView("c0", Content("Be helpful.", "What is {{a}} + {{b}}?"))


def ev(i: int, passed: bool) -> CaseEvidence:
    output = "5" if passed else "Sure! The answer is 5."
    return CaseEvidence(f"c{i}", {"a": 2, "b": 3}, "5", output, float(passed), passed)


def test_ask_shows_only_failing_cases_and_none_without_failures() -> None:
    strategy = make({})
    evidence = [ev(1, True), ev(2, False), ev(3, False)]
    messages = strategy.ask(PARENT, evidence, random.Random(0))
    assert messages is not None
    parsed = reflection.parse_request(messages[-1]["content"])
    assert parsed is not None and [e.case_id for e in parsed.examples] == ["c2", "c3"]
    assert parsed.system == "Be helpful."
    assert strategy.ask(PARENT, [ev(1, True)], random.Random(0)) is None


def test_max_examples_option_bounds_the_request() -> None:
    messages = make({"max_examples": 2}).ask(
        PARENT, [ev(i, False) for i in range(9)], random.Random(0)
    )
    assert messages is not None and messages[-1]["content"].count("### Example") == 2


def test_propose_parses_the_reply() -> None:
    reply = (
        "<system>Be helpful.\nAnswer with only the number.</system><rationale>chatter</rationale>"
    )
    proposal = make({}).propose(PARENT, [ev(1, False)], reply, random.Random(0))
    assert proposal == Proposal(
        Content("Be helpful.\nAnswer with only the number.", PARENT.content.template), "chatter"
    )


def test_propose_keeps_the_template_unless_its_variables_survive() -> None:
    rng = random.Random(0)
    kept = make({}).propose(PARENT, [], "<system>x</system><template>{{a}}?</template>", rng)
    assert kept is not None and kept.content.template == PARENT.content.template
    new = "<system>x</system><template>Compute {{ a }} plus {{b}}.</template>"
    changed = make({}).propose(PARENT, [], new, rng)
    assert changed is not None and changed.content.template == "Compute {{ a }} plus {{b}}."
    only_template = make({}).propose(PARENT, [], "<template>Sum {{a}} and {{b}}</template>", rng)
    assert only_template is not None and only_template.content.system == "Be helpful."


@pytest.mark.parametrize(
    "reply", [None, "garbage", "<system>Be helpful.</system>", "<rationale>why</rationale>"]
)
def test_no_proposal_without_a_change(reply: str | None) -> None:
    assert make({}).propose(PARENT, [ev(1, False)], reply, random.Random(0)) is None


def test_merge_crosses_front_members() -> None:
    a = CandidateView("c1", Content("Be helpful.\nAnswer with only the number.", "{{q}}"), ("c0",))
    b = CandidateView("c2", Content("Be helpful.\nUse commas for thousands.", "{{q}}"), ("c0",))
    base = CandidateView("c0", Content("Be helpful.", "{{q}}"))
    proposal = make({}).merge(a, b, base, random.Random(0))
    assert proposal is not None
    assert proposal.content.system.splitlines() == [
        "Be helpful.",
        "Answer with only the number.",
        "Use commas for thousands.",
    ]


def test_loaded_by_name_and_options_checked() -> None:
    assert isinstance(load_strategy("gepa", {"max_examples": 4}), Gepa)
    for bad in (0, 33, "8", True):
        with pytest.raises(ValidationError) as err:
            make({"max_examples": bad})
        assert err.value.details["reason"] == "invalid-option"
