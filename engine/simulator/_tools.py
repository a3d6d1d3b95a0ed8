"""Tool calls: what a simulated model answers when the request offers ``tools``.

Rules (deterministic for the same model, messages, tools, config seed and request seed):

1. No call when ``tool_choice`` is ``"none"`` or the last message is a tool's result (the
   model then answers in text, as usual).
2. The tool: the one ``tool_choice`` names; else the offered tool whose name and
   description share the most words with the last user message (ties: the first offered).
   With ``tool_choice`` ``"auto"`` (the default) and no word shared, no call is made;
   ``"required"`` then picks one by the seeded draw.
3. Arguments are generated from the tool's ``parameters`` JSON Schema: every required
   property, optional ones by a seeded draw; strings are words of the user message (an
   ``enum`` value the message names, else the first), numbers the message's numbers within
   the bounds. ``pattern`` and ``format`` are not honoured (a word is sent).
4. With probability ``tool_error_rate`` (a separate seeded draw per request) the arguments
   are malformed: half the time invalid JSON (truncated), else valid JSON that breaks the
   schema (a required property dropped, or a typed property given the wrong type).
"""

from __future__ import annotations

import hashlib
import json
import random
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from engine.simulator._requests import BadRequest
from engine.simulator._stats import last_user_text

_WORD = re.compile(r"[A-Za-z][A-Za-z'-]*")
_NUMBER = re.compile(r"-?\d+(?:\.\d+)?")
_SPLIT = re.compile(r"[A-Za-z][a-z]*|\d+")
_MAX_DEPTH = 6
_MAX_ITEMS = 16  # a schema's minItems/minLength must not make the simulator build gigabytes
_MAX_STRING = 4096
_STOP = frozenset("the a an of to in for and or is what with me my please can you".split())


@dataclass(frozen=True)
class OfferedTool:
    """One function a request offers."""

    name: str
    description: str
    parameters: Any


@dataclass(frozen=True)
class SimulatedCall:
    """The call a simulated model makes, as the wire's ``message.tool_calls`` item."""

    id: str
    name: str
    arguments: str
    malformed: bool

    def wire(self) -> dict[str, Any]:
        """The ``tool_calls`` item."""
        return {
            "id": self.id,
            "type": "function",
            "function": {"name": self.name, "arguments": self.arguments},
        }


def parse_tools(body: Mapping[str, Any]) -> tuple[tuple[OfferedTool, ...], Any]:
    """The offered tools and ``tool_choice``, checked as the OpenAI API would (400)."""
    raw = body.get("tools")
    if raw is None:
        return (), body.get("tool_choice")
    if not isinstance(raw, list):
        raise BadRequest(400, "'tools' must be a list")
    tools = []
    for item in raw:
        function = item.get("function") if isinstance(item, dict) else None
        if not isinstance(function, dict) or not isinstance(function.get("name"), str):
            raise BadRequest(400, "each tool must be {'type': 'function', 'function': {'name'}}")
        tools.append(
            OfferedTool(
                function["name"], str(function.get("description") or ""), function.get("parameters")
            )
        )
    return tuple(tools), body.get("tool_choice")


def _words(text: str) -> set[str]:
    return {w.lower() for w in _SPLIT.findall(text)} - _STOP


def _pick(
    tools: Sequence[OfferedTool], choice: Any, user: str, rng: random.Random
) -> OfferedTool | None:
    if choice == "none":
        return None
    if isinstance(choice, dict):
        named = (choice.get("function") or {}).get("name")
        return next((t for t in tools if t.name == named), None)
    asked = _words(user)
    overlap = [len(asked & (_words(t.name) | _words(t.description))) for t in tools]
    best = max(overlap)
    if best > 0:
        return tools[overlap.index(best)]
    return rng.choice(list(tools)) if choice == "required" else None


def simulate_call(
    tools: Sequence[OfferedTool],
    choice: Any,
    messages: Sequence[Mapping[str, Any]],
    *,
    model: str,
    seed: int,
    request_seed: int | None,
    error_rate: float,
) -> SimulatedCall | None:
    """The tool call the model makes for this request, or ``None`` for a text answer."""
    if not tools or (messages and messages[-1].get("role") == "tool"):
        return None
    user = last_user_text(messages)
    parts = [model, str(seed), str(request_seed), user, *(t.name for t in tools)]
    digest = hashlib.blake2b("\x1e".join(parts).encode(), digest_size=8).hexdigest()
    rng = random.Random(f"tools:{digest}")
    tool = _pick(tools, choice, user, rng)
    if tool is None:
        return None
    values = Values(user, rng)
    arguments = values.of(tool.parameters, tool.parameters, 0)
    if not isinstance(arguments, dict):
        arguments = {}
    malformed = random.Random(f"malformed:{digest}").random() < error_rate
    text = json.dumps(arguments)
    if malformed:
        text = _malformed(arguments, tool.parameters, rng)
    return SimulatedCall(f"call_{digest}", tool.name, text, malformed)


