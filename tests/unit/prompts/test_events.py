from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from domain.errors import NexusError, NotFoundError, ValidationError
from domain.prompts import (
    EVENT_TYPES,
    Event,
    ModelSettings,
    Prompt,
    Template,
    VersionCommitted,
    event_from_dict,
    event_to_dict,
)

from .support import make_prompt


def _every_kind_of_event() -> list[Event]:
    prompt = make_prompt(tags=["t"], description="d")
    first = prompt.head().id
    prompt.change_details(actor="u", description="new")
    prompt.create_branch(actor="u", name="dev")
    prompt.commit(
        actor="u", settings=ModelSettings(model="m", stop=["x"], extra={"logit_bias": {"1": 1}})
    )
    prompt.commit(
        actor="u", template=Template.from_messages([{"role": "user", "content": "c"}]), branch="dev"
    )
    prompt.merge(actor="u", source="dev", strategy="ours")
    prompt.move_label(actor="u", label="production", to=first)
    prompt.delete_label(actor="u", label="production")
    prompt.delete_branch(actor="u", name="dev")
    prompt.archive(actor="u")
    prompt.restore(actor="u")
    return list(prompt.pending_events)


def test_the_sample_covers_every_event_type() -> None:
    assert {type(e).__name__ for e in _every_kind_of_event()} == set(EVENT_TYPES)


def test_events_round_trip_through_json() -> None:
    for event in _every_kind_of_event():
        data = json.loads(json.dumps(event_to_dict(event)))
        assert data["type"] == type(event).__name__
        assert event_from_dict(data) == event


def test_event_dicts_carry_time_in_utc_and_the_actor() -> None:
    data = event_to_dict(_every_kind_of_event()[0])
    assert data["at"] == "2024-01-01T00:00:00.000000+00:00"
    assert data["actor"] == "user-1"


def test_version_committed_dict_holds_template_and_settings_as_json() -> None:
    committed = next(e for e in _every_kind_of_event() if isinstance(e, VersionCommitted))
    data = event_to_dict(committed)
    assert data["template"] == {"text": "Hello {{ name }}"}
    assert data["settings"] == {"model": "gpt-4o-mini", "temperature": 0.2}
    assert data["parents"] == []


def test_times_in_other_zones_are_read_as_utc() -> None:
    data = event_to_dict(_every_kind_of_event()[0])
    data["at"] = "2024-01-01T02:00:00+02:00"
    assert event_from_dict(data).at == datetime(2024, 1, 1, tzinfo=UTC)
    assert event_from_dict(data).at.tzinfo == UTC


def test_unknown_event_types_are_refused() -> None:
    with pytest.raises(ValidationError) as info:
        event_from_dict({"type": "PromptExploded"})
    assert info.value.details["reason"] == "unknown-event-type"


def test_missing_or_unexpected_fields_are_refused() -> None:
    data = event_to_dict(_every_kind_of_event()[0])
    del data["name"]
    data["colour"] = "red"
    with pytest.raises(ValidationError) as info:
        event_from_dict(data)
    assert info.value.details == {
        "reason": "malformed-event",
        "missing": ["name"],
        "unexpected": ["colour"],
    }


@pytest.mark.parametrize(
    ("field", "value"), [("actor", 7), ("at", "yesterday"), ("tags", "t"), ("at", "2024-01-01")]
)
def test_ill_typed_fields_are_refused(field: str, value: object) -> None:
    data = event_to_dict(_every_kind_of_event()[0])
    data[field] = value
    with pytest.raises(ValidationError):
        event_from_dict(data)


def test_replay_of_nothing_is_not_found() -> None:
    with pytest.raises(NotFoundError):
        Prompt.replay([])


def test_replay_must_start_with_prompt_created() -> None:
    with pytest.raises(NexusError) as info:
        Prompt.replay(_every_kind_of_event()[1:])
    assert info.value.details["reason"] == "corrupt-history"


def test_replay_detects_a_tampered_version() -> None:
    events = _every_kind_of_event()
    committed = events[1]
    assert isinstance(committed, VersionCommitted)
    events[1] = replace(committed, message="rewritten history")
    with pytest.raises(NexusError) as info:
        Prompt.replay(events)
    assert info.value.details["reason"] == "corrupt-history"


def test_replay_refuses_events_of_another_prompt() -> None:
    events = _every_kind_of_event()
    events[3] = replace(events[3], prompt_id="other")
    with pytest.raises(NexusError) as info:
        Prompt.replay(events)
    assert info.value.details["reason"] == "corrupt-history"


def test_version_ids_hash_parents_content_message_author_and_time() -> None:
    events = _every_kind_of_event()
    committed = events[1]
    assert isinstance(committed, VersionCommitted)
    commit = committed.to_commit()
    assert commit.has_valid_id()
    changes: list[dict[str, Any]] = [
        {"message": "x"},
        {"author": "someone"},
        {"committed_at": commit.committed_at + timedelta(microseconds=1)},
        {"parents": ("0" * 64,)},
        {"prompt_id": "other"},
    ]
    for change in changes:
        assert not replace(commit, **change).has_valid_id()
    same_instant = commit.committed_at.astimezone(timezone(timedelta(hours=5)))
    assert replace(commit, committed_at=same_instant).has_valid_id()
