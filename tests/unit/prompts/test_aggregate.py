from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest

from domain.errors import ConflictError, NotFoundError, ValidationError
from domain.prompts import (
    BranchCreated,
    BranchMoved,
    LabelMoved,
    ModelSettings,
    Prompt,
    PromptCreated,
    PromptLimits,
    Template,
    VersionCommitted,
    duplicate_name_error,
)

from .support import START, FakeClock, fails_unchanged, make_prompt, persisted_prompt

NEW = Template.from_text("Hi there, {{ name }}")
NEW_SETTINGS = ModelSettings(model="gpt-4o", temperature=0.7)


def test_create_records_prompt_first_version_and_main_branch() -> None:
    prompt = make_prompt()
    created, committed, branch = prompt.pending_events
    assert isinstance(created, PromptCreated) and created.name == "greeting"
    assert isinstance(committed, VersionCommitted) and committed.parents == ()
    assert branch == BranchCreated(
        prompt_id="prompt-1",
        at=START,
        actor="user-1",
        branch="main",
        version_id=committed.version_id,
    )
    assert prompt.version == 3 and prompt.persisted_version == 0
    assert prompt.head().id == committed.version_id


def test_create_takes_tags_description_and_a_distinct_actor() -> None:
    prompt = make_prompt(tags=["b", "a", "b"], description="Say hi\nnicely", actor="admin")
    assert prompt.tags == ("a", "b")
    assert prompt.description == "Say hi\nnicely"
    assert (prompt.owner, prompt.created_by, prompt.head().author) == ("user-1", "admin", "admin")


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("bad\x07name", "control-characters"),
        ("x" * 201, "too-long"),
        ("", "empty"),
        (" pad", "surrounding-whitespace"),
    ],
)
def test_create_refuses_bad_names(name: str, reason: str) -> None:
    with pytest.raises(ValidationError) as info:
        make_prompt(name=name)
    assert info.value.details["reason"] == reason


def test_create_refuses_a_template_over_the_size_limit() -> None:
    with pytest.raises(ValidationError) as info:
        make_prompt(template=Template.from_text("x" * (1 << 20)))
    assert info.value.details["reason"] == "template-too-large"


def test_duplicate_name_error_is_a_conflict_with_a_reason() -> None:
    error = duplicate_name_error("user-1", "greeting")
    assert isinstance(error, ConflictError)
    assert error.details == {"reason": "duplicate-name", "owner": "user-1", "name": "greeting"}


def test_commit_adds_a_version_and_moves_the_branch() -> None:
    prompt = persisted_prompt()
    first = prompt.head()
    commit = prompt.commit(actor="user-2", template=NEW, message="friendlier", parent=first.id)
    assert commit.parents == (first.id,)
    assert commit.settings == first.settings
    assert (commit.author, commit.message) == ("user-2", "friendlier")
    assert prompt.head() == commit
    committed, moved = prompt.pending_events
    assert isinstance(committed, VersionCommitted) and committed.version_id == commit.id
    assert moved == BranchMoved(
        prompt_id="prompt-1",
        at=commit.committed_at,
        actor="user-2",
        branch="main",
        from_version=first.id,
        to_version=commit.id,
        reason="commit",
    )


def test_commit_of_settings_only_keeps_the_template() -> None:
    prompt = make_prompt()
    commit = prompt.commit(actor="user-1", settings=NEW_SETTINGS)
    assert commit.template == Template.from_text("Hello {{ name }}")
    assert commit.settings == NEW_SETTINGS


def test_commit_time_comes_from_the_injected_clock() -> None:
    clock = FakeClock()
    prompt = make_prompt(clock)
    assert prompt.commit(actor="user-1", template=NEW).committed_at == START + timedelta(seconds=1)


def test_commit_on_a_stale_parent_is_a_conflict_and_changes_nothing() -> None:
    prompt = make_prompt()
    first = prompt.head().id
    prompt.commit(actor="user-1", template=NEW)
    error = fails_unchanged(
        prompt,
        ConflictError,
        "stale-parent",
        lambda: prompt.commit(actor="user-1", settings=NEW_SETTINGS, parent=first),
    )
    assert "stale parent" in error.message
    assert error.details["expected"] == first


def test_a_one_megabyte_template_fails_and_changes_nothing() -> None:
    prompt = make_prompt()
    error = fails_unchanged(
        prompt,
        ValidationError,
        "template-too-large",
        lambda: prompt.commit(actor="user-1", template=Template.from_text("x" * 1_000_000)),
    )
    assert error.details["limit_bytes"] == 256 * 1024


def test_the_template_limit_is_configurable() -> None:
    prompt = make_prompt(limits=PromptLimits(max_template_bytes=2 << 20))
    assert prompt.commit(actor="u", template=Template.from_text("x" * 1_000_000)).template


def test_oversized_settings_are_refused() -> None:
    prompt = make_prompt()
    big = ModelSettings(extra={"blob": "x" * 70_000})
    fails_unchanged(
        prompt,
        ValidationError,
        "settings-too-large",
        lambda: prompt.commit(actor="u", settings=big),
    )


