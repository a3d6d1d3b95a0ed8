"""JSON extraction the simulated models attempt: ``Extract name and age as JSON from: ...``."""

from __future__ import annotations

import json
import re
from typing import Any

from engine.simulator._tasks import Task, mistakes_of

_TRIGGER = re.compile(r"\bextract\b", re.IGNORECASE)
_JSON = re.compile(r"\bjson\b", re.IGNORECASE)
_FIELDS = re.compile(
    r"\bextract\s+(?P<fields>.+?)(?=\s+(?:as|in|into)\s+(?:a\s+)?json\b|\s+from\b|\s*:)",
    re.IGNORECASE,
)
_FROM = re.compile(r"\bfrom\b\s*:?", re.IGNORECASE)
_NOT_FIELDS = frozenset("and the their his her its a an person's fields field values".split())
_NOT_NAMES = frozenset(
    "The A An My His Her This That He She It I Mr Mrs Ms Dr Hello Hi Name Our Their We "
    "Contact Please Meet Dear Call Email Ask Say Yes No Today Yesterday Tomorrow Extract "
    "Age City Text Input Customer User".split()
)
_CAPITALISED = re.compile(r"\b[A-Z][a-z]+\b")
_AGE = (
    re.compile(r"\b(\d+)\s*(?:years?|yrs?|-year-old)\b", re.IGNORECASE),
    re.compile(r"\bage[ds]?\s*(?:is|:|=|of)?\s*(\d+)", re.IGNORECASE),
    re.compile(r"\b(\d+)\b"),
)
_CITY = (
    re.compile(r"\bcity\s*(?:is|:|=)\s*([A-Z][\w-]*(?: [A-Z][\w-]*)?)"),
    re.compile(r"\b(?:lives|living|based|located|resides|works)\s+in\s+([A-Z]\w+(?: [A-Z]\w+)?)"),
    re.compile(r"\b(?:from|in)\s+([A-Z]\w+(?: [A-Z]\w+)?)"),
)
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+\.[\w.]+")


def _name(source: str) -> str | None:
    m = re.search(r"\bname(?:d|\s+is|\s*:)\s*([A-Z]\w+(?: [A-Z]\w+)?)", source)
    if m:
        return m.group(1)
    words = [w for w in _CAPITALISED.finditer(source) if w.group(0) not in _NOT_NAMES]
    if not words:
        return None
    first = words[0]
    following = words[1] if len(words) > 1 else None
    if following is not None and source[first.end() : following.start()] == " ":
        return f"{first.group(0)} {following.group(0)}"
    return first.group(0)


def _first(patterns: tuple[re.Pattern[str], ...], source: str) -> str | None:
    for pattern in patterns:
        m = pattern.search(source)
        if m:
            return m.group(1)
    return None


def _value(field: str, source: str) -> Any:
    if field == "name":
        return _name(source)
    if field == "age":
        age = _first(_AGE, source)
        return int(age) if age is not None else None
    if field == "city":
        return _first(_CITY, source)
    if field == "email":
        m = _EMAIL.search(source)
        return m.group(0).rstrip(".") if m else None
    m = re.search(rf"\b{re.escape(field)}\s*(?:is|:|=)\s*([^,.;\n]+)", source, re.IGNORECASE)
    if m is None:
        return None
    raw = m.group(1).strip()
    return int(raw) if raw.isdigit() else raw


def extract_json(text: str) -> Task | None:
    """Answer ``{"name": "Alice", "age": 30}`` for the prompt in the module title.

    Fields are the words between "extract" and "as JSON"/"from"/":" (``and``/commas split
    them). The source text is what follows the first colon after "extract", else "from".
    Known fields: name (``name: X``, ``named X`` or the first capitalised word that is not a
    pronoun/article), age (number before "years", after "age", else first number), city
    (``city: X``, ``lives in X``, ``from X``), email; any other field reads ``field: value``.
    Missing values are ``null``.
    """
    start = _TRIGGER.search(text)
    if start is None or _JSON.search(text) is None:
        return None
    fm = _FIELDS.search(text, start.start())
    if fm is None:
        return None
    fields = [
        f.lower() for f in re.split(r"[,\s]+", fm.group("fields")) if f.lower() not in _NOT_FIELDS
    ]
    fields = [f for f in fields if f != "json"]
    if not fields:
        return None
    colon = text.find(":", fm.end() - 1)
    if colon >= 0:
        source = text[colon + 1 :]
    else:
        src = _FROM.search(text, fm.end())
        source = text[src.end() :] if src else text[fm.end() :]
    obj = {f: _value(f, source) for f in fields}
    answer = json.dumps(obj)
    return Task("json", answer, mistakes_of(answer, _wrong_json(obj, answer)))


def _wrong_json(obj: dict[str, Any], answer: str) -> list[str]:
    wrong = [answer[:-1], str(obj)]
    bumped = {k: v + 1 if isinstance(v, int) else v for k, v in obj.items()}
    wrong.append(json.dumps(bumped))
    if len(obj) > 1:
        wrong.append(json.dumps(dict(list(obj.items())[:-1])))
    else:
        wrong.append(json.dumps({k: str(v).lower() for k, v in obj.items()}))
    return wrong
