from __future__ import annotations

import pytest

from domain.errors import ValidationError
from domain.prompts import validate_prompt_name, validate_ref_name


@pytest.mark.parametrize("name", ["a", "Summarise – v2 ✨", "x" * 200])
def test_valid_prompt_names_pass_unchanged(name: str) -> None:
    assert validate_prompt_name(name) == name


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("", "empty"),
        ("x" * 201, "too-long"),
        ("tab\there", "control-characters"),
        ("nul\x00", "control-characters"),
        ("bidi\u202etrick", "control-characters"),
        (" padded", "surrounding-whitespace"),
        ("padded ", "surrounding-whitespace"),
        (42, "invalid-type"),
    ],
)
def test_bad_prompt_names_are_refused_with_a_reason(name: object, reason: str) -> None:
    with pytest.raises(ValidationError) as info:
        validate_prompt_name(name)
    assert info.value.details["reason"] == reason
    assert info.value.details["field"] == "name"


@pytest.mark.parametrize("name", ["main", "production", "feature/new-tone", "v1.2_rc", "9" * 100])
def test_valid_ref_names_pass(name: str) -> None:
    assert validate_ref_name(name, "branch") == name


@pytest.mark.parametrize(
    "name", ["", "-x", ".x", "/x", "a..b", "a b", "ä", "x" * 101, "a" * 64, "a:b"]
)
def test_bad_ref_names_are_refused(name: str) -> None:
    with pytest.raises(ValidationError) as info:
        validate_ref_name(name, "label")
    assert info.value.details["reason"] == "invalid-ref-name"


def test_control_characters_in_ref_names_have_their_own_reason() -> None:
    with pytest.raises(ValidationError) as info:
        validate_ref_name("prod\n", "label")
    assert info.value.details["reason"] == "control-characters"