def test_commit_without_changes_is_refused() -> None:
    prompt = make_prompt()
    fails_unchanged(
        prompt,
        ValidationError,
        "no-changes",
        lambda: prompt.commit(actor="u", template=prompt.head().template),
    )


def test_commit_on_an_unknown_branch_is_not_found() -> None:
    prompt = make_prompt()
    fails_unchanged(
        prompt,
        NotFoundError,
        "unknown-branch",
        lambda: prompt.commit(actor="u", template=NEW, branch="nope"),
    )


def test_commit_with_a_bad_actor_is_refused() -> None:
    prompt = make_prompt()
    fails_unchanged(
        prompt,
        ValidationError,
        "control-characters",
        lambda: prompt.commit(actor="u\x1b", template=NEW),
    )


def test_commit_of_a_non_template_is_refused() -> None:
    prompt = make_prompt()
    not_a_template: Any = "Hi"
    fails_unchanged(
        prompt,
        ValidationError,
        "invalid-template",
        lambda: prompt.commit(actor="u", template=not_a_template),
    )


def test_a_naive_clock_is_refused() -> None:
    readings = iter([START, datetime(2024, 1, 2)])
    prompt = make_prompt(lambda: next(readings))
    fails_unchanged(
        prompt, ValidationError, "naive-datetime", lambda: prompt.commit(actor="u", template=NEW)
    )


def test_revert_commits_the_content_of_an_older_version() -> None:
    prompt = make_prompt()
    first = prompt.head()
    second = prompt.commit(actor="u", template=NEW, settings=NEW_SETTINGS)
    reverted = prompt.revert(actor="u", to=first.id, parent=second.id)
    assert reverted.content == first.content and reverted.content_id == first.content_id
    assert reverted.id not in (first.id, second.id)
    assert reverted.parents == (second.id,)
    assert reverted.message == f"Revert to {first.id[:12]}"
    assert isinstance(prompt.pending_events[-1], BranchMoved)
    assert prompt.pending_events[-1].reason == "revert"


def test_revert_to_an_unknown_version_is_not_found() -> None:
    prompt = make_prompt()
    fails_unchanged(
        prompt, NotFoundError, "unknown-ref", lambda: prompt.revert(actor="u", to="f" * 64)
    )


def test_revert_to_the_current_content_is_refused() -> None:
    prompt = make_prompt()
    fails_unchanged(
        prompt, ValidationError, "no-changes", lambda: prompt.revert(actor="u", to=prompt.head().id)
    )


def test_branch_from_any_version_then_commit_on_it() -> None:
    prompt = make_prompt()
    first = prompt.head()
    prompt.commit(actor="u", template=NEW)
    assert prompt.create_branch(actor="u", name="experiment/tone", start=first.id) == first
    commit = prompt.commit(actor="u", settings=NEW_SETTINGS, branch="experiment/tone")
    assert commit.parents == (first.id,)
    assert prompt.branches["experiment/tone"] == commit.id


def test_branch_defaults_to_main_head() -> None:
    prompt = make_prompt()
    assert prompt.create_branch(actor="u", name="dev") == prompt.head()


@pytest.mark.parametrize(
    ("name", "reason"),
    [("bad\nname", "control-characters"), ("a..b", "invalid-ref-name"), ("-x", "invalid-ref-name")],
)
def test_bad_branch_names_are_refused(name: str, reason: str) -> None:
    prompt = make_prompt()
    fails_unchanged(
        prompt, ValidationError, reason, lambda: prompt.create_branch(actor="u", name=name)
    )


def test_an_existing_branch_cannot_be_created_again() -> None:
    prompt = make_prompt()
    fails_unchanged(
        prompt, ConflictError, "branch-exists", lambda: prompt.create_branch(actor="u", name="main")
    )


def test_a_branch_cannot_take_a_label_name() -> None:
    prompt = make_prompt()
    prompt.move_label(actor="u", label="production", to="main")
    fails_unchanged(
        prompt,
        ConflictError,
        "label-exists",
        lambda: prompt.create_branch(actor="u", name="production"),
    )


def test_delete_branch_keeps_its_versions() -> None:
    prompt = make_prompt()
    prompt.create_branch(actor="u", name="dev")
    commit = prompt.commit(actor="u", template=NEW, branch="dev")
    prompt.delete_branch(actor="u", name="dev")
    assert "dev" not in prompt.branches
    assert prompt.get_version(commit.id) == commit


def test_main_cannot_be_deleted() -> None:
    prompt = make_prompt()
    fails_unchanged(
        prompt,
        ConflictError,
        "default-branch",
        lambda: prompt.delete_branch(actor="u", name="main"),
    )


def test_deleting_an_unknown_branch_is_not_found() -> None:
    prompt = make_prompt()
    fails_unchanged(
        prompt, NotFoundError, "unknown-branch", lambda: prompt.delete_branch(actor="u", name="dev")
    )


