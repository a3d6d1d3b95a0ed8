"""System-aware crossover: three-way merge of instruction sentences and templates."""

from __future__ import annotations

import random

from domain.optimization.merge import merge, merge_contents, merge_systems, sentences
from domain.optimization.strategy import CandidateView, Content


def test_sentences_split_lines_and_sentence_ends() -> None:
    text = 'Be helpful. Start with "Category: ".\nRound to 2.5 units!  Then stop.\n\nBe helpful.'
    assert sentences(text) == [
        "Be helpful.",
        'Start with "Category: ".',
        "Round to 2.5 units!",
        "Then stop.",
    ]


def test_additions_of_both_sides_are_kept_and_removals_respected() -> None:
    ancestor = "Be helpful. Explain your reasoning."
    a = "Be helpful. Answer with only the number."  # removed "Explain..."
    b = "Be helpful. Explain your reasoning. Use commas for thousands."
    assert merge_systems(a, b, ancestor).splitlines() == [
        "Be helpful.",
        "Answer with only the number.",
        "Use commas for thousands.",
    ]


def test_templates_take_the_changed_side_and_seeded_choice_on_conflict() -> None:
    base = Content("", "{{q}}")
    left = Content("", "Q: {{q}}")
    right = Content("", "Question: {{q}}")
    assert merge_contents(left, base, base, random.Random(0)).template == "Q: {{q}}"
    assert merge_contents(base, right, base, random.Random(0)).template == "Question: {{q}}"
    picks = {merge_contents(left, right, base, random.Random(s)).template for s in range(20)}
    assert picks == {"Q: {{q}}", "Question: {{q}}"}
    again = merge_contents(left, right, base, random.Random(3)).template
    assert again == merge_contents(left, right, base, random.Random(3)).template


def test_merge_returns_none_when_nothing_new() -> None:
    a = CandidateView("c1", Content("Be helpful. Be brief.", "{{q}}"))
    b = CandidateView("c2", Content("Be helpful.", "{{q}}"))
    base = CandidateView("c0", Content("Be helpful.", "{{q}}"))
    assert merge(a, b, base, random.Random(0)) is None


def test_merge_without_ancestor_unions_the_sentences() -> None:
    a = CandidateView("c1", Content("Be brief.", "{{q}}"))
    b = CandidateView("c2", Content("Use commas.", "{{q}}"))
    proposal = merge(a, b, None, random.Random(0))
    assert proposal is not None and proposal.content.system == "Be brief.\nUse commas."
    assert "c1" in proposal.rationale and "c2" in proposal.rationale
