"""Properties over random command sequences: replay equals live state, events round-trip."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from domain.errors import ConflictError, NotFoundError, ValidationError
from domain.prompts import (
    Event,
    ModelSettings,
    Prompt,
    Template,
    event_from_dict,
    event_to_dict,
)

from .support import FakeClock, make_prompt

TEMPLATES = [
    Template.from_text("Hello {{ name }}"),
    Template.from_text("Dear {{ name }},\n"),
    Template.from_text("Hi {{name}}, from {{ city }}"),
    Template.from_messages(
        [{"role": "system", "content": "Be brief"}, {"role": "user", "content": "{{q}}"}]
    ),
]
SETTINGS = [
    ModelSettings(model="gpt-4o-mini", temperature=0.2),
    ModelSettings(model="m", top_p=0.5),
    ModelSettings(model="m", stop=["END"], extra={"response_format": {"type": "json_object"}}),
]
BRANCH_NAMES = ["main", "dev", "feature/x", "v1.2"]
LABEL_NAMES = ["production", "staging"]
USERS = ["user-1", "user-2"]

Command = Callable[[Prompt, st.DataObject, str], object]


def _pick(data: st.DataObject, options: list[Any]) -> Any:
    return data.draw(st.sampled_from(options))


def _version(prompt: Prompt, data: st.DataObject) -> str:
    return str(_pick(data, sorted(prompt.versions)))


def _branch(prompt: Prompt, data: st.DataObject) -> str:
    return str(_pick(data, sorted(prompt.branches)))


def _commit(prompt: Prompt, data: st.DataObject, actor: str) -> object:
    branch = _branch(prompt, data)
    stale = data.draw(st.integers(0, 9)) == 0
    return prompt.commit(
        actor=actor,
        template=_pick(data, [None, *TEMPLATES]),
        settings=_pick(data, [None, *SETTINGS]),
        message=_pick(data, ["", "tweak"]),
        branch=branch,
        parent=_version(prompt, data) if stale else prompt.head(branch).id,
    )


def _merge(prompt: Prompt, data: st.DataObject, actor: str) -> object:
    target = _branch(prompt, data)
    sources = [ref for ref in [*sorted(prompt.branches), *sorted(prompt.labels)] if ref != target]
    sources.sort(key=lambda ref: ref not in prompt.branches)
    return prompt.merge(
        actor=actor,
        source=_pick(data, sources or [target]),
        target=target,
        strategy=_pick(data, [None, "ours", "theirs"]),
    )


COMMANDS: dict[str, Command] = {
    "commit": _commit,
    "branch": lambda p, d, a: p.create_branch(
        actor=a, name=_pick(d, BRANCH_NAMES), start=_version(p, d)
    ),
    "delete_branch": lambda p, d, a: p.delete_branch(actor=a, name=_branch(p, d)),
    "label": lambda p, d, a: p.move_label(actor=a, label=_pick(d, LABEL_NAMES), to=_version(p, d)),
    "delete_label": lambda p, d, a: p.delete_label(actor=a, label=_pick(d, LABEL_NAMES)),
    "revert": lambda p, d, a: p.revert(actor=a, to=_version(p, d), branch=_branch(p, d)),
    "merge": _merge,
    "archive": lambda p, d, a: p.archive(actor=a),
    "restore": lambda p, d, a: p.restore(actor=a),
    "details": lambda p, d, a: p.change_details(actor=a, tags=_pick(d, [[], ["x"], ["x", "y"]])),
}


# Repeats weight the draw towards commands that grow the history; hypothesis favours the
# first entries, so archive/restore come last.
WEIGHTED = ["commit", "merge", "branch", "commit", "merge", "label", "revert", "commit"]
WEIGHTED += ["delete_branch", "delete_label", "details", "archive", "restore"]
assert set(WEIGHTED) == set(COMMANDS)


def _json_round_trip(event: Event) -> Event:
    return event_from_dict(json.loads(json.dumps(event_to_dict(event))))


@settings(max_examples=100, deadline=None, derandomize=True)
@given(st.data())
def test_replaying_all_events_rebuilds_the_live_prompt(data: st.DataObject) -> None:
    prompt = make_prompt(FakeClock())
    prompt.create_branch(actor="user-1", name="dev")
    stored: list[Event] = []
    for _ in range(data.draw(st.integers(1, 30), label="steps")):
        stored += prompt.pending_events
        prompt.mark_persisted()
        before = prompt.snapshot()
        # An archived prompt refuses everything but restore: mostly restore it.
        choices = ["restore", *WEIGHTED] if prompt.archived else WEIGHTED
        name = data.draw(st.sampled_from(choices), label="command")
        try:
            COMMANDS[name](prompt, data, _pick(data, USERS))
        except (ValidationError, ConflictError, NotFoundError):
            assert prompt.snapshot() == before
            assert prompt.pending_events == ()
        assert prompt.persisted_version == len(stored)
    stored += prompt.pending_events
    assert len(stored) == prompt.version
    assert all(_json_round_trip(event) == event for event in stored)
    rebuilt = Prompt.replay(_json_round_trip(event) for event in stored)
    assert rebuilt.snapshot() == prompt.snapshot()
    assert all(commit.has_valid_id() for commit in rebuilt.versions.values())
