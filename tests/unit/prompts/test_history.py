from __future__ import annotations

from dataclasses import dataclass

import pytest

from domain.errors import ConflictError, NotFoundError, ValidationError
from domain.prompts import BranchMoved, ModelSettings, Prompt, Template
from domain.prompts.history import ancestors, first_parent_chain, is_ancestor, log_ids, merge_bases

from .support import fails_unchanged, make_prompt


@dataclass(frozen=True)
class Node:
    parents: tuple[str, ...]


# a ← b ← c ← m (merge of c and e) ← n
#      ↖ d ← e ↙
GRAPH = {
    "a": Node(()),
    "b": Node(("a",)),
    "c": Node(("b",)),
    "d": Node(("b",)),
    "e": Node(("d",)),
    "m": Node(("c", "e")),
    "n": Node(("m",)),
}


def test_first_parent_chain_skips_merged_branches() -> None:
    assert list(first_parent_chain(GRAPH, "n")) == ["n", "m", "c", "b", "a"]


def test_ancestors_follow_every_parent_and_include_the_start() -> None:
    assert ancestors(GRAPH, "m") == {"m", "c", "e", "d", "b", "a"}


def test_is_ancestor() -> None:
    assert is_ancestor(GRAPH, "d", "n")
    assert is_ancestor(GRAPH, "n", "n")
    assert not is_ancestor(GRAPH, "c", "e")


def test_merge_base_of_diverged_heads_is_the_fork_point() -> None:
    assert merge_bases(GRAPH, "c", "e") == ["b"]
    assert merge_bases(GRAPH, "n", "e") == ["e"]


def test_criss_cross_merges_have_two_best_bases() -> None:
    graph = {
        "r": Node(()),
        "x": Node(("r",)),
        "y": Node(("r",)),
        "p": Node(("x", "y")),
        "q": Node(("y", "x")),
    }
    assert merge_bases(graph, "p", "q") == ["x", "y"]


def test_unrelated_heads_have_no_merge_base() -> None:
    assert merge_bases({"a": Node(()), "b": Node(())}, "a", "b") == []


def test_log_pages_with_offset_and_cursor() -> None:
    assert log_ids(GRAPH, "n", limit=2) == ["n", "m"]
    assert log_ids(GRAPH, "n", limit=2, offset=2) == ["c", "b"]
    assert log_ids(GRAPH, "n", limit=10, before="c") == ["b", "a"]
    with pytest.raises(KeyError):
        log_ids(GRAPH, "n", limit=1, before="e")


def _prompt_with_three_versions() -> tuple[Prompt, list[str]]:
    prompt = make_prompt()
    ids = [prompt.head().id]
    for text in ("two {{ name }}", "three {{ name }}"):
        ids.append(prompt.commit(actor="u", template=Template.from_text(text)).id)
    return prompt, ids


def test_prompt_log_is_newest_first() -> None:
    prompt, ids = _prompt_with_three_versions()
    assert [c.id for c in prompt.log()] == ids[::-1]
    assert [c.id for c in prompt.log(limit=1, offset=1)] == [ids[1]]
    assert [c.id for c in prompt.log(before=ids[2])] == [ids[1], ids[0]]


def test_prompt_log_with_an_unknown_cursor_is_not_found() -> None:
    prompt, _ = _prompt_with_three_versions()
    with pytest.raises(NotFoundError) as info:
        prompt.log(before="nope")
    assert info.value.details["reason"] == "unknown-cursor"


def test_prompt_log_refuses_negative_pages() -> None:
    prompt, _ = _prompt_with_three_versions()
    with pytest.raises(ValidationError):
        prompt.log(limit=-1)


def test_refs_resolve_by_id_branch_label_and_prefix() -> None:
    prompt, ids = _prompt_with_three_versions()
    prompt.move_label(actor="u", label="production", to=ids[0])
    assert prompt.resolve("main") == ids[2]
    assert prompt.resolve("production") == ids[0]
    assert prompt.resolve(ids[1][:10]) == ids[1]
    with pytest.raises(NotFoundError):
        prompt.resolve(ids[1][:5])


def _diverged() -> Prompt:
    """main changed the settings, dev the template, both since the first version."""
    prompt = make_prompt()
    prompt.create_branch(actor="u", name="dev")
    prompt.commit(actor="u", settings=ModelSettings(model="gpt-4o"))
    prompt.commit(actor="u", template=Template.from_text("dev text"), branch="dev")
    return prompt


def test_merge_fast_forwards_when_target_is_behind() -> None:
    prompt = make_prompt()
    prompt.create_branch(actor="u", name="dev")
    dev = prompt.commit(actor="u", template=Template.from_text("new"), branch="dev")
    result = prompt.merge(actor="u", source="dev")
    assert (result.outcome, result.commit, prompt.head()) == ("fast-forward", dev, dev)
    event = prompt.pending_events[-1]
    assert isinstance(event, BranchMoved) and event.reason == "fast-forward"


