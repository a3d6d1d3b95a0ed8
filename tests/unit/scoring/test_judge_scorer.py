import pytest

from domain.errors import ValidationError
from domain.scoring import (
    DEFAULT_JUDGE_TEMPLATE,
    JUDGE_RESPONSE_FORMAT,
    JUDGE_SYSTEM_PROMPT,
    JudgeScorer,
    ScoreContext,
    ScorerSpec,
    build_scorer,
)

CTX = ScoreContext(output="Paris", expected="Paris", variables={"country": "France"})


def judge(threshold: float | None = None, **args: object) -> JudgeScorer:
    spec = ScorerSpec("llm-judge", {"model": "sim-judge", "rubric": "Names the capital.", **args})
    scorer = build_scorer(ScorerSpec.from_dict({**spec.to_dict(), "threshold": threshold}))
    assert isinstance(scorer, JudgeScorer)
    return scorer


def test_is_marked_as_needing_a_completion():
    scorer = judge()
    assert (scorer.needs, scorer.judge_model, scorer.threshold) == ("completion", "sim-judge", 0.5)


def test_exact_prompt_is_exposed_for_the_run_record():
    scorer = judge(prompt="Grade {{ output }}")
    assert (scorer.system_prompt, scorer.prompt_template) == (
        JUDGE_SYSTEM_PROMPT,
        "Grade {{ output }}",
    )


def test_default_template_is_used_without_prompt_argument():
    assert judge().prompt_template == DEFAULT_JUDGE_TEMPLATE


def test_system_prompt_asks_for_the_json_format():
    system, _ = judge().build_messages(CTX)
    assert system == {"role": "system", "content": JUDGE_SYSTEM_PROMPT}
    assert JUDGE_RESPONSE_FORMAT in system["content"]


def test_system_prompt_avoids_words_that_switch_sim_judge_to_pass_fail():
    assert not ("PASS" in JUDGE_SYSTEM_PROMPT and "FAIL" in JUDGE_SYSTEM_PROMPT)


def test_user_message_holds_rubric_variables_expected_and_output():
    _, user = judge().build_messages(CTX)
    assert user["role"] == "user"
    content = user["content"]
    assert "Rubric:\nNames the capital." in content
    assert '"country": "France"' in content
    assert "<expected>\nParis\n</expected>" in content
    assert content.endswith("<answer>\nParis\n</answer>")


def test_user_message_omits_expected_section_without_expected():
    _, user = judge().build_messages(ScoreContext(output="Paris"))
    assert "<expected>" not in user["content"]


def test_custom_prompt_template_is_rendered_once():
    scorer = judge(prompt="Grade {{ output }} vs {{expected}} by {{ rubric }}")
    _, user = scorer.build_messages(ScoreContext(output="{{ rubric }}", expected=None))
    assert user["content"] == "Grade {{ rubric }} vs (none) by Names the capital."


def test_custom_prompt_must_show_the_output():
    with pytest.raises(ValidationError, match="must contain"):
        judge(prompt="Grade {{ expected }}")


def test_custom_prompt_with_unknown_placeholder_is_rejected():
    with pytest.raises(ValidationError, match=r"unknown placeholder\(s\) \['answer'\]"):
        judge(prompt="{{ output }} {{ answer }}")


def test_pass_threshold_argument_sets_the_pass_mark():
    assert judge(pass_threshold=0.9).threshold == 0.9


def test_rubric_is_required():
    with pytest.raises(ValidationError, match="'rubric' is required"):
        build_scorer(ScorerSpec("llm-judge", {"model": "sim-judge"}))


@pytest.mark.parametrize(
    ("reply", "value", "passed", "reason_part"),
    [
        ('{"score": 0.9, "reason": "correct"}', 0.9, True, "correct"),
        ('{"score": 1.0, "pass": true, "reason": "contains it"}', 1.0, True, "contains it"),
        ('Here you go:\n```json\n{"score": 0.2, "reason": "wrong"}\n```', 0.2, False, "wrong"),
        ('{"note": 1} then {"score": "0.7", "reason": "ok"}', 0.7, True, "ok"),
        ('{"pass": false, "reason": "no"}', 0.0, False, "no"),
        ('{"verdict": "PASS"}', 1.0, True, "judge score 1"),
        ("PASS\nReason: the answer contains the expected text", 1.0, True, "the answer contains"),
        ("FAIL", 0.0, False, "judge score 0"),
        ("**Fail** - it names Lyon", 0.0, False, "it names Lyon"),
        ("After review, the verdict is PASS.", 1.0, True, "verdict is PASS"),
        ("0.75", 0.75, True, "judge score 0.75"),
        ("Score: 0.3\nReason: vague", 0.3, False, "vague"),
        ("80%", 0.8, True, "judge score 0.8"),
        ("7/10", 0.7, True, "judge score 0.7"),
    ],
)
def test_parse_reads_judge_replies(reply, value, passed, reason_part):
    result = judge().parse(reply)
    assert result.value == pytest.approx(value) and result.passed is passed
    assert reason_part in result.reason and result.name == "llm-judge"


@pytest.mark.parametrize(
    ("reply", "reason_start"),
    [
        ("", "unparseable judge response"),
        ("I cannot decide.", "unparseable judge response"),
        ("The answer has 1 error", "unparseable judge response"),
        ('{"score": "great"}', "unparseable judge response"),
        ("PASS or FAIL? Hard to say", "unparseable judge response"),
        ('{"score": 8}', "judge score 8.0 is outside [0, 1]"),
        ("3/0", "judge score nan is outside [0, 1]"),
    ],
)
def test_parse_never_raises(reply, reason_start):
    result = judge().parse(reply)
    assert result.reason.startswith(reason_start)


def test_unparseable_reply_scores_zero_and_fails():
    result = judge().parse("no idea")
    assert (result.value, result.passed) == (0.0, False)
    assert result.reason == "unparseable judge response: 'no idea'"