def test_labels_are_set_and_moved_with_events() -> None:
    prompt = persisted_prompt()
    first = prompt.head()
    second = prompt.commit(actor="u", template=NEW)
    prompt.move_label(actor="u", label="production", to=first.id)
    prompt.move_label(actor="u", label="production", to="main")
    assert prompt.labels == {"production": second.id}
    moves = [e for e in prompt.pending_events if isinstance(e, LabelMoved)]
    assert [(m.from_version, m.to_version) for m in moves] == [
        (None, first.id),
        (first.id, second.id),
    ]


def test_moving_a_label_where_it_is_records_nothing() -> None:
    prompt = make_prompt()
    prompt.move_label(actor="u", label="staging", to="main")
    version = prompt.version
    prompt.move_label(actor="u", label="staging", to="main")
    assert prompt.version == version


def test_a_label_to_a_missing_version_is_not_found() -> None:
    prompt = make_prompt()
    fails_unchanged(
        prompt,
        NotFoundError,
        "unknown-ref",
        lambda: prompt.move_label(actor="u", label="production", to="0" * 64),
    )


def test_bad_label_names_are_refused() -> None:
    prompt = make_prompt()
    fails_unchanged(
        prompt,
        ValidationError,
        "control-characters",
        lambda: prompt.move_label(actor="u", label="prod\tx", to="main"),
    )


def test_a_label_cannot_take_a_branch_name() -> None:
    prompt = make_prompt()
    fails_unchanged(
        prompt,
        ConflictError,
        "branch-exists",
        lambda: prompt.move_label(actor="u", label="main", to="main"),
    )


def test_delete_label() -> None:
    prompt = make_prompt()
    prompt.move_label(actor="u", label="production", to="main")
    prompt.delete_label(actor="u", label="production")
    assert prompt.labels == {}


def test_deleting_an_unknown_label_is_not_found() -> None:
    prompt = make_prompt()
    fails_unchanged(
        prompt,
        NotFoundError,
        "unknown-label",
        lambda: prompt.delete_label(actor="u", label="production"),
    )


def test_archived_prompts_refuse_commits_until_restored() -> None:
    prompt = make_prompt()
    prompt.archive(actor="u")
    assert prompt.archived
    fails_unchanged(
        prompt, ConflictError, "archived", lambda: prompt.commit(actor="u", template=NEW)
    )
    fails_unchanged(
        prompt,
        ConflictError,
        "archived",
        lambda: prompt.move_label(actor="u", label="production", to="main"),
    )
    prompt.restore(actor="u")
    assert prompt.commit(actor="u", template=NEW)


def test_archive_twice_and_restore_when_active_are_conflicts() -> None:
    prompt = make_prompt()
    fails_unchanged(prompt, ConflictError, "not-archived", lambda: prompt.restore(actor="u"))
    prompt.archive(actor="u")
    fails_unchanged(prompt, ConflictError, "archived", lambda: prompt.archive(actor="u"))


def test_change_details_replaces_name_description_and_tags() -> None:
    prompt = make_prompt()
    prompt.change_details(actor="u", name="hello", tags=["x"])
    assert (prompt.name, prompt.description, prompt.tags) == ("hello", "", ("x",))


def test_change_details_without_changes_records_nothing() -> None:
    prompt = make_prompt()
    version = prompt.version
    prompt.change_details(actor="u", name="greeting")
    assert prompt.version == version


def test_change_details_validates_the_name() -> None:
    prompt = make_prompt()
    fails_unchanged(
        prompt,
        ValidationError,
        "control-characters",
        lambda: prompt.change_details(actor="u", name="a\x00"),
    )


def test_mark_persisted_clears_pending_events_only() -> None:
    prompt = make_prompt()
    prompt.commit(actor="u", template=NEW)
    assert (prompt.version, prompt.persisted_version, len(prompt.pending_events)) == (5, 0, 5)
    prompt.mark_persisted()
    assert (prompt.version, prompt.persisted_version, prompt.pending_events) == (5, 5, ())


def test_replay_of_the_events_rebuilds_the_same_state() -> None:
    prompt = make_prompt()
    prompt.commit(actor="u", template=NEW)
    prompt.move_label(actor="u", label="production", to="main")
    rebuilt = Prompt.replay(prompt.pending_events)
    assert rebuilt.snapshot() == prompt.snapshot()
    assert rebuilt.pending_events == () and rebuilt.persisted_version == prompt.version


def test_an_identical_commit_is_the_same_version_and_only_moves_the_branch() -> None:
    frozen = FakeClock(step=timedelta(0))
    prompt = make_prompt(frozen)
    prompt.create_branch(actor="u", name="a")
    prompt.create_branch(actor="u", name="b")
    on_a = prompt.commit(actor="u", template=NEW, branch="a")
    prompt.mark_persisted()
    on_b = prompt.commit(actor="u", template=NEW, branch="b")
    assert on_a == on_b
    assert [type(e) for e in prompt.pending_events] == [BranchMoved]