def test_merge_of_an_ancestor_is_up_to_date_and_records_nothing() -> None:
    prompt = make_prompt()
    prompt.create_branch(actor="u", name="old")
    prompt.commit(actor="u", template=Template.from_text("new"))
    version = prompt.version
    assert prompt.merge(actor="u", source="old").outcome == "up-to-date"
    assert prompt.version == version


def test_changes_to_different_parts_merge_cleanly_from_each_side() -> None:
    prompt = _diverged()  # main changed the settings, dev the template
    ours, theirs = prompt.head(), prompt.head("dev")
    result = prompt.merge(actor="u", source="dev")
    assert result.outcome == "merge" and result.commit.parents == (ours.id, theirs.id)
    assert result.commit.content.template == theirs.content.template
    assert result.commit.content.settings == ours.content.settings


def test_both_sides_changing_one_part_is_a_conflict_listing_only_that_part() -> None:
    prompt = _diverged()
    prompt.commit(actor="u", template=Template.from_text("main text"))
    prompt.commit(actor="u", settings=ModelSettings(model="gpt-4o", seed=3), branch="dev")
    error = fails_unchanged(
        prompt, ConflictError, "merge-conflict", lambda: prompt.merge(actor="u", source="dev")
    )
    assert "merge conflict" in error.message
    assert error.details["differences"] == ["template.text"]  # the settings merge: seed added
    assert error.details["base"] == prompt.log("dev")[-1].id


def test_a_setting_both_sides_changed_differently_is_a_conflict() -> None:
    prompt = _diverged()
    prompt.commit(actor="u", settings=ModelSettings(model="gpt-4.1"), branch="dev")
    error = fails_unchanged(
        prompt, ConflictError, "merge-conflict", lambda: prompt.merge(actor="u", source="dev")
    )
    assert error.details["differences"] == ["settings.model"]


@pytest.mark.parametrize("strategy", ["ours", "theirs"])
def test_merge_with_a_strategy_takes_that_side_with_two_parents(strategy: str) -> None:
    prompt = _diverged()
    ours, theirs = prompt.head(), prompt.head("dev")
    result = prompt.merge(actor="u", source="dev", strategy=strategy)  # type: ignore[arg-type]
    assert result.outcome == "merge"
    assert result.commit.parents == (ours.id, theirs.id)
    assert result.commit.content == (ours if strategy == "ours" else theirs).content
    assert result.commit.message == "Merge dev into main"
    assert prompt.head() == result.commit


def test_merge_keeps_ours_when_theirs_did_not_change_content() -> None:
    prompt = make_prompt()
    base = prompt.head()
    prompt.create_branch(actor="u", name="dev")
    prompt.commit(actor="u", template=Template.from_text("tmp"), branch="dev")
    prompt.revert(actor="u", to=base.id, branch="dev")
    ours = prompt.commit(actor="u", template=Template.from_text("main only"))
    result = prompt.merge(actor="u", source="dev")
    assert result.outcome == "merge"
    assert result.commit.content == ours.content


def test_merge_takes_theirs_when_ours_did_not_change_content() -> None:
    prompt = make_prompt()
    base = prompt.head()
    prompt.create_branch(actor="u", name="dev")
    prompt.commit(actor="u", template=Template.from_text("tmp"))
    prompt.revert(actor="u", to=base.id)
    dev = prompt.commit(actor="u", template=Template.from_text("dev"), branch="dev")
    assert prompt.merge(actor="u", source="dev").commit.content == dev.content


def test_merge_with_an_unknown_strategy_is_refused() -> None:
    prompt = _diverged()
    fails_unchanged(
        prompt,
        ValidationError,
        "invalid-strategy",
        lambda: prompt.merge(actor="u", source="dev", strategy="both"),  # type: ignore[arg-type]
    )


def test_merge_checks_the_target_parent() -> None:
    prompt = _diverged()
    fails_unchanged(
        prompt,
        ConflictError,
        "stale-parent",
        lambda: prompt.merge(actor="u", source="dev", strategy="ours", parent="0" * 64),
    )


def test_merge_from_an_unknown_ref_is_not_found() -> None:
    prompt = make_prompt()
    fails_unchanged(
        prompt, NotFoundError, "unknown-ref", lambda: prompt.merge(actor="u", source="ghost")
    )


def test_log_follows_first_parents_through_a_merge() -> None:
    prompt = _diverged()
    main_before = [c.id for c in prompt.log()]
    merge = prompt.merge(actor="u", source="dev", strategy="theirs").commit
    assert [c.id for c in prompt.log()] == [merge.id, *main_before]
    assert prompt.is_ancestor("dev", "main")
