"""Prompt templates: chat messages or one text, with ``{{ variable }}`` placeholders.

Rendering is plain substitution in one pass: no expressions, attribute access or code,
and substituted values are never scanned for placeholders again.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import Any, Literal, cast

from domain.errors import ValidationError

Role = Literal["system", "user", "assistant"]
ROLES: tuple[Role, ...] = ("system", "user", "assistant")
DEFAULT_MAX_TEMPLATE_BYTES = 256 * 1024

_PLACEHOLDER = re.compile(r"\{\{[ \t]*([A-Za-z_][A-Za-z0-9_]*)[ \t]*\}\}")


def find_variables(text: str) -> tuple[str, ...]:
    """Variable names used in ``text``, in order of first appearance.

    Examples:
        >>> find_variables("Hi {{ name }}, {{name}} from {{city}}; {{ a.b }} is literal")
        ('name', 'city')
    """
    return tuple(dict.fromkeys(match.group(1) for match in _PLACEHOLDER.finditer(text)))


def _check_text(value: object, field: str) -> str:
    if not isinstance(value, str):
        raise ValidationError(f"{field} must be a string", reason="invalid-type", field=field)
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise ValidationError(
            f"{field} is not valid Unicode text", reason="invalid-text", field=field
        ) from exc
    return value


def _as_text(value: object) -> str:
    if isinstance(value, str):
        return value
    if type(value) is int:  # as JSON writes it: `json.dumps` with options was ~3% of a cell
        return str(value)
    return json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)


@dataclass(frozen=True)
class Message:
    """One chat message of a template.

    Args:
        role: ``"system"``, ``"user"`` or ``"assistant"``.
        content: The text, possibly with ``{{ variable }}`` placeholders.
    """

    role: Role
    content: str

    def __post_init__(self) -> None:
        if self.role not in ROLES:
            raise ValidationError(
                f"unknown message role {self.role!r}; expected system, user or assistant",
                reason="invalid-role",
                role=str(self.role),
            )
        _check_text(self.content, "content")

    def to_dict(self) -> dict[str, str]:
        """``{"role": ..., "content": ...}``, the shape LLM APIs take."""
        return {"role": self.role, "content": self.content}


@dataclass(frozen=True)
class Rendered:
    """A rendered template: its messages and, for a text template, the text itself."""

    messages: tuple[Message, ...]
    text: str | None = None

    def as_dicts(self) -> list[dict[str, str]]:
        """The messages as plain dicts, ready for ``litellm.acompletion(messages=...)``."""
        return [message.to_dict() for message in self.messages]

    def with_history(self, history: Iterable[Mapping[str, str]]) -> list[dict[str, str]]:
        """The messages a model receives for a case with a conversation so far: the
        prompt's leading system messages, then ``history``, then the prompt's other
        messages (the turn being evaluated).

        Examples:
            >>> Template.from_text("Go on.").render({}).with_history(
            ...     [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "yo"}])
            [{'role': 'user', 'content': 'hi'}, {'role': 'assistant', 'content': 'yo'}, \
{'role': 'user', 'content': 'Go on.'}]
        """
        messages = self.as_dicts()
        lead = 0
        while lead < len(messages) and messages[lead]["role"] == "system":
            lead += 1
        return [*messages[:lead], *(dict(m) for m in history), *messages[lead:]]


@dataclass(frozen=True)
class Template:
    """Either one ``text`` or a tuple of chat ``messages`` — exactly one of the two.

    Examples:
        >>> Template.from_text("Summarise: {{ doc }}").render({"doc": "…"}).text
        'Summarise: …'
    """

    text: str | None = None
    messages: tuple[Message, ...] | None = None

    def __post_init__(self) -> None:
        if (self.text is None) == (self.messages is None):
            raise ValidationError(
                "a template has either a text or chat messages, exactly one",
                reason="invalid-template",
            )
        if self.text is not None:
            if not _check_text(self.text, "template").strip():
                raise ValidationError("template text must not be empty", reason="empty-template")
            return
        messages = tuple(cast(Iterable[Message], self.messages))
        if not messages:
            raise ValidationError("a chat template needs a message", reason="empty-template")
        if not all(isinstance(message, Message) for message in messages):
            raise ValidationError(
                "chat template messages must be Message objects", reason="invalid-template"
            )
        object.__setattr__(self, "messages", messages)

    @classmethod
    def from_text(cls, text: str) -> Template:
        """A single-text template."""
        return cls(text=text)

    @classmethod
    def from_messages(cls, messages: Iterable[Message | Mapping[str, Any]]) -> Template:
        """A chat template from ``Message`` objects or ``{"role", "content"}`` mappings."""
        return cls(messages=tuple(_to_message(message) for message in messages))

    @classmethod
    def from_dict(cls, data: object) -> Template:
        """Inverse of :meth:`to_dict`.

        Raises:
            ValidationError: ``reason="invalid-template"`` when the shape is wrong.
        """
        if isinstance(data, Mapping):
            if set(data) == {"text"}:
                return cls.from_text(data["text"])
            if set(data) == {"messages"} and isinstance(data["messages"], list):
                return cls.from_messages(data["messages"])
        raise ValidationError(
            'a template is {"text": str} or {"messages": [{"role", "content"}, ...]}',
            reason="invalid-template",
        )

    def to_dict(self) -> dict[str, Any]:
        """``{"text": ...}`` or ``{"messages": [...]}``: the canonical, JSON-safe form."""
        if self.messages is None:
            return {"text": self.text}
        return {"messages": [message.to_dict() for message in self.messages]}

    @property
    def kind(self) -> Literal["text", "chat"]:
        """``"text"`` or ``"chat"``."""
        return "text" if self.messages is None else "chat"

    @property
    def parts(self) -> tuple[str, ...]:
        """Every piece of template text, in order."""
        if self.messages is None:
            return (cast(str, self.text),)
        return tuple(message.content for message in self.messages)

    @cached_property
    def variables(self) -> tuple[str, ...]:
        """Variable names used anywhere in the template, in order of first appearance.

        Computed once per template: an evaluation renders one template for every cell.
        """
        return tuple(dict.fromkeys(name for part in self.parts for name in find_variables(part)))

    @property
    def size_bytes(self) -> int:
        """Total UTF-8 size of the template's text."""
        return sum(len(part.encode("utf-8")) for part in self.parts)

    def check_size(self, max_bytes: int = DEFAULT_MAX_TEMPLATE_BYTES) -> None:
        """Refuse a template whose text is over ``max_bytes``.

        Raises:
            ValidationError: ``reason="template-too-large"`` with ``size_bytes`` and
                ``limit_bytes`` in details.
        """
        size = self.size_bytes
        if size > max_bytes:
            raise ValidationError(
                f"template is {size} bytes, over the limit of {max_bytes} bytes",
                reason="template-too-large",
                size_bytes=size,
                limit_bytes=max_bytes,
            )

    def render(self, values: Mapping[str, object], *, strict: bool = False) -> Rendered:
        """Substitute ``values`` for the placeholders.

        Strings are inserted as they are; other values as JSON (``3``, ``true``, ``[1, 2]``).
        A text template renders to one ``user`` message as well as to ``text``.

        Args:
            values: A value for every variable of the template.
            strict: Also refuse values for variables the template does not use.

        Raises:
            ValidationError: ``reason="missing-variables"`` or ``"unknown-variables"``, with
                the names in ``missing`` and ``unknown``.
        """
        names = self.variables
        missing = [name for name in names if name not in values]
        unknown = sorted(key for key in values if key not in names) if strict else []
        if missing or unknown:
            problems = []
            if missing:
                problems.append("missing template variables: " + ", ".join(missing))
            if unknown:
                problems.append("unknown template variables: " + ", ".join(unknown))
            raise ValidationError(
                "; ".join(problems),
                reason="missing-variables" if missing else "unknown-variables",
                missing=missing,
                unknown=unknown,
            )
        strings = {name: _as_text(values[name]) for name in names}

        def fill(text: str) -> str:
            return _PLACEHOLDER.sub(lambda match: strings[match.group(1)], text)

        if self.messages is None:
            text = fill(cast(str, self.text))
            return Rendered(messages=(Message("user", text),), text=text)
        return Rendered(messages=tuple(Message(m.role, fill(m.content)) for m in self.messages))


def _to_message(item: Message | Mapping[str, Any]) -> Message:
    if isinstance(item, Message):
        return item
    if isinstance(item, Mapping) and set(item) == {"role", "content"}:
        return Message(role=item["role"], content=item["content"])
    raise ValidationError('a message is {"role": ..., "content": ...}', reason="invalid-template")
