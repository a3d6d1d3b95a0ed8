"""Fakes and helpers shared by the prompt tests."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from domain.errors import NexusError
from domain.prompts import ModelSettings, Prompt, Template

START = datetime(2024, 1, 1, tzinfo=UTC)


class FakeClock:
    """A clock that moves one step forward every time it is read."""

    def __init__(self, start: datetime = START, step: timedelta = timedelta(seconds=1)) -> None:
        self.now = start
        self.step = step

    def __call__(self) -> datetime:
        now = self.now
        self.now += self.step
        return now


def make_prompt(clock: Callable[[], datetime] | None = None, **overrides: Any) -> Prompt:
    arguments: dict[str, Any] = {
        "name": "greeting",
        "owner": "user-1",
        "template": Template.from_text("Hello {{ name }}"),
        "settings": ModelSettings(model="gpt-4o-mini", temperature=0.2),
        "prompt_id": "prompt-1",
        "clock": clock or FakeClock(),
    }
    arguments.update(overrides)
    return Prompt.create(**arguments)


def persisted_prompt(clock: Callable[[], datetime] | None = None) -> Prompt:
    prompt = make_prompt(clock)
    prompt.mark_persisted()
    return prompt


def state_of(prompt: Prompt) -> tuple[Any, ...]:
    return prompt.snapshot(), prompt.pending_events, prompt.version


def fails_unchanged(
    prompt: Prompt, error: type[NexusError], reason: str, command: Callable[[], object]
) -> NexusError:
    """Run ``command``, expect ``error`` with ``reason``, and check the prompt did not change."""
    before = state_of(prompt)
    with pytest.raises(error) as info:
        command()
    assert info.value.details.get("reason") == reason, info.value.details
    assert state_of(prompt) == before
    return info.value
