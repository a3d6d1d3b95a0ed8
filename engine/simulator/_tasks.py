"""Recognisers for the simple tasks the simulated models attempt: arithmetic and strings.

Every recogniser is pure: it reads the last user message and returns a :class:`Task` with
the correct answer and a few plausible wrong ones, or ``None``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class Task:
    """A recognised task: its family, the correct answer and plausible mistakes.

    ``unit`` is the symbol of the answer's unit, if it has one (``km`` for a conversion).
    """

    kind: str
    answer: str
    mistakes: tuple[str, ...]
    unit: str = ""


def mistakes_of(answer: str, candidates: list[str]) -> tuple[str, ...]:
    """Drop duplicates, blanks and the correct answer itself, keeping order."""
    seen: list[str] = []
    for c in candidates:
        if c and c != answer and c not in seen:
            seen.append(c)
    return tuple(seen) or (answer + "?",)


def format_number(value: float) -> str:
    """Print integers bare and anything else rounded to two decimals (``2.5``, ``0.33``)."""
    if value == int(value):
        return str(int(value))
    return f"{value:.2f}".rstrip("0").rstrip(".")


_NUM = r"-?\d+(?:\.\d+)?"
_OP = r"\+|-|\*|/|×|÷|\bx\b|plus|minus|times|multiplied by|divided by"
_ARITH = re.compile(rf"({_NUM})\s*({_OP})\s*({_NUM})", re.IGNORECASE)
_ARITH_CUE = re.compile(
    r"what is|what's|compute|calculate|evaluate|solve|how much|result of|=|\?", re.IGNORECASE
)
_OPS = {
    "+": "+",
    "plus": "+",
    "-": "-",
    "minus": "-",
    "*": "*",
    "×": "*",
    "x": "*",
    "times": "*",
    "multiplied by": "*",
    "/": "/",
    "÷": "/",
    "divided by": "/",
}


def _apply(op: str, a: float, b: float) -> float | None:
    if op == "+":
        return a + b
    if op == "-":
        return a - b
    if op == "*":
        return a * b
    return None if b == 0 else round(a / b, 2)


def arithmetic(text: str) -> Task | None:
    """``What is 12 + 7?`` / ``compute 3 * 4`` / ``12 plus 7`` → ``19`` / ``12`` / ``19``.

    Needs a cue (``what is``, ``compute``, ``calculate``, ``=``, ``?``...) unless the message
    is at most 40 characters, so numbers in ordinary prose are not taken for sums.
    """
    m = _ARITH.search(text)
    if m is None or (len(text) > 40 and not _ARITH_CUE.search(text)):
        return None
    a, b = float(m.group(1)), float(m.group(3))
    op = _OPS[m.group(2).lower()]
    result = _apply(op, a, b)
    if result is None:
        return Task("arithmetic", "undefined", ("0", "infinity"))
    other = _apply("*" if op == "+" else "+", a, b) or 0.0
    wrong = [format_number(result + 1), format_number(result - 1), format_number(other)]
    return Task("arithmetic", format_number(result), mistakes_of(format_number(result), wrong))


_FILLER = r"(?:\s+(?:the|this|following|word|words|string|text|sentence|phrase|of|letters))*"
_TARGET = (
    r"""(?:\s*:\s*(?P<rest>[^\n]+)"""
    r"""|\s+(?:"(?P<dq>[^"]*)"|'(?P<sq>[^']*)'|(?P<word>[^\s.?!,;]+)))"""
)
_SENTENCE_END = re.compile(r"[.!?](?:\s|$)")
_REVERSE = re.compile(rf"\breverse\b{_FILLER}{_TARGET}", re.IGNORECASE)
_CASE = re.compile(rf"\b(?P<case>upper|lower)\s?case\b{_FILLER}{_TARGET}", re.IGNORECASE)
_CONVERT = re.compile(
    r"""\b(?:convert|change|turn)\s+(?:"(?P<dq>[^"]*)"|'(?P<sq>[^']*)'|(?P<word>.+?))"""
    r"\s+(?:to|into|in)\s+(?:all\s+)?(?P<case>upper|lower)\s?case",
    re.IGNORECASE,
)
_COUNT = re.compile(
    r"\b(?:count|how many)\b.*?\b(?P<unit>letters|characters|chars)\b(?:\s+(?:are|is|there))*"
    rf"\s+(?:in|does|of){_FILLER}{_TARGET}",
    re.IGNORECASE,
)


def _target(m: re.Match[str]) -> str:
    groups = m.groupdict()
    for name in ("dq", "sq"):
        if groups.get(name) is not None:
            return str(groups[name])
    rest = groups.get("rest")
    if rest is not None:
        # After a colon the target runs to the end of the line or of the sentence.
        return _SENTENCE_END.split(rest, maxsplit=1)[0].strip().strip("\"'")
    return str(groups.get("word") or "").strip("\"'")


def _garble(text: str) -> str:
    if len(text) < 3:
        return text + text[-1:]
    mid = len(text) // 2
    return text[: mid - 1] + text[mid] + text[mid - 1] + text[mid + 1 :]


def reverse(text: str) -> Task | None:
    """``reverse the word hello`` → ``olleh``; after a colon, the rest of the sentence."""
    m = _REVERSE.search(text)
    if m is None or not (target := _target(m)):
        return None
    answer = target[::-1]
    return Task("reverse", answer, mistakes_of(answer, [answer[:-1], _garble(answer), target]))


def change_case(text: str) -> Task | None:
    """``uppercase: hello`` / ``convert hello to uppercase`` / ``lowercase the word HeLLo``."""
    colon = _CASE.search(text)
    m = colon if colon and colon.group("rest") else (_CONVERT.search(text) or colon)
    if m is None or not (target := _target(m)):
        return None
    upper = m.group("case").lower() == "upper"
    answer = target.upper() if upper else target.lower()
    half = len(target) // 2
    partial = answer[:half] + target[half:]
    return Task("case", answer, mistakes_of(answer, [partial, answer[:-1], target]))


def count_letters(text: str) -> Task | None:
    """``count the letters in banana`` → ``6``; ``characters`` counts every character."""
    m = _COUNT.search(text)
    if m is None or not (target := _target(m)):
        return None
    if m.group("unit").lower() == "letters":
        n = sum(ch.isalpha() for ch in target)
    else:
        n = len(target)
    return Task("count", str(n), mistakes_of(str(n), [str(n + 1), str(n - 1), str(n + 2)]))
