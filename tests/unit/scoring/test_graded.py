"""Model-graded classification scorers: building their request, reading the judge's choice."""

from __future__ import annotations

import re
from typing import Any

import pytest

from domain.errors import ValidationError
from domain.scoring import JudgeScorer, ScoreContext, ScorerSpec, build_scorer, describe_scorers
from domain.scoring._graded_prompts import CHOICES_MARKER, GRADER_SYSTEM_PROMPT, LAYOUTS

PROMPT = "Q: {input}\nA: {completion}\nIdeal: {ideal}\nIs A right? Y or N."
CTX = ScoreContext(output="Paris", expected="Paris", variables={"question": "Capital?"})
PRESETS = [
    "factuality",
    "model-graded-closedqa",
    "answer-relevance",
    "context-faithfulness",
    "context-recall",
]


def graded(type_: str = "model-graded-classify", threshold: float | None = None, **args: Any):
    base: dict[str, Any] = {"model": "sim-judge"}
    if type_ == "model-graded-classify":
        base.update(prompt=PROMPT, choice_strings=["Y", "N"])
    if type_ == "model-graded-closedqa":
        base.update(criteria="names the capital")
    scorer = build_scorer(ScorerSpec(type_, {**base, **args}, threshold=threshold))
    assert isinstance(scorer, JudgeScorer)
    return scorer


def user_message(scorer: JudgeScorer, ctx: ScoreContext = CTX) -> str:
    system, user = scorer.build_messages(ctx)
    assert system == {"role": "system", "content": GRADER_SYSTEM_PROMPT}
    assert user["role"] == "user"
    return user["content"]


# --- building the request -------------------------------------------------------------


def test_is_a_judge_scorer_with_its_prompt_on_record():
    scorer = graded()
    assert (scorer.needs, scorer.judge_model, scorer.threshold) == ("completion", "sim-judge", 0.5)
    assert (scorer.system_prompt, scorer.prompt_template) == (GRADER_SYSTEM_PROMPT, PROMPT)


def test_placeholders_are_filled_and_choices_and_layout_appended():
    content = user_message(graded(eval_type="classify"))
    assert content == (
        f"Q: Capital?\nA: Paris\nIdeal: Paris\nIs A right? Y or N.\n\n"
        f"{CHOICES_MARKER} Y, N\n{LAYOUTS['classify']}"
    )


@pytest.mark.parametrize("eval_type", ["classify", "cot_classify", "classify_cot"])
def test_each_eval_type_asks_for_its_own_layout(eval_type):
    assert user_message(graded(eval_type=eval_type)).endswith(LAYOUTS[eval_type])


def test_case_variables_criteria_and_aliases_fill_the_template():
    template = "{output}|{expected}|{criteria}|{topic}|{missing}|{{literal}}|{input}"
    ctx = ScoreContext(output="o", expected=None, variables={"topic": "maps", "n": 3})
    content = user_message(graded(prompt=template, criteria="be brief"), ctx)
    first = content.split("\n\n")[0]
    assert first == 'o|(none)|be brief|maps|(none)|{literal}|{"n": 3, "topic": "maps"}'


@pytest.mark.parametrize("name", ["input", "question"])
def test_input_is_the_input_or_question_variable_when_there_is_one(name):
    ctx = ScoreContext(output="o", variables={name: "the question", "context": "x"})
    assert user_message(graded(prompt="{input} {completion}"), ctx).startswith("the question o")


def test_the_completion_is_not_searched_for_placeholders():
    ctx = ScoreContext(output="{criteria} {input}", variables={"input": "q"})
    assert user_message(graded(prompt="{completion}"), ctx).startswith("{criteria} {input}\n")


@pytest.mark.parametrize(
    ("type_", "fragments"),
    [
        ("factuality", ["<question>\nCapital?", "<reference>\nParis", "<answer>\nLyon"]),
        ("model-graded-closedqa", ["<task>\nCapital?", "<answer>\nLyon", "<reference>\nParis"]),
        ("answer-relevance", ["<question>\nCapital?", "<answer>\nLyon"]),
        ("context-faithfulness", ["<context>\nctx text", "<answer>\nLyon"]),
        ("context-recall", ["<context>\nctx text", "<reference>\nParis"]),
    ],
)
def test_presets_fill_their_own_prompt(type_, fragments):
    variables = {"question": "Capital?", "context": "ctx text"}
    ctx = ScoreContext(output="Lyon", expected="Paris", variables=variables)
    content = user_message(graded(type_), ctx)
    assert content.startswith(f"[Grading: {type_.removeprefix('model-graded-')}]")
    assert re.search(r"\{[a-z_]+\}", content) is None
    assert all(f in content for f in fragments)


