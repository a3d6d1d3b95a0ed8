"""Model parameters are an allow-list: what re-routes or fabricates a call is refused."""

import pytest

from domain.errors import ValidationError
from domain.llm import GENERATION_PARAMS, check_embedding_params, check_generation_params
from domain.prompts import ModelSettings, Prompt, Template

REFUSED = ["custom_llm_provider", "mock_response", "extra_headers", "extra_body", "metadata", "n"]


@pytest.mark.parametrize("name", REFUSED)
def test_parameters_outside_the_allow_list_are_refused_by_name(name: str) -> None:
    with pytest.raises(ValidationError, match=f"model parameter '{name}' is not accepted") as e:
        check_generation_params({name: "x"})
    assert e.value.details == {
        "reason": "unsupported-parameter",
        "field": f"params.{name}",
        "parameter": name,
    }


def test_every_documented_generation_parameter_is_accepted() -> None:
    params = {
        "temperature": 0.2,
        "top_p": 1,
        "max_tokens": 64,
        "max_completion_tokens": 64,
        "stop": ["END"],
        "seed": 7,
        "response_format": {"type": "json_object"},
        "tools": [{"type": "function", "function": {"name": "f"}}],
        "tool_choice": "auto",
        "parallel_tool_calls": False,
        "presence_penalty": -1,
        "frequency_penalty": 0.5,
        "logit_bias": {"50256": -100},
        "logprobs": True,
        "top_logprobs": 5,
        "user": "u-1",
        "reasoning_effort": "low",
    }
    assert set(params) == GENERATION_PARAMS
    check_generation_params(params)
    check_generation_params(dict.fromkeys(params))  # None means unset


@pytest.mark.parametrize(
    ("params", "problem"),
    [
        ({"temperature": "hot"}, "'temperature' must be a number"),
        ({"temperature": 3}, "'temperature' must be between 0 and 2"),
        ({"max_tokens": True}, "'max_tokens' must be an integer"),
        ({"logprobs": "yes"}, "'logprobs' must be true or false"),
        ({"top_logprobs": 99}, "'top_logprobs' must be between 0 and 20"),
        ({"logit_bias": {"1": 500}}, "'logit_bias' values must be numbers in"),
        ({"response_format": "json"}, "'response_format' must be an object with a 'type'"),
        ({"stop": ["x"] * 17}, "'stop' must be a string or a list of at most 16"),
        ({"reasoning_effort": "max"}, "'reasoning_effort' must be one of none, minimal"),
    ],
)
def test_accepted_parameters_are_type_checked(params: dict[str, object], problem: str) -> None:
    with pytest.raises(ValidationError, match=problem) as caught:
        check_generation_params(params)
    assert caught.value.details["reason"] == "invalid-parameter"


def test_embedding_parameters_have_their_own_list() -> None:
    check_embedding_params({"dimensions": 64, "encoding_format": "float", "user": "u"})
    with pytest.raises(ValidationError, match="'temperature' is not accepted; embedding"):
        check_embedding_params({"temperature": 0})


def test_a_commit_with_a_refused_extra_is_refused_and_records_nothing() -> None:
    prompt = Prompt.create(name="p", owner="u", template=Template.from_text("Hi {{n}}"))
    before = prompt.pending_events
    fake = ModelSettings(extra={"mock_response": "a fabricated answer"})
    with pytest.raises(ValidationError, match="settings.extra: model parameter 'mock_response'"):
        prompt.commit(actor="u", settings=fake)
    with pytest.raises(ValidationError, match="'custom_llm_provider' is not accepted"):
        Prompt.create(
            name="q",
            owner="u",
            template=Template.from_text("Hi"),
            settings=ModelSettings(extra={"custom_llm_provider": "openai"}),
        )
    assert prompt.pending_events == before and len(prompt.log()) == 1


def test_a_stored_version_with_a_refused_extra_still_loads() -> None:
    stored = ModelSettings.from_dict({"extra": {"mock_response": "x"}})
    with pytest.raises(ValidationError, match="'mock_response' is not accepted"):
        stored.check_parameters()
