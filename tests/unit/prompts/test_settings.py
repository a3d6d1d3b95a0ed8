from __future__ import annotations

import pickle
from typing import Any

import pytest

from domain.errors import ValidationError
from domain.prompts import ModelSettings


def test_whole_numbers_are_normalised_to_floats_so_equal_settings_hash_equally() -> None:
    assert ModelSettings(temperature=1) == ModelSettings(temperature=1.0)
    assert hash(ModelSettings(temperature=1)) == hash(ModelSettings(temperature=1.0))
    assert ModelSettings(temperature=1).to_dict() == {"temperature": 1.0}


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("temperature", 2.5),
        ("temperature", -0.1),
        ("temperature", float("nan")),
        ("temperature", "0.5"),
        ("top_p", 1.5),
        ("max_tokens", 0),
        ("max_tokens", 10.0),
        ("max_tokens", True),
        ("presence_penalty", 3),
        ("stop", [""]),
        ("stop", ["s"] * 17),
        ("seed", 1.5),
    ],
)
def test_out_of_range_or_ill_typed_values_are_refused(field: str, value: Any) -> None:
    with pytest.raises(ValidationError) as info:
        ModelSettings(**{field: value})
    assert info.value.details == {"reason": "invalid-setting", "field": field}


def test_model_name_follows_name_rules() -> None:
    with pytest.raises(ValidationError) as info:
        ModelSettings(model="gpt\n4")
    assert info.value.details["reason"] == "control-characters"


def test_extra_is_deep_frozen_and_still_equal_to_plain_data() -> None:
    settings = ModelSettings(extra={"response_format": {"type": "json", "keys": ["a"]}})
    with pytest.raises(TypeError):
        settings.extra["x"] = 1  # type: ignore[index]
    assert settings.to_dict() == {"extra": {"response_format": {"type": "json", "keys": ["a"]}}}


def test_extra_must_not_shadow_fields_or_carry_messages() -> None:
    with pytest.raises(ValidationError) as info:
        ModelSettings(extra={"temperature": 1, "messages": []})
    assert "messages, temperature" in info.value.message


def test_extra_must_be_json() -> None:
    with pytest.raises(ValidationError) as info:
        ModelSettings(extra={"when": object()})
    assert info.value.details["reason"] == "not-json"


def test_dict_form_round_trips_and_omits_unset_fields() -> None:
    settings = ModelSettings(model="m", max_tokens=10, stop=["END"], extra={"seed_x": [1, 2.5]})
    data = settings.to_dict()
    assert data == {"model": "m", "max_tokens": 10, "stop": ["END"], "extra": {"seed_x": [1, 2.5]}}
    assert ModelSettings.from_dict(data) == settings


def test_unknown_keys_are_refused_by_from_dict() -> None:
    with pytest.raises(ValidationError) as info:
        ModelSettings.from_dict({"model": "m", "temprature": 1})
    assert info.value.details == {"reason": "unknown-setting", "keys": ["temprature"]}


def test_as_params_flattens_extra_for_an_llm_call() -> None:
    settings = ModelSettings(model="m", temperature=0, extra={"response_format": {"type": "json"}})
    assert settings.as_params() == {
        "model": "m",
        "temperature": 0.0,
        "response_format": {"type": "json"},
    }


def test_settings_survive_pickling() -> None:
    settings = ModelSettings(model="m", extra={"a": {"b": [1]}})
    assert pickle.loads(pickle.dumps(settings)) == settings