def test_factuality_defaults_follow_the_fact_spec():
    scorer = graded("factuality")
    assert scorer.choices == ("A", "B", "C", "D", "E")  # type: ignore[attr-defined]
    assert scorer.choice_scores == {"A": 1, "B": 1, "C": 1, "D": 0, "E": 1}  # type: ignore[attr-defined]
    assert scorer.eval_type == "cot_classify"  # type: ignore[attr-defined]
    assert "<reference>\nParis\n</reference>" in user_message(scorer)


def test_preset_arguments_can_be_overridden():
    scorer = graded("factuality", prompt="{completion} vs {expected}", eval_type="classify")
    assert user_message(scorer).startswith("Paris vs Paris\n\nAllowed choices: A, B, C, D, E\n")
    other = graded("factuality", choice_strings=["good", "bad"])
    assert other.choice_scores == {"good": 1.0, "bad": 0.0}  # type: ignore[attr-defined]


def test_closedqa_puts_the_criterion_in_its_prompt():
    content = user_message(graded("model-graded-closedqa"))
    assert "<criterion>\nnames the capital\n</criterion>" in content
    assert content.endswith(f"{CHOICES_MARKER} Y, N\n{LAYOUTS['cot_classify']}")


def test_listing_shows_preset_defaults_and_required_arguments():
    by_name = {d.name: d.to_dict() for d in describe_scorers()}
    for name in ["model-graded-classify", *PRESETS]:
        assert by_name[name]["needs"] == "completion" and by_name[name]["description"]
    generic = {a["name"]: a for a in by_name["model-graded-classify"]["arguments"]}
    assert generic["prompt"]["required"] and generic["choice_strings"]["required"]
    fact = {a["name"]: a for a in by_name["factuality"]["arguments"]}
    assert not fact["prompt"]["required"] and fact["choice_strings"]["default"] == list("ABCDE")
    closedqa = {a["name"]: a for a in by_name["model-graded-closedqa"]["arguments"]}
    assert closedqa["criteria"]["required"]


# --- bad arguments ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("type_", "args", "fragment"),
    [
        ("model-graded-classify", {"prompt": None}, "'prompt' is required"),
        ("model-graded-classify", {"choice_strings": None}, "'choice_strings' is required"),
        ("model-graded-classify", {"model": ""}, "'model' must not be empty"),
        ("model-graded-classify", {"prompt": "Grade {input}"}, "must contain {completion}"),
        ("model-graded-classify", {"choice_strings": []}, "non-empty list"),
        ("model-graded-classify", {"choice_strings": ["Y", "Y."]}, "distinct"),
        ("model-graded-classify", {"choice_strings": ["?"]}, "distinct"),
        ("model-graded-classify", {"eval_type": "cot"}, "must be one of"),
        ("model-graded-classify", {"choice_scores": ["Y"]}, "must be an object"),
        ("model-graded-classify", {"choice_scores": {"Q": 1}}, "unknown choice(s) ['Q']"),
        ("model-graded-classify", {"choice_scores": {"Y": 2}}, "within [0, 1]"),
        ("model-graded-classify", {"choice_scores": {"Y": True}}, "within [0, 1]"),
        ("model-graded-classify", {"prompt": "{criteria} {output}"}, "'criteria' is required"),
        ("model-graded-classify", {"choices": ["Y"]}, "unknown argument(s) 'choices'"),
        ("model-graded-closedqa", {"criteria": None}, "'criteria' is required"),
        ("factuality", {"criteria": "c"}, "'criteria' would be ignored"),
        ("model-graded-classify", {"choice_strings": ["Y, sure", "N"]}, "commas"),
        ("factuality", {"model": None}, "'model' is required"),
        ("factuality", {"choice_scores": {"F": 1}}, "unknown choice(s) ['F']"),
    ],
)
def test_bad_arguments_are_refused_with_the_argument_named(type_, args, fragment):
    base: dict[str, Any] = {"model": "j"}
    if type_ == "model-graded-classify":
        base.update(prompt=PROMPT, choice_strings=["Y", "N"])
    if type_ == "model-graded-closedqa":
        base.update(criteria="c")
    merged = {k: v for k, v in {**base, **args}.items() if v is not None}
    with pytest.raises(ValidationError) as caught:
        build_scorer(ScorerSpec(type_, merged))
    assert fragment in str(caught.value)


