"""What both OpenAI Evals importers share: chat samples as template variables, scorer
availability, per-case scorers, names and JSON-lines files."""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from domain.datasets import TestCase
from domain.errors import ValidationError
from domain.scoring import registered_scorers

LFS_POINTER = "version https://git-lfs.github.com/spec/v1"
_NAME_CHAR = re.compile(r"[^A-Za-z0-9._-]+")
_LABELS = {"user": "User", "assistant": "Assistant", "system": "System"}
_FEW_SHOT_NAMES = {"example_user": "User", "example_assistant": "Assistant"}


def suite_name(text: str) -> str:
    """A prompt/dataset name from an eval's name: invalid characters become ``-``."""
    name = _NAME_CHAR.sub("-", text).strip("-._") or "openai-eval"
    return name[:90]


def kebab(text: str, fallback: str = "grader") -> str:
    """A scorer name (``[a-z][a-z0-9]*(-[a-z0-9]+)*``) from free text."""
    name = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
    return name if name[:1].isalpha() else f"{fallback}-{name}".strip("-")


def has_scorer(kind: str) -> bool:
    return kind in registered_scorers()


def make_case(
    variables: dict[str, Any],
    expected: str | None,
    scorers: Sequence[dict[str, Any]] = (),
    metadata: dict[str, Any] | None = None,
) -> TestCase:
    extra: dict[str, Any] = {"scorers": list(scorers)} if scorers else {}
    return TestCase(variables=variables, expected=expected, metadata=metadata or {}, **extra)


def read_jsonl(path: Path, what: str) -> list[dict[str, Any]]:
    """The objects of a JSON-lines file.

    Raises:
        ValidationError: ``reason="lfs-pointer"`` for a Git LFS pointer instead of the data,
            ``"not-found"``, or ``"bad-samples"`` naming the line.
    """
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise ValidationError(f"{what} {path} not found", reason="not-found") from None
    if text.startswith(LFS_POINTER):
        raise ValidationError(
            f"{what} {path} is a Git LFS pointer, not the samples: fetch the data "
            "(`git lfs pull` in the openai/evals checkout)",
            reason="lfs-pointer",
            path=str(path),
        )
    rows: list[dict[str, Any]] = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except ValueError as exc:
            raise ValidationError(
                f"{what} {path} line {number}: invalid JSON ({exc})", reason="bad-samples"
            ) from None
        if not isinstance(row, dict):
            raise ValidationError(
                f"{what} {path} line {number}: expected a JSON object", reason="bad-samples"
            )
        rows.append(row)
    return rows


def _label(message: Mapping[str, Any]) -> str:
    name = message.get("name")
    if isinstance(name, str) and name:
        return _FEW_SHOT_NAMES.get(name, name.capitalize())
    role = str(message.get("role", "user"))
    return _LABELS.get(role, role.capitalize())


def chat_as_text(messages: Sequence[Mapping[str, Any]]) -> str:
    """A chat as one text, as OpenAI Evals shows it to a grader: ``User: ...`` lines, the
    system message unprefixed."""
    lines = []
    for message in messages:
        content = str(message.get("content", ""))
        plain = message.get("role") == "system" and not message.get("name")
        lines.append(content if plain else f"{_label(message)}: {content}")
    return "\n".join(lines)


@dataclasses.dataclass(frozen=True)
class ChatParts:
    """A sample's chat split into what the imported template renders: the leading system
    message(s), the few-shot turns in between (as a transcript) and the final user turn
    (``None`` for a chat of system messages only, sent as it is)."""

    system: str | None
    history: str
    input: str | None


def split_chat(messages: object, where: str) -> ChatParts:
    """Split a chat input.

    Raises:
        ValueError: the chat is not a list of ``{role, content}`` ending with a user turn,
            nor system messages only (the message says what and where).
    """
    if not isinstance(messages, list) or not messages:
        raise ValueError(f"{where}: input must be a string or a non-empty list of messages")
    for index, message in enumerate(messages):
        if (
            not isinstance(message, dict)
            or message.get("role") not in _LABELS
            or not isinstance(message.get("content"), str)
        ):
            raise ValueError(
                f"{where}[{index}]: a message is {{role: system|user|assistant, content: str}}"
            )
    if all(m["role"] == "system" and not m.get("name") for m in messages):
        return ChatParts("\n\n".join(m["content"] for m in messages), "", None)
    last = messages[-1]
    if last["role"] != "user" or last.get("name"):
        raise ValueError(f"{where}: the chat does not end with a user message")
    leading = 0
    while leading < len(messages) - 1 and (
        messages[leading]["role"] == "system" and not messages[leading].get("name")
    ):
        leading += 1
    system = "\n\n".join(m["content"] for m in messages[:leading]) if leading else None
    turns = messages[leading:-1]
    history = "".join(f"{_label(m)}: {m['content']}\n" for m in turns)
    return ChatParts(system, history + "\n" if history else "", last["content"])


def chat_messages(*, system: bool, history: bool, user: bool = True) -> tuple[dict[str, str], ...]:
    """The one chat template every sample renders through."""
    head = ({"role": "system", "content": "{{system}}"},) if system else ()
    if not user:
        return head
    return (*head, {"role": "user", "content": ("{{history}}" if history else "") + "{{input}}"})
