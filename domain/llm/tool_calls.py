"""`ToolCall`: one function call a model asked for, as plain data every layer reads.

The arguments are kept exactly as the model wrote them (``arguments``) and, when they are
strict JSON, parsed (``parsed``); otherwise ``parse_error`` says why not. A malformed call
is still a call: scorers judge it, reports show it, nothing drops it.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

MAX_ARGUMENTS_CHARS = 256_000
"""Longest arguments string parsed; a longer one is kept raw, with a parse error."""


def _not_json(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


_DECODER = json.JSONDecoder(parse_constant=_not_json)


def parse_arguments(raw: str) -> tuple[Any, str | None]:
    """``(value, None)`` when ``raw`` is strict JSON (no NaN/Infinity), else ``(None, why)``."""
    if len(raw) > MAX_ARGUMENTS_CHARS:
        return None, f"arguments longer than {MAX_ARGUMENTS_CHARS} characters were not parsed"
    try:
        return _DECODER.decode(raw.strip()), None
    except ValueError as exc:
        return None, f"arguments are not valid JSON: {exc}"
    except RecursionError:  # the decoder recurses per level: "[[[[..." must not raise
        return None, "arguments nest too deeply to parse"


@dataclass(frozen=True)
class ToolCall:
    """A function call in a model's answer.

    Attributes:
        id: The provider's call id (``call_...``); empty when it gave none.
        name: The function the model called.
        arguments: The arguments as the model wrote them (a JSON string, if well formed).
        parsed: ``arguments`` parsed, when they are strict JSON; ``None`` otherwise.
        parse_error: Why ``arguments`` did not parse; ``None`` when they did.

    Examples:
        >>> ToolCall.of("call_1", "get_weather", '{"city": "Paris"}').parsed
        {'city': 'Paris'}
        >>> ToolCall.of("call_2", "get_weather", '{"city": ').parse_error is not None
        True
    """

    id: str
    name: str
    arguments: str
    parsed: Any = field(default=None, hash=False)
    parse_error: str | None = None

    @classmethod
    def of(cls, id_: Any, name: Any, arguments: Any) -> ToolCall:
        """A call from wire values: ``arguments`` a JSON string (or, from some providers,
        an already decoded object, kept as its JSON text)."""
        if isinstance(arguments, str):
            raw = arguments
        elif arguments is None:
            raw = ""
        else:
            try:
                raw = json.dumps(arguments)
            except (TypeError, ValueError):
                raw = str(arguments)
        parsed, error = parse_arguments(raw)
        id_text = "" if id_ is None else str(id_)
        return cls(id_text, "" if name is None else str(name), raw, parsed, error)

    @property
    def ok(self) -> bool:
        """Whether the arguments parsed."""
        return self.parse_error is None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (stream payloads, the results table, the API)."""
        return {
            "id": self.id,
            "name": self.name,
            "arguments": self.arguments,
            "parsed": self.parsed,
            "parse_error": self.parse_error,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ToolCall:
        """Read back `to_dict` output.

        Raises:
            ValueError: ``data`` is not an object with string ``name`` and ``arguments``.
        """
        if not isinstance(data, Mapping):
            raise ValueError(f"a tool call must be an object, got {type(data).__name__}")
        name, arguments = data.get("name"), data.get("arguments")
        if not isinstance(name, str) or not isinstance(arguments, str):
            raise ValueError("a tool call needs a string 'name' and 'arguments'")
        error = data.get("parse_error")
        return cls(
            str(data.get("id") or ""),
            name,
            arguments,
            data.get("parsed"),
            None if error is None else str(error),
        )


def tool_calls_from_dicts(items: Iterable[Any] | None) -> tuple[ToolCall, ...]:
    """`ToolCall.from_dict` of each item (``None`` or empty: no calls).

    Raises:
        ValueError: An item that is not a tool call.
    """
    return tuple(ToolCall.from_dict(item) for item in items or ())
