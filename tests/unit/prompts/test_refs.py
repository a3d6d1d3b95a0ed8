"""Refs a person types: vN, ~N, labels and branches, resolved by the prompt's state."""

from __future__ import annotations

import pytest

from domain.errors import NotFoundError, ValidationError
from domain.prompts import Prompt, Template, validate_ref_name
from domain.prompts.refs import parse_ref
from tests.unit.prompts.support import make_prompt


def three_versions() -> tuple[Prompt, list[str]]:
    prompt = make_prompt()
    ids = [prompt.head().id]
    for text in ("Hi {{ name }}", "Hey {{ name }}"):
        ids.append(prompt.commit(actor="user-1", template=Template.from_text(text)).id)
    prompt.move_label(actor="user-1", label="production", to=ids[1])
    return prompt, ids


@pytest.mark.parametrize(
    ("text", "base", "number", "back"),
    [
        ("main", "main", None, 0),
        ("v3", "v3", 3, 0),
        ("main~1", "main", None, 1),
        ("v3~2", "v3", 3, 2),
        ("production~~", "production", None, 2),
        ("v0", "v0", None, 0),
    ],
)
def test_parse_splits_the_base_and_the_steps_back(
    text: str, base: str, number: int | None, back: int
) -> None:
    ref = parse_ref(text)
    assert (ref.base, ref.number, ref.back) == (base, number, back)


@pytest.mark.parametrize("text", ["~1", "main~x", "main~-1"])
def test_a_malformed_ref_is_refused_listing_what_a_ref_can_be(text: str) -> None:
    with pytest.raises(ValidationError, match="vN") as caught:
        parse_ref(text)
    assert caught.value.details["reason"] == "invalid-ref"


def test_version_numbers_parents_and_labels_resolve() -> None:
    prompt, ids = three_versions()

    assert [prompt.resolve(f"v{n}") for n in (1, 2, 3)] == ids
    assert prompt.resolve("main~1") == ids[1]
    assert prompt.resolve("main~2") == prompt.resolve("v3~2") == ids[0]
    assert prompt.resolve("production") == prompt.resolve("production~0") == ids[1]
    assert prompt.resolve(ids[2][:7] + "~1") == ids[1]


def test_refs_that_name_nothing_say_what_a_ref_can_be() -> None:
    prompt, _ = three_versions()

    with pytest.raises(NotFoundError, match="a ref is a branch, a label, vN") as unknown:
        prompt.resolve("v4")
    with pytest.raises(NotFoundError, match="has 2 before it") as too_far:
        prompt.resolve("main~3")
    assert unknown.value.details["reason"] == too_far.value.details["reason"] == "unknown-ref"


def test_a_branch_or_label_cannot_be_named_like_a_version_number() -> None:
    with pytest.raises(ValidationError, match="version number 3") as caught:
        validate_ref_name("v3", "label")
    assert caught.value.details["reason"] == "invalid-ref-name"
    assert validate_ref_name("v3-release", "label") == "v3-release"
