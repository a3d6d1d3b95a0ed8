"""Which model parameters a prompt, a run or a caller may set: an allow-list, typed.

Everything else is refused before any call. LiteLLM takes its own kwargs alongside the
generation parameters, and some re-route or fabricate a call: ``custom_llm_provider`` sent
a call past the catalogue, ``mock_response`` recorded an answer no model gave,
``extra_headers``/``extra_body`` reach the provider unchecked. ``n`` is refused too: one
choice is read, so n > 1 pays for answers thrown away and outruns the budget's forecast.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from domain.errors import ValidationError

REASONING_EFFORTS = ("none", "minimal", "low", "medium", "high")
MAX_STOP_SEQUENCES = 16


def _number(low: float, high: float) -> Callable[[object], str | None]:
    def check(value: object) -> str | None:
        if isinstance(value, bool) or not isinstance(value, int | float):
            return "must be a number"
        return None if low <= value <= high else f"must be between {low:g} and {high:g}"

    return check


def _integer(low: int | None, high: int | None = None) -> Callable[[object], str | None]:
    def check(value: object) -> str | None:
        if isinstance(value, bool) or not isinstance(value, int):
            return "must be an integer"
        if (low is not None and value < low) or (high is not None and value > high):
            return f"must be between {low} and {high}" if high is not None else f"must be >= {low}"
        return None

    return check


def _of(kind: type | tuple[type, ...], what: str) -> Callable[[object], str | None]:
    def check(value: object) -> str | None:
        return None if isinstance(value, kind) and not isinstance(value, bool) else what

    return check


def _flag(value: object) -> str | None:
    return None if isinstance(value, bool) else "must be true or false"


def _stop(value: object) -> str | None:
    items = [value] if isinstance(value, str) else value
    if not isinstance(items, list | tuple) or len(items) > MAX_STOP_SEQUENCES:
        return f"must be a string or a list of at most {MAX_STOP_SEQUENCES} strings"
    if not all(isinstance(item, str) and 0 < len(item) <= 500 for item in items):
        return "must hold non-empty strings of at most 500 characters"
    return None


def _logit_bias(value: object) -> str | None:
    if not isinstance(value, Mapping) or not all(isinstance(k, str) for k in value):
        return "must map token ids to numbers"
    bad = [k for k, v in value.items() if _number(-100, 100)(v) is not None]
    return f"values must be numbers in [-100, 100] (not for {bad[:3]})" if bad else None


def _response_format(value: object) -> str | None:
    if not isinstance(value, Mapping) or not isinstance(value.get("type"), str):
        return "must be an object with a 'type' (text, json_object or json_schema)"
    return None


def _tools(value: object) -> str | None:
    if not isinstance(value, list | tuple) or not all(isinstance(t, Mapping) for t in value):
        return "must be a list of tool objects"
    return None


def _reasoning_effort(value: object) -> str | None:
    return None if value in REASONING_EFFORTS else f"must be one of {', '.join(REASONING_EFFORTS)}"


_CHECKS: dict[str, Callable[[object], str | None]] = {
    "temperature": _number(0.0, 2.0),
    "top_p": _number(0.0, 1.0),
    "presence_penalty": _number(-2.0, 2.0),
    "frequency_penalty": _number(-2.0, 2.0),
    "max_tokens": _integer(1),
    "max_completion_tokens": _integer(1),
    "seed": _integer(None),
    "stop": _stop,
    "response_format": _response_format,
    "tools": _tools,
    "tool_choice": _of((str, Mapping), "must be 'auto', 'none', 'required' or a tool object"),
    "parallel_tool_calls": _flag,
    "logit_bias": _logit_bias,
    "logprobs": _flag,
    "top_logprobs": _integer(0, 20),
    "user": _of(str, "must be a string"),
    "reasoning_effort": _reasoning_effort,
}
GENERATION_PARAMS = frozenset(_CHECKS)
"""Chat-completion parameters a prompt version, a run or a request may set."""

_EMBEDDING_CHECKS: dict[str, Callable[[object], str | None]] = {
    "dimensions": _integer(1, 65_536),
    "encoding_format": _of(str, "must be 'float' or 'base64'"),
    "user": _of(str, "must be a string"),
}
EMBEDDING_PARAMS = frozenset(_EMBEDDING_CHECKS)
"""Embedding parameters a request may set."""


def _check(params: Mapping[str, Any], checks: Mapping[str, Any], where: str, kind: str) -> None:
    for name, value in params.items():
        check = checks.get(name)
        if check is None:
            raise ValidationError(
                f"{where}: model parameter {name!r} is not accepted; {kind} parameters are "
                f"{', '.join(sorted(checks))}",
                reason="unsupported-parameter",
                field=f"{where}.{name}",
                parameter=str(name),
            )
        problem = None if value is None else check(value)
        if problem is not None:
            raise ValidationError(
                f"{where}: model parameter {name!r} {problem}",
                reason="invalid-parameter",
                field=f"{where}.{name}",
                parameter=name,
            )


def check_generation_params(params: Mapping[str, Any], where: str = "params") -> None:
    """Refuse any parameter not in `GENERATION_PARAMS`, or of the wrong type or range.

    ``None`` values count as unset. ``where`` names the source in the message (``settings``,
    ``params``...).

    Raises:
        ValidationError: ``reason="unsupported-parameter"`` or ``"invalid-parameter"``,
            with ``field`` and ``parameter`` naming it.
    """
    _check(params, _CHECKS, where, "chat")


def check_embedding_params(params: Mapping[str, Any], where: str = "params") -> None:
    """As `check_generation_params`, for `EMBEDDING_PARAMS`."""
    _check(params, _EMBEDDING_CHECKS, where, "embedding")
