"""The simulated models' task solving, skill, judging and limits: pure, no server."""

from __future__ import annotations

import json
import math

import pytest

from domain.errors import ValidationError
from engine.cli.simulator import main
from engine.simulator import (
    SIMULATED_MODELS,
    ModelProfile,
    SimulatorConfig,
    embed,
    simulate_reply,
)
from engine.simulator._limits import RateLimiter

ORACLE = ModelProfile("oracle", 1.0, 1.0, 0.0, 0.0, 100_000)
DUNCE = ModelProfile("dunce", 0.0, 1.0, 0.0, 0.0, 100_000)
ONLY = "\nAnswer with only the answer."


def ask(text: str, model: str | ModelProfile = ORACLE, **kwargs: object) -> str:
    return simulate_reply(model, [{"role": "user", "content": text}], **kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("prompt", "answer"),
    [
        ("What is 12 + 7?", "19"),
        ("compute 3 * 4", "12"),
        ("12 plus 7", "19"),
        ("What is 5 - 9?", "-4"),
        ("What is 10 / 4?", "2.5"),
        ("What is 10 / 3?", "3.33"),
        ("Calculate 6 divided by 0.", "undefined"),
    ],
)
def test_arithmetic(prompt: str, answer: str) -> None:
    assert ask(prompt + ONLY) == answer


@pytest.mark.parametrize(
    ("prompt", "answer"),
    [
        ("Reverse the word hello", "olleh"),
        ("reverse: hello world", "dlrow olleh"),
        ("uppercase: hello world", "HELLO WORLD"),
        ("Convert 'Hello' to uppercase", "HELLO"),
        ("Convert the following text to lowercase: HeLLo There", "hello there"),
        ("Count the letters in strawberry", "10"),
        ("How many letters are in the word banana?", "6"),
    ],
)
def test_string_transforms(prompt: str, answer: str) -> None:
    assert ask(prompt + ONLY) == answer


@pytest.mark.parametrize(
    ("prompt", "label"),
    [
        ("Classify the sentiment: I love this product, it is great", "positive"),
        ("Classify the sentiment: the service was not good and the food was awful", "negative"),
        ("Classify the sentiment: the package arrived on Tuesday", "neutral"),
        ("Classify the sentiment (Positive, Negative or Neutral): a wonderful day", "Positive"),
        ("Classify this ticket into billing, technical or account: I was charged twice", "billing"),
        ("Classify into sports, politics or technology: the team won the game", "sports"),
    ],
)
def test_classification(prompt: str, label: str) -> None:
    assert ask(prompt + ONLY) == label


def test_json_extraction() -> None:
    reply = ask("Extract name and age as JSON from: Alice is 30 years old." + ONLY)
    assert json.loads(reply) == {"name": "Alice", "age": 30}


def test_json_extraction_with_city() -> None:
    reply = ask("Extract the name, age and city as JSON: Bob Smith, aged 41, lives in Paris" + ONLY)
    assert json.loads(reply) == {"name": "Bob Smith", "age": 41, "city": "Paris"}


def test_unrecognised_prompt_gets_a_sentence_from_its_words() -> None:
    reply = ask("Tell me about the history of Rome and its emperors")
    assert "history" in reply and "rome" in reply
    assert reply == ask("Tell me about the history of Rome and its emperors")


def test_without_an_only_instruction_the_answer_comes_with_chatter() -> None:
    reply = ask("What is 12 + 30?")
    assert reply != "42" and "42" in reply


def test_the_same_request_gets_the_same_answer() -> None:
    prompt = "What is 17 * 3?"
    replies = {ask(prompt, "sim-small", temperature=0.7, request_seed=5) for _ in range(5)}
    assert len(replies) == 1


def test_seeds_change_answers() -> None:
    prompt = "What is 17 * 3?"
    by_request_seed = {ask(prompt, "sim-small", request_seed=s) for s in range(40)}
    by_config_seed = {ask(prompt, "sim-small", seed=s) for s in range(40)}
    assert len(by_request_seed) > 1 and len(by_config_seed) > 1


def accuracy(model: str, system: str = "", suffix: str = ONLY, n: int = 200) -> float:
    right = 0
    for i in range(n):
        a, b = 3 + i * 7 % 89, 11 + i * 13 % 97
        messages = [{"role": "user", "content": f"What is {a} + {b}?{suffix}"}]
        if system:
            messages.insert(0, {"role": "system", "content": system})
        right += simulate_reply(model, messages, request_seed=i) == str(a + b)
    return right / n


def test_a_larger_model_is_more_accurate() -> None:
    small, medium, large = (accuracy(m) for m in ("sim-small", "sim-medium", "sim-large"))
    assert 0.45 < small < 0.75 and large > 0.88
    assert small < medium < large


