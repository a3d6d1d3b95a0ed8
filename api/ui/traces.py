"""A flow cell's trace as the case page shows it, step by step: each entry's kind, inputs,
output, tool calls, latency, tokens, cost and error, and every other field it carries shown
generically (a transcript for a list of messages, JSON for anything else).

Pure: reads the trace entries (`ResultRecord.trace`, plain dicts) and knows only the fields
`docs/flows.md` names. An entry written by a newer runner (conversation turns, tool-call
loops) still shows whole: its unknown fields are never dropped.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

_SHOWN = {"step", "kind", "path", "inputs", "output", "error", "scores", "tool_calls"}
_METRICS = (
    ("wall_ms", "wall", "ms"),
    ("latency_ms", "latency", "ms"),
    ("queue_ms", "queued", "ms"),
    ("attempts", "attempts", ""),
    ("model", "model", ""),
    ("prompt_version", "version", ""),
)
_FOLDED = {"prompt_tokens", "completion_tokens", "cost_usd", "cached"}
_TRANSCRIPT_KEYS = ("role", "content")


@dataclass(frozen=True)
class Message:
    """One turn of a transcript: who spoke, what they said, and any calls they made."""

    role: str
    content: str
    name: str = ""
    calls: list[str] = field(default_factory=list)
    extra: list[tuple[str, str]] = field(default_factory=list)


@dataclass(frozen=True)
class Step:
    """One trace entry, ready to render."""

    number: int
    path: str
    kind: str
    depth: int
    metrics: list[tuple[str, str]]
    inputs: list[tuple[str, str]]
    output: str | None
    error: str | None
    scores: list[tuple[str, str]]
    tool_calls: list[tuple[str, str]]
    transcripts: list[tuple[str, list[Message]]]
    extra: list[tuple[str, str]]


def trace_steps(trace: Iterable[Mapping[str, Any]] | None) -> list[Step]:
    """The entries of ``trace`` (``None``: not a flow cell) as steps, in the order run."""
    return [
        _step(i + 1, entry) for i, entry in enumerate(trace or ()) if isinstance(entry, Mapping)
    ]


def text_of(value: Any) -> str:
    """A value as the page prints it: text as is, anything else as indented JSON."""
    if isinstance(value, str):
        return value
    try:
        return json.dumps(value, indent=2, ensure_ascii=False, sort_keys=True, default=str)
    except (TypeError, ValueError):
        return repr(value)


def transcript(value: Any) -> list[Message] | None:
    """``value`` as a transcript when it is a list of messages (mappings with a role, or
    turns holding a list of messages), else ``None``."""
    if isinstance(value, Mapping):
        for key in ("messages", "turns", "conversation"):
            if key in value:
                return transcript(value[key])
        return None
    if not isinstance(value, Sequence) or isinstance(value, str) or not value:
        return None
    if not all(isinstance(item, Mapping) for item in value):
        return None
    if all(any(k in item for k in _TRANSCRIPT_KEYS) for item in value):
        return [_message(item) for item in value]
    nested = [transcript(item) for item in value]
    if all(turn is not None for turn in nested):
        return [message for turn in nested for message in turn or ()]
    return None


def tool_call_lines(calls: Any) -> list[tuple[str, str]]:
    """Tool calls (`ToolCall`s or their dicts) as (name, arguments) to print."""
    lines: list[tuple[str, str]] = []
    for call in calls if isinstance(calls, Sequence) and not isinstance(calls, str) else ():
        if isinstance(call, Mapping):
            name = str(call.get("name") or call.get("function", {}).get("name", "?"))
            arguments = call.get("arguments", call.get("function", {}).get("arguments", ""))
            rest = {
                k: v
                for k, v in call.items()
                if k not in ("name", "arguments", "function", "id", "parsed", "parse_error")
            }
            text = text_of(arguments) + ("" if not rest else "\n" + text_of(rest))
            if call.get("parse_error"):
                text += f"\n({call['parse_error']})"
            lines.append((name, text))
        elif hasattr(call, "name") and hasattr(call, "arguments"):
            lines.append((str(call.name), str(call.arguments)))
        else:
            lines.append(("?", text_of(call)))
    return lines


def _step(number: int, entry: Mapping[str, Any]) -> Step:
    path = str(entry.get("path") or entry.get("step") or f"#{number}")
    metrics = [
        (label, f"{_number(entry[key])}{' ' + unit if unit else ''}")
        for key, label, unit in _METRICS
        if entry.get(key) is not None and entry.get(key) != ""
    ]
    if entry.get("prompt_tokens") or entry.get("completion_tokens"):
        tokens = f"{entry.get('prompt_tokens') or 0}+{entry.get('completion_tokens') or 0}"
        metrics.append(("tokens", tokens))
    if "cost_usd" in entry:
        cost = entry["cost_usd"]
        metrics.append(("cost", "unknown" if cost is None else f"${float(cost):.6f}"))
    if entry.get("cached"):
        metrics.append(("cached", "yes"))
    inputs = entry.get("inputs")
    transcripts: list[tuple[str, list[Message]]] = []
    extra: list[tuple[str, str]] = []
    known = _SHOWN | _FOLDED | {key for key, _, _ in _METRICS}
    for key, value in entry.items():
        if key in known or value is None:
            continue
        messages = transcript(value)
        if messages is not None:
            transcripts.append((key, messages))
        else:
            extra.append((key, text_of(value)))
    return Step(
        number=number,
        path=path,
        kind=str(entry.get("kind") or "step"),
        depth=path.count("."),
        metrics=metrics,
        inputs=[(str(k), text_of(v)) for k, v in inputs.items()]
        if isinstance(inputs, Mapping)
        else ([("inputs", text_of(inputs))] if inputs is not None else []),
        output=None if entry.get("output") is None else text_of(entry["output"]),
        error=None if entry.get("error") is None else text_of(entry["error"]),
        scores=[(str(k), _number(v)) for k, v in (entry.get("scores") or {}).items()]
        if isinstance(entry.get("scores"), Mapping)
        else [],
        tool_calls=tool_call_lines(entry.get("tool_calls")),
        transcripts=transcripts,
        extra=extra,
    )


def _message(item: Mapping[str, Any]) -> Message:
    content = item.get("content")
    calls = tool_call_lines(item.get("tool_calls"))
    rest = [
        (str(k), text_of(v))
        for k, v in item.items()
        if k not in ("role", "content", "name", "tool_calls", "tool_call_id") and v is not None
    ]
    return Message(
        role=str(item.get("role") or "?"),
        content="" if content is None else text_of(content),
        name=str(item.get("name") or item.get("tool_call_id") or ""),
        calls=[f"{name}({args})" for name, args in calls],
        extra=rest,
    )


def _number(value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:.3f}".rstrip("0").rstrip(".") if abs(value) < 1000 else f"{value:.0f}"
    return str(value)