def test_context_recall_needs_no_completion_placeholder():
    scorer = graded("context-recall", prompt="{context} holds {expected}?")
    assert "Paris" in user_message(scorer)


# --- reading the choice -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("eval_type", "reply", "choice"),
    [
        ("classify", "Y", "Y"),
        ("classify", "  N.  ", "N"),
        ("classify", "**Y**", "Y"),
        ("classify", "Answer: N", "N"),
        ("classify", "Y\nbecause it names Paris", "Y"),
        ("cot_classify", "It names Paris, the capital.\nY", "Y"),
        ("cot_classify", "Reasoning: Y would need Paris; it says Lyon.\nN", "N"),
        ("cot_classify", "Wrong city.\nN\n\n", "N"),
        ("cot_classify", "Step 1: check.\nN\nThank you for asking!", "N"),
        ("classify_cot", "Y\nIt names Paris.", "Y"),
        ("classify_cot", "(N) wrong city\nIt says Lyon.", "N"),
        ("classify_cot", "Let me see.\nY\nIt names Paris.", "Y"),
    ],
)
def test_the_choice_is_read_in_the_eval_type_layout(eval_type, reply, choice):
    score = graded(eval_type=eval_type).parse(reply)
    assert score.reason.startswith(f"judge chose {choice} ")
    assert (score.value, score.passed) == ((1.0, True) if choice == "Y" else (0.0, False))


def test_cot_classify_takes_the_last_line_not_the_first():
    assert graded(eval_type="cot_classify").parse("Y\nOn reflection, no.\nN").value == 0.0
    assert graded(eval_type="classify_cot").parse("Y\nOn reflection, no.\nN").value == 1.0


def test_the_reason_keeps_the_judges_reasoning():
    score = graded(eval_type="cot_classify").parse("It names Paris.\nY")
    assert score.reason == "judge chose Y (score 1, threshold 0.5): It names Paris."
    assert score.name == "model-graded-classify"


def test_choice_scores_set_the_value_and_the_threshold_the_verdict():
    scorer = graded(
        choice_strings=["A", "B", "C"],
        choice_scores={"A": 1, "B": 0.4},
        eval_type="classify",
        threshold=0.3,
    )
    assert [(s.value, s.passed) for s in map(scorer.parse, "ABC")] == [
        (1.0, True),
        (0.4, True),
        (0.0, False),
    ]


def test_factuality_passes_every_choice_but_disagreement():
    scorer = graded("factuality", eval_type="classify")
    assert {c: scorer.parse(c).passed for c in "ABCDE"} == {
        "A": True,
        "B": True,
        "C": True,
        "D": False,
        "E": True,
    }


def test_three_level_presets_give_partial_credit():
    scorer = graded("context-faithfulness", eval_type="classify")
    assert [scorer.parse(c).value for c in "ABC"] == [1.0, 0.5, 0.0]


def test_multi_character_choices_match_whole_words_only():
    scorer = graded(choice_strings=["Yes", "No"], eval_type="classify")
    assert scorer.parse("Yes, clearly").value == 1.0
    assert scorer.parse("Nothing to add").passed is False
    assert scorer.parse("Nothing to add").reason.startswith("judge gave no valid choice")


@pytest.mark.parametrize(
    "reply",
    ["", "   \n ", "Maybe.", "Y or N", "The answer is yes", "I cannot decide\nperhaps", None, 3],
)
def test_a_reply_without_one_valid_choice_scores_zero(reply):
    score = graded(eval_type="classify").parse(reply)  # type: ignore[arg-type]
    assert (score.value, score.passed) == (0.0, False)
    assert score.reason.startswith("judge gave no valid choice: ")


def test_an_article_a_in_reasoning_is_not_taken_for_choice_a():
    scorer = graded("factuality", eval_type="cot_classify")
    score = scorer.parse("A careful look shows they disagree.\nI pick the fourth option.")
    assert score.reason.startswith("judge gave no valid choice: A careful look")


def test_the_unparseable_reason_is_shortened():
    score = graded().parse("x" * 1000)
    assert len(score.reason) < 340 and score.reason.endswith("…")


def test_value_stands_for_the_expected_answer_when_given() -> None:
    # promptfoo's `factuality: value` / `context-recall: value` name the reference text.
    with_value = graded("factuality", value="Lyon is the capital")
    text = with_value.build_messages(CTX)[-1]["content"]
    assert "Lyon is the capital" in text
    plain = graded("factuality").build_messages(CTX)[-1]["content"]
    assert "Lyon" not in plain and "Paris" in plain
