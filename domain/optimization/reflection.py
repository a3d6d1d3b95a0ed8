"""The reflection protocol: the request a reflection model reads and the reply it sends.

The request is Markdown with fixed headings, so a model (or ``sim-reflector``) can find
each part::

    # Reflection request
    ## Current system message      (a fenced block; empty when there is none)
    ## Current template            (a fenced block)
    ## Failing examples
    ### Example 1 (case <id>)
    #### Inputs                    (- `name`: value)
    #### Output                    (a fenced block)
    #### Expected                  (a fenced block, or "(none)")
    #### Score                     (a number in [0, 1])
    #### Reasons                   (- scorer: reason, or "(none)")

The reply carries ``<system>...</system>``, optionally ``<template>...</template>``
(omitted = unchanged) and ``<rationale>...</rationale>``. Parsing never raises: a reply
without a ``<system>`` or ``<template>`` tag is no proposal. Both sides are size-bounded.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from domain.optimization.strategy import CaseEvidence, Content, Messages

TITLE = "# Reflection request"
SYSTEM = "## Current system message"
TEMPLATE = "## Current template"
FAILING = "## Failing examples"
INPUTS, OUTPUT, EXPECTED, SCORE, REASONS = (
    "#### Inputs",
    "#### Output",
    "#### Expected",
    "#### Score",
    "#### Reasons",
)
MAX_EXAMPLES = 8
MAX_FIELD_CHARS = 1_500
MAX_REQUEST_CHARS = 24_000
MAX_REPLY_CHARS = 32_000
MAX_PROMPT_CHARS = 12_000

INSTRUCTIONS = (
    "You improve prompts. The user message shows a prompt (its system message and its user "
    "template) and examples it failed on, each with the model's output, the expected output, "
    "the score and the scorers' reasons. Find what the failing outputs have in common and "
    "what the expected outputs require (format, rounding, units, casing, prefixes, "
    "keywords...), then rewrite the prompt so the model meets it. Reply with the new system "
    "message inside <system>...</system>, the new template inside <template>...</template> "
    "only if it must change (keep every {{ variable }}), and one or two sentences on why "
    "inside <rationale>...</rationale>."
)


@dataclass(frozen=True)
class Example:
    """One failing example as the request shows it."""

    case_id: str
    inputs: Mapping[str, str]
    output: str
    expected: str | None
    score: float | None
    reasons: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Request:
    """A parsed reflection request (what a reflection model reads back)."""

    system: str
    template: str
    examples: tuple[Example, ...]


@dataclass(frozen=True)
class Reply:
    """A parsed reply: ``None`` fields were not in the reply (unchanged)."""

    system: str | None
    template: str | None
    rationale: str


def failing(evidence: Sequence[CaseEvidence]) -> list[CaseEvidence]:
    """The cases that did not pass (errored, failed, or below a full score when no verdict)."""
    return [e for e in evidence if e.passed is False or (e.passed is None and e.score < 1.0)]


def _clip(text: str, limit: int = MAX_FIELD_CHARS) -> str:
    return text if len(text) <= limit else text[:limit] + " … (truncated)"


def _fenced(text: str) -> str:
    longest = max((len(m) for m in re.findall(r"`+", text)), default=0)
    fence = "`" * max(3, longest + 1)
    return f"{fence}text\n{text}\n{fence}"


def _value(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, default=str)
    return _clip(text.replace("\n", "\\n"), 300)


def _example(i: int, e: CaseEvidence) -> str:
    inputs = [f"- `{k}`: {_value(v)}" for k, v in e.variables.items()] or ["(none)"]
    output = _fenced(_clip(e.output)) if e.output is not None else f"(error: {e.error or '?'})"
    expected = _fenced(_clip(e.expected)) if e.expected is not None else "(none)"
    reasons = [f"- {k}: {_clip(v, 300)}" for k, v in e.reasons.items()]
    if e.error:
        reasons.append(f"- error: {_clip(e.error, 300)}")
    parts = [f"### Example {i} (case {e.case_id})", INPUTS, *inputs, OUTPUT, output]
    parts += [EXPECTED, expected, SCORE, f"{e.score:.3g}", REASONS, *(reasons or ["(none)"])]
    return "\n".join(parts)


def render(
    content: Content,
    examples: Sequence[CaseEvidence],
    *,
    max_examples: int = MAX_EXAMPLES,
    max_chars: int = MAX_REQUEST_CHARS,
) -> str:
    """The Markdown request for ``content`` and its failing ``examples`` (bounded in size)."""
    head = [TITLE, SYSTEM, _fenced(_clip(content.system, MAX_PROMPT_CHARS))]
    head += [TEMPLATE, _fenced(_clip(content.template, MAX_PROMPT_CHARS)), FAILING]
    blocks = [_example(i, e) for i, e in enumerate(examples[:max_examples], start=1)]
    text = "\n\n".join([*head, *blocks])
    while len(blocks) > 1 and len(text) > max_chars:
        blocks.pop()
        text = "\n\n".join([*head, *blocks])
    return text[:max_chars]


def request(
    content: Content, examples: Sequence[CaseEvidence], *, max_examples: int = MAX_EXAMPLES
) -> Messages:
    """The chat messages for the reflection model: `INSTRUCTIONS`, then the request."""
    return [
        {"role": "system", "content": INSTRUCTIONS},
        {"role": "user", "content": render(content, examples, max_examples=max_examples)},
    ]


def _tag(text: str, name: str) -> str | None:
    m = re.search(rf"<{name}>(.*?)</{name}>", text, re.DOTALL | re.IGNORECASE)
    return None if m is None else m.group(1).strip()


def parse_reply(text: str | None) -> Reply | None:
    """The proposal in a reply, or ``None`` (no ``<system>``/``<template>``, or too large)."""
    if not isinstance(text, str):
        return None
    text = text[:MAX_REPLY_CHARS]
    system, template = _tag(text, "system"), _tag(text, "template")
    if system is None and template is None:
        return None
    if any(p is not None and len(p) > MAX_PROMPT_CHARS for p in (system, template)):
        return None
    return Reply(system, template or None, _clip(_tag(text, "rationale") or "", 2_000))


_FENCE = re.compile(r"(`{3,})[^\n`]*\n(.*?)\n\1[ \t]*(?:\n|$)", re.DOTALL)
_EXAMPLE = re.compile(r"^### Example \d+(?: \(case (?P<id>[^)\n]*)\))?[ \t]*$", re.MULTILINE)


def _fence_after(text: str, heading: str, start: int = 0) -> tuple[str | None, int]:
    """The fenced block right under ``heading`` (searched from ``start``) and where it ends."""
    i = text.find(heading + "\n", start)
    if i < 0:
        return None, start
    j = i + len(heading) + 1
    while text.startswith("\n", j):
        j += 1
    m = _FENCE.match(text, j)
    return (m.group(2), m.end()) if m else (None, j)


def _lines_after(text: str, heading: str, start: int) -> list[str]:
    i = text.find(heading + "\n", start)
    if i < 0:
        return []
    lines = []
    for line in text[i + len(heading) + 1 :].split("\n"):
        if line.startswith("#") or not line.strip():
            break
        lines.append(line)
    return lines


def _pairs(lines: list[str], pattern: str) -> dict[str, str]:
    return {m.group(1): m.group(2) for line in lines if (m := re.match(pattern, line))}


def _parse_example(text: str, head: re.Match[str], end: int) -> tuple[Example, int]:
    start = head.end()
    inputs = _pairs(_lines_after(text, INPUTS, start), r"- `([^`]+)`: (.*)$")
    output, pos = _fence_after(text, OUTPUT, start)
    expected, pos = _fence_after(text, EXPECTED, pos)
    score_line = " ".join(_lines_after(text, SCORE, pos))
    score = re.search(r"-?\d+(?:\.\d+)?(?:e-?\d+)?", score_line)
    reasons = _pairs(_lines_after(text, REASONS, pos), r"- ([^:\n]+): (.*)$")
    example = Example(
        case_id=head.group("id") or "",
        inputs=inputs,
        output=output or "",
        expected=expected,
        score=float(score.group(0)) if score else None,
        reasons=reasons,
    )
    return example, max(pos, end)


def parse_request(text: str) -> Request | None:
    """Read a request made by `render` back, or ``None`` if ``text`` is not one."""
    if not text.lstrip().startswith(TITLE):
        return None
    system, pos = _fence_after(text, SYSTEM)
    template, pos = _fence_after(text, TEMPLATE, pos)
    pos = text.find(FAILING, pos)
    examples: list[Example] = []
    while pos >= 0 and (head := _EXAMPLE.search(text, pos)) is not None:
        example, pos = _parse_example(text, head, head.end())
        examples.append(example)
    return Request(system or "", template or "", tuple(examples))