def _malformed(arguments: dict[str, Any], schema: Any, rng: random.Random) -> str:
    """Arguments that fail: truncated JSON, or JSON breaking ``schema``."""
    broken = _schema_breaking(arguments, schema) if rng.random() < 0.5 else None
    if broken is None:
        return json.dumps(arguments)[:-1]  # '{"city": "Paris"' — never valid JSON
    return json.dumps(broken)


def _schema_breaking(arguments: dict[str, Any], schema: Any) -> dict[str, Any] | None:
    if not isinstance(schema, dict):
        return None
    required = [r for r in schema.get("required") or () if isinstance(r, str)]
    if required:
        return {k: v for k, v in arguments.items() if k != required[0]}
    properties = schema.get("properties") or {}
    for name, sub in properties.items():
        kind = sub.get("type") if isinstance(sub, dict) else None
        if isinstance(kind, str) and kind != "null":
            return {**arguments, name: 12345 if kind == "string" else "not-a-" + kind}
    return None


class Values:
    """Values for a schema, drawn from a user message and a seeded stream."""

    def __init__(self, user: str, rng: random.Random) -> None:
        found = _WORD.findall(user)
        self.words = [w for w in found if w.lower() not in _STOP] or ["value"]
        # A name in the sentence, not the capital that starts it ("What", "Please").
        names = [w for w in found[1:] if w[0].isupper() and w.lower() not in _STOP]
        self.capitalised = names or self.words
        self.numbers = [float(n) for n in _NUMBER.findall(user)]
        self.lower_text = user.lower()
        self.rng = rng

    def of(self, schema: Any, root: Any, depth: int, name: str = "") -> Any:
        """A value valid against ``schema`` (refs resolved within ``root``)."""
        if not isinstance(schema, dict) or depth > _MAX_DEPTH:
            return self._word(name)
        ref = schema.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/"):
            return self.of(_resolve(root, ref), root, depth + 1, name)
        if "const" in schema:
            return schema["const"]
        if isinstance(schema.get("enum"), list) and schema["enum"]:
            named = [
                v for v in schema["enum"] if isinstance(v, str) and v.lower() in self.lower_text
            ]
            return named[0] if named else schema["enum"][0]
        for key in ("anyOf", "oneOf", "allOf"):
            options = schema.get(key)
            if isinstance(options, list) and options:
                return self.of(options[0], root, depth + 1, name)
        kind = schema.get("type")
        if isinstance(kind, list):
            kind = next((k for k in kind if k != "null"), "null")
        if kind == "object" or (kind is None and "properties" in schema):
            return self._object(schema, root, depth)
        if kind == "array":
            count = min(max(1, _int(schema, "minItems", 1)), _MAX_ITEMS)
            return [self.of(schema.get("items"), root, depth + 1, name) for _ in range(count)]
        if kind in ("integer", "number"):
            return self._number(schema, kind == "integer")
        if kind == "boolean":
            return self.rng.random() < 0.5
        if kind == "null":
            return None
        return self._string(schema, name)

    def _object(self, schema: dict[str, Any], root: Any, depth: int) -> dict[str, Any]:
        raw = schema.get("properties")
        properties: dict[str, Any] = raw if isinstance(raw, dict) else {}
        required = set(schema.get("required") or ())
        values: dict[str, Any] = {}
        for name, sub in properties.items():
            if name in required or self.rng.random() < 0.5:
                values[name] = self.of(sub, root, depth + 1, name)
        for name in sorted(r for r in required if isinstance(r, str) and r not in values):
            values[name] = self._word(name)
        return values

    def _number(self, schema: dict[str, Any], integer: bool) -> float | int:
        low = _bound(schema, "minimum", "exclusiveMinimum", 1, integer)
        high = _bound(schema, "maximum", "exclusiveMaximum", -1, integer)
        picked = next(
            (n for n in self.numbers if (low is None or n >= low) and (high is None or n <= high)),
            None,
        )
        if picked is None:
            picked = low if low is not None else (min(high, 1.0) if high is not None else 1.0)
        return int(picked) if integer else picked

    def _string(self, schema: dict[str, Any], name: str) -> str:
        text = self._word(name)
        text = text.ljust(min(_int(schema, "minLength", 0), _MAX_STRING), "x")
        high = _int(schema, "maxLength", -1)
        return text[:high] if high >= 0 else text

    def _word(self, name: str) -> str:
        pool = self.capitalised if name else self.words
        return str(pool[len(name) % len(pool)])


def _int(schema: dict[str, Any], key: str, default: int) -> int:
    value = schema.get(key)
    return value if isinstance(value, int) and not isinstance(value, bool) else default


def _bound(schema: dict[str, Any], key: str, exclusive: str, step: int, integer: bool) -> Any:
    value = schema.get(key)
    if isinstance(schema.get(exclusive), int | float) and not isinstance(schema[exclusive], bool):
        shifted = schema[exclusive] + step * (1 if integer else 1e-6)
        value = shifted if value is None else (max if step > 0 else min)(value, shifted)
    if value is None or isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(int(value) if integer and float(value).is_integer() else value)


def _resolve(root: Any, ref: str) -> Any:
    node = root
    for part in ref[2:].split("/"):
        if not isinstance(node, dict):
            return None
        node = node.get(part.replace("~1", "/").replace("~0", "~"))
    return node
