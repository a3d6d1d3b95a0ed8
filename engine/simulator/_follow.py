"""Instruction following: the output rules a prompt states or demonstrates, and applying them.

A simulated model knows nothing of a task family's hidden rules; it reads the prompt. A rule
counts when the system or a user message states it in one of the phrasings below, or when
the prompt shows demonstrations (``Output: ...`` lines, or earlier assistant messages)
whose outputs all display it. Each rule is then followed with probability
``0.5 + 0.5 * skill`` (the effective skill of ``_reply``), drawn per rule from its own
seeded stream, so weaker models slip more often and a prompt that states no rule gets the
same reply as before.

Stated phrasings (case-insensitive; natural variants of each are accepted):

- decimals: "round to 2 decimal places", "with two decimals", "3 decimal digits";
- thousands: "use a comma as the thousands separator", "group the digits by thousands";
- unit: "write the unit symbol after the number", "include the unit", "followed by the unit";
- casing: "in lowercase" / "in uppercase" / "all caps" / "lower-case", about the answer;
- prefix: ``start your answer with "Category: "``, ``prefix the answer with 'A: '``,
  ``begin the reply with "X"``, or a format such as ``in the format "Category: <label>"``.

Demonstrated: every demonstration output short and on one line (bare answer), the same
number of decimals in every number, a comma-grouped number, a number followed by a word
(a unit), a common ``Word: `` prefix, or letters all in one case after that prefix.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

BARE = re.compile(
    r"answer with only|only the|(?:respond|reply|return|output) (?:with )?only|only (?:respond|"
    r"reply|return|output)|just the|nothing else|no explanation|one word|single word",
    re.IGNORECASE,
)
"""The stated bare-answer rule (``_reply`` rule 4: always followed)."""
_WORDS = {"zero": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6}
_DECIMALS = re.compile(
    r"\b(?P<n>\d|zero|one|two|three|four|five|six)\s+(?:decimal|decimals|decimal places?|"
    r"decimal digits?|digits after the (?:decimal )?point)\b",
    re.IGNORECASE,
)
_THOUSANDS = re.compile(
    r"thousands?[- ]separators?|group(?:ing)? (?:the )?digits|separate (?:the )?thousands|"
    r"commas? (?:between|to separate|for|as) (?:the )?thousands",
    re.IGNORECASE,
)
_UNIT = re.compile(
    r"\b(?:with|include|including|append|add|followed by|write|give|state|end with)\b"
    r"[^.\n]{0,40}?\bunit(?:s| symbols?| abbreviations?)?\b",
    re.IGNORECASE,
)
_CASE = re.compile(
    r"\b(?P<case>lower|upper)[- ]?case\b|\b(?P<caps>all caps|all capitals|capital letters)\b",
    re.IGNORECASE,
)
_QUOTED = r"""["'“`](?P<p>[^"'”`\n]{1,40})["'”`]"""
_PREFIX = re.compile(
    r"\b(?:start|begin|prefix|preface|precede|open)\w*\s+(?:\w+\s+){0,3}?(?:with|by)\s+"
    r"(?:the\s+(?:prefix|word|words|text|keyword|label)\s+)?" + _QUOTED,
    re.IGNORECASE,
)
_FORMAT = re.compile(r"\bformat\s*:?\s*[\"'`](?P<p>[^\"'`<\n]{1,40})<[\w -]+>[\"'`]", re.IGNORECASE)
_DEMO = re.compile(r"^\s*(?:Output|Expected output|Answer)\s*:[ \t]*(?P<out>\S[^\n]*)$", re.M)
_DEMO_PREFIX = re.compile(r"^([A-Za-z][\w ]{0,20}:\s)")
_NUMBER = re.compile(r"-?\d[\d,]*(?:\.\d+)?")
_WITH_UNIT = re.compile(r"^-?[\d,]+(?:\.\d+)?\s+[A-Za-z°]+\.?$")
_CHATTY = re.compile(r"\b(?:sure|answer is|here is|of course|it is)\b", re.IGNORECASE)


@dataclass(frozen=True)
class Rules:
    """The output rules a prompt asks for (``None``/``False``: not asked)."""

    bare: bool = False
    decimals: int | None = None
    thousands: bool = False
    unit: bool = False
    case: str | None = None
    prefix: str | None = None

    def any(self) -> bool:
        """Whether the prompt asks for any rule at all."""
        return self != Rules()


def stated(text: str) -> Rules:
    """The rules ``text`` states in words (the bare-answer rule is ``_reply``'s)."""
    decimals = _DECIMALS.search(text)
    case = _CASE.search(text)
    prefix = _PREFIX.search(text) or _FORMAT.search(text)
    return Rules(
        decimals=_count(decimals.group("n")) if decimals else None,
        thousands=_THOUSANDS.search(text) is not None,
        unit=_UNIT.search(text) is not None,
        case=None if case is None else (case.group("case") or "upper").lower(),
        prefix=_spaced(prefix.group("p")) if prefix else None,
    )


def _spaced(prefix: str) -> str:
    return prefix + " " if prefix.endswith(":") else prefix


def _count(word: str) -> int:
    return int(word) if word.isdigit() else _WORDS[word.lower()]


def demonstrations(messages: Sequence[Mapping[str, Any]], text_of: Any) -> list[str]:
    """The demonstrated outputs: ``Output:``/``Answer:`` lines and earlier assistant turns."""
    outputs: list[str] = []
    last_user = max((i for i, m in enumerate(messages) if m.get("role") == "user"), default=-1)
    for i, m in enumerate(messages):
        content = text_of(m.get("content"))
        if m.get("role") == "assistant" and i < last_user:
            outputs.append(content.strip())
        elif m.get("role") in ("system", "user"):
            outputs += [d.group("out").strip() for d in _DEMO.finditer(content)]
    return [o for o in outputs if o]


def demonstrated(outputs: Sequence[str]) -> Rules:
    """The rules every demonstration output displays (none without demonstrations)."""
    if not outputs:
        return Rules()
    bare = all(len(o) <= 60 and "\n" not in o and not _CHATTY.search(o) for o in outputs)
    prefixes = {m.group(1) if (m := _DEMO_PREFIX.match(o)) else None for o in outputs}
    prefix = prefixes.pop() if len(prefixes) == 1 else None
    bodies = [o[len(prefix) :] if prefix else o for o in outputs]
    numbers = [n for b in bodies for n in _NUMBER.findall(b)]
    places = {len(n.partition(".")[2]) for n in numbers}
    letters = "".join(ch for b in bodies for ch in b if ch.isalpha())
    case = None
    if letters and not any(_WITH_UNIT.match(b) for b in bodies):
        case = "lower" if letters.islower() else "upper" if letters.isupper() else None
    return Rules(
        bare=bare,
        decimals=places.pop() if len(places) == 1 and numbers and 0 not in places else None,
        thousands=any(re.search(r"\d,\d{3}", n) for n in numbers),
        unit=bool(bodies) and all(_WITH_UNIT.match(b) for b in bodies),
        case=case,
        prefix=prefix,
    )


def combine(said: Rules, shown: Rules) -> Rules:
    """What is stated wins; a demonstration fills in what is not."""
    return Rules(
        bare=said.bare or shown.bare,
        decimals=said.decimals if said.decimals is not None else shown.decimals,
        thousands=said.thousands or shown.thousands,
        unit=said.unit or shown.unit,
        case=said.case or shown.case,
        prefix=said.prefix if said.prefix is not None else shown.prefix,
    )


def followed(rules: Rules, skill: float, draw: Any) -> Rules:
    """Drop each asked rule with probability ``0.5 - 0.5 * skill`` (``draw()`` in [0, 1))."""
    keep = 0.5 + 0.5 * skill
    out = rules
    for name in ("bare", "decimals", "thousands", "unit", "case", "prefix"):
        unset = getattr(Rules(), name)
        if getattr(rules, name) != unset and draw() >= keep:
            out = replace(out, **{name: unset})
    return out


def apply(rules: Rules, answer: str, kind: str, unit: str) -> str:
    """``answer`` reformatted by ``rules`` (numbers, then casing, unit and prefix)."""
    out = answer
    if re.fullmatch(r"-?\d+(?:\.\d+)?", out) and (rules.decimals is not None or rules.thousands):
        value = float(out)
        places = rules.decimals if rules.decimals is not None else len(out.partition(".")[2])
        out = f"{value:,.{places}f}" if rules.thousands else f"{value:.{places}f}"
    if rules.case and kind != "case":
        out = out.lower() if rules.case == "lower" else out.upper()
    if rules.unit and unit:
        out = f"{out} {unit}"
    if rules.prefix:
        out = rules.prefix + out
    return out
