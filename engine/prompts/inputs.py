"""Turning what users type (strings, dicts, lists of messages) into domain values."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from domain.errors import ValidationError
from domain.prompts import Message, ModelSettings, Template

TemplateInput = str | Template | Mapping[str, Any] | Sequence[Message | Mapping[str, Any]]
"""A text, a :class:`Template`, its dict form, or chat messages (dicts or ``Message``)."""

SettingsInput = ModelSettings | Mapping[str, Any]
"""A :class:`ModelSettings` or its dict form, e.g. ``{"model": "gpt-4o-mini"}``."""


def as_template(template: TemplateInput, system: str | None = None) -> Template:
    """A template from user input; ``system`` turns a text into a system + user chat.

    Raises:
        ValidationError: ``reason="invalid-template"`` (or the template's own reasons).
    """
    if isinstance(template, Template):
        if system is not None:
            raise ValidationError(
                "give system with a text template, not a Template", reason="invalid-template"
            )
        return template
    if isinstance(template, str):
        if system is None:
            return Template.from_text(template)
        return Template.from_messages([Message("system", system), Message("user", template)])
    if isinstance(template, Mapping):
        return Template.from_dict(template)
    if isinstance(template, Sequence):
        head = [Message("system", system)] if system is not None else []
        return Template.from_messages([*head, *template])
    raise ValidationError(
        "a template is a text, a Template, its dict form or a list of messages",
        reason="invalid-template",
    )


def as_settings(settings: SettingsInput | None) -> ModelSettings | None:
    """Model settings from user input (``None`` stays ``None``).

    Raises:
        ValidationError: ``reason="unknown-setting"`` or ``"invalid-setting"``.
    """
    if settings is None or isinstance(settings, ModelSettings):
        return settings
    if isinstance(settings, Mapping):
        return ModelSettings.from_dict(settings)
    raise ValidationError("settings must be ModelSettings or a mapping", reason="invalid-setting")