def test_a_better_prompt_scores_better() -> None:
    plain = accuracy("sim-small", n=400)
    better = accuracy("sim-small", system="You are careful. Think step by step.", n=400)
    assert better > plain + 0.1


def test_mistakes_are_plausible() -> None:
    reply = ask("What is 20 + 22?" + ONLY, DUNCE)
    assert reply in {"41", "43", "440"}
    broken = ask("Extract name and age as JSON from: Alice is 30 years old." + ONLY, DUNCE)
    assert broken != '{"name": "Alice", "age": 30}'


def test_judge_replies_pass_or_fail_when_asked() -> None:
    prompt = "Reply PASS or FAIL.\nQuestion: What is 2+2?\nExpected: 4\nAnswer: It is 4."
    assert ask(prompt, "sim-judge").splitlines()[0] == "PASS"
    wrong = prompt.replace("It is 4.", "It is 5.")
    assert ask(wrong, "sim-judge").splitlines()[0] == "FAIL"


def test_judge_replies_json_score_by_default() -> None:
    prompt = "Rubric: must name the capital.\n<expected>Paris</expected>\n<answer>Lyon</answer>"
    verdict = json.loads(ask(prompt, "sim-judge"))
    assert verdict["score"] == 0.0 and verdict["pass"] is False and verdict["reason"]
    good = json.loads(ask(prompt.replace("Lyon", "It is Paris."), "sim-judge"))
    assert good["score"] == 1.0 and good["pass"] is True


def test_embeddings_are_unit_vectors_similar_for_similar_texts() -> None:
    cat, cat2, stocks = embed("the cat sat on the mat"), embed("a cat sat on a mat"), embed("fx")
    assert len(cat) == 64 and math.isclose(sum(v * v for v in cat), 1.0)
    cosine = sum(x * y for x, y in zip(cat, cat2, strict=True))
    assert cosine > 0.7 > abs(sum(x * y for x, y in zip(cat, stocks, strict=True)))
    assert embed("the cat sat on the mat") == cat


def test_profiles_differ_in_skill_speed_and_price() -> None:
    small, large = SIMULATED_MODELS["sim-small"], SIMULATED_MODELS["sim-large"]
    assert small.skill < large.skill and small.latency_factor < large.latency_factor
    assert small.output_cost_per_token < large.output_cost_per_token
    assert "sim-judge" in SIMULATED_MODELS and "sim-medium" in SIMULATED_MODELS


@pytest.mark.parametrize(
    "bad",
    [{"latency_ms": -1}, {"error_rate": 1.5}, {"timeout_rate": -0.1}, {"rpm": 0}, {"tpm": -5}],
)
def test_invalid_config_is_refused(bad: dict[str, float]) -> None:
    with pytest.raises(ValidationError, match="invalid simulator config"):
        SimulatorConfig(**bad)  # type: ignore[arg-type]


def test_main_refuses_invalid_flags() -> None:
    assert main(["--rpm", "0"]) == 2
    assert main(["--error-rate", "2"]) == 2


def test_rate_limiter_uses_a_sliding_minute() -> None:
    now = [0.0]
    limiter = RateLimiter(rpm=2, tpm=None, clock=lambda: now[0])
    assert limiter.admit(10).allowed
    now[0] = 30.0
    assert limiter.admit(10).allowed
    refused = limiter.admit(10)
    assert not refused.allowed and refused.headers["Retry-After"] == "30"
    assert refused.headers["x-ratelimit-remaining-requests"] == "0"
    now[0] = 60.5
    assert limiter.admit(10).allowed
    assert not limiter.admit(10).allowed


def test_rate_limiter_window_can_be_shortened() -> None:
    now = [0.0]
    limiter = RateLimiter(rpm=2, tpm=None, clock=lambda: now[0], window_s=5.0)
    assert limiter.admit(10).allowed and limiter.admit(10).allowed
    refused = limiter.admit(10)
    assert not refused.allowed and refused.headers["Retry-After"] == "5"
    assert refused.headers["x-ratelimit-reset-requests"] == "5s"
    now[0] = 5.01
    assert limiter.admit(10).allowed


def test_main_refuses_a_window_of_zero() -> None:
    assert main(["--window-s", "0"]) == 2


def test_token_limit_counts_tokens_and_refusals_consume_nothing() -> None:
    now = [0.0]
    limiter = RateLimiter(rpm=None, tpm=100, clock=lambda: now[0])
    assert limiter.admit(60).allowed
    for _ in range(3):
        refused = limiter.admit(60)
        assert not refused.allowed and refused.limited_by == "tokens"
    assert limiter.admit(40).allowed
