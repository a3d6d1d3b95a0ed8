"""How ``sim-judge`` grades an answer against expected text.

Recognised prompt format (anywhere in the system and user messages, case-insensitive):

* ``<expected>...</expected>`` and ``<answer>...</answer>`` tags (multi-line), or
* section lines ``Expected: ...`` (also ``Expected answer``, ``Expected output``,
  ``Reference``, ``Reference answer``, ``Ideal``, ``Ideal answer``) and ``Answer: ...`` (also
  ``Response``, ``Output``, ``Submission``, ``Model answer``). A section runs until the next
  section line; ``Rubric:``, ``Criteria:``, ``Question:``, ``Input:`` and ``Task:`` also
  start sections, which are ignored.

Verdict: both texts are lower-cased, whitespace-collapsed and stripped of surrounding
punctuation; PASS when the expected text is a substring of the answer. The score is 1.0 on
PASS, otherwise half the fraction of expected words present in the answer (rounded to 2).

Reply format: if the prompt mentions both ``PASS`` and ``FAIL`` (upper case) the reply is
``PASS`` or ``FAIL`` on the first line and ``Reason: ...`` on the second; otherwise a JSON
object ``{"score": 1.0, "pass": true, "reason": "..."}``. With an answer but no expected
text the judge gives ``score`` 0.5 / ``FAIL``. The judge is exact: its skill is used only
for ordinary tasks (prompts without an answer section).
"""

from __future__ import annotations

import json
import re

_TAG = re.compile(r"<(?P<tag>expected|answer)>(?P<body>.*?)</(?P=tag)>", re.IGNORECASE | re.DOTALL)
_SECTION = re.compile(
    r"^\s*(?P<name>expected(?: answer| output)?|reference(?: answer)?|ideal(?: answer)?"
    r"|answer|model answer|response|output|submission|rubric|criteria|question|input|task)"
    r"\s*:\s?(?P<rest>.*)$",
    re.IGNORECASE,
)
_EXPECTED = ("expected", "reference", "ideal")
_ANSWER = ("answer", "model answer", "response", "output", "submission")
_WORD = re.compile(r"\w+")


def _sections(prompt: str) -> dict[str, str]:
    found: dict[str, str] = {}
    for m in _TAG.finditer(prompt):
        found.setdefault(m.group("tag").lower(), m.group("body").strip())
    current: str | None = None
    lines: dict[str, list[str]] = {}
    for line in prompt.splitlines():
        section = _SECTION.match(line)
        if section:
            name = section.group("name").lower()
            role = "expected" if name.startswith(_EXPECTED) else name
            current = "answer" if role in _ANSWER else role
            lines.setdefault(current, []).append(section.group("rest"))
        elif current is not None:
            lines[current].append(line)
    for key in ("expected", "answer"):
        if key not in found and key in lines:
            found[key] = "\n".join(lines[key]).strip()
    return found


def _norm(text: str) -> str:
    return " ".join(text.lower().split()).strip(" .,!?;:\"'`")


def is_judge_prompt(prompt: str) -> bool:
    """True when the prompt holds an answer to grade (an answer tag or section)."""
    return "answer" in _sections(prompt)


def judge(prompt: str) -> str:
    """Grade the answer section of ``prompt`` against its expected section (see module doc)."""
    found = _sections(prompt)
    answer = _norm(found.get("answer", ""))
    expected = _norm(found.get("expected", ""))
    if not expected:
        passed, score, reason = False, 0.5, "no expected text was given to compare with"
    elif expected in answer:
        passed, score, reason = True, 1.0, f"the answer contains the expected text {expected!r}"
    else:
        words = _WORD.findall(expected)
        present = sum(w in answer for w in words) / max(len(words), 1)
        passed, score = False, round(present / 2, 2)
        reason = f"the answer does not contain the expected text {expected!r}"
    if "PASS" in prompt and "FAIL" in prompt:
        return f"{'PASS' if passed else 'FAIL'}\nReason: {reason}"
    return json.dumps({"score": score, "pass": passed, "reason": reason})
