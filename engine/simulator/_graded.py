"""How ``sim-judge`` answers model-graded classification prompts (OpenAI Evals style).

Recognised by a line ``Allowed choices: A, B, C`` (the last such line counts). The text after
it sets the reply layout: "alone on the last line" gives reasoning then the choice on its own
last line, "alone on the first line" the choice then reasoning, anything else the bare choice.

A ``[Grading: <kind>]`` line picks the rubric; its inputs come from the tags ``<question>``
(or ``<task>``), ``<answer>``, ``<reference>``, ``<context>`` (first of each; a body of
``(none)`` counts as absent). Texts are compared as their lower-cased word sequences (words:
numbers with their sign and decimals, or ``\\w+`` runs), so "Sure! It is 42." holds "42" but
"440" does not hold "44"; shares count words minus a few stop words.

* ``factuality`` (5 choices): the answer equals the reference -> 3rd choice (same facts);
  holds it -> 2nd (superset); is held by it -> 1st (subset); else, or no reference -> 4th.
* ``closedqa`` (2 choices): 1st when the answer holds the reference, else (or with no
  reference: the criterion cannot be checked) the 2nd.
* ``answer-relevance`` (3): empty answer -> 3rd; shares a word with the question -> 1st;
  else 2nd.
* ``context-faithfulness`` (3): the share of the answer's words found in the context: all ->
  1st, at least half -> 2nd, else (or no context) 3rd.
* ``context-recall`` (3): the share of the reference's words found in the context: all ->
  1st, some -> 2nd, none (or a missing text) -> 3rd.

Any other prompt, or a choice count the rubric does not expect: the first choice when the
answer (tag or section, as in ``_judge``) holds the expected text, else the last.
"""

from __future__ import annotations

import re

from engine.simulator._judge import _sections

_CHOICES = re.compile(r"^[ \t]*Allowed choices:[ \t]*(?P<list>.+)$", re.MULTILINE)
_KIND = re.compile(r"^\[Grading: (?P<kind>[a-z-]+)\]", re.MULTILINE)
_TAG = re.compile(
    r"<(?P<tag>question|task|answer|reference|context)>(?P<body>.*?)</(?P=tag)>", re.DOTALL
)
_WORD = re.compile(r"-?\d+(?:\.\d+)?|\w+")
_STOP = frozenset("a an the is are was were of to in on and or it its this that what which".split())
_COUNTS = {
    "factuality": 5,
    "closedqa": 2,
    "answer-relevance": 3,
    "context-faithfulness": 3,
    "context-recall": 3,
}


def _choices(prompt: str) -> tuple[list[str], str]:
    found = list(_CHOICES.finditer(prompt))
    if not found:
        return [], ""
    listed = [c.strip() for c in found[-1].group("list").split(",") if c.strip()]
    return listed, prompt[found[-1].end() :]


def is_graded_prompt(prompt: str) -> bool:
    """True when the prompt lists its allowed choices (see the module doc)."""
    return bool(_choices(prompt)[0])


def _tags(prompt: str) -> dict[str, str]:
    found: dict[str, str] = {}
    for m in _TAG.finditer(prompt):
        body = m.group("body").strip()
        tag = "question" if m.group("tag") == "task" else m.group("tag")
        if body != "(none)" and _phrase(body):
            found.setdefault(tag, _phrase(body))
    return found


def _phrase(text: str) -> str:
    return " ".join(_WORD.findall(text.lower()))


def _holds(text: str, part: str) -> bool:
    return bool(part) and f" {part} " in f" {text} "


def _words(text: str) -> set[str]:
    return {w for w in _WORD.findall(text.lower()) if w not in _STOP}


def _share(claim: str, source: str) -> float:
    words = _words(claim)
    return sum(w in _words(source) for w in words) / len(words) if words else 0.0


def _factuality(answer: str, reference: str) -> tuple[int, str]:
    if not reference:
        return 3, "there is no reference answer to compare with"
    if answer == reference:
        return 2, "the answer and the reference state the same thing"
    if _holds(answer, reference):
        return 1, "the answer holds the whole reference and adds to it"
    if _holds(reference, answer):
        return 0, "the answer holds part of the reference and nothing else"
    return 3, f"the answer does not agree with the reference {reference!r}"


def _rubric(kind: str, tags: dict[str, str]) -> tuple[int, str]:
    answer, reference = tags.get("answer", ""), tags.get("reference", "")
    context, question = tags.get("context", ""), tags.get("question", "")
    if kind == "factuality":
        return _factuality(answer, reference)
    if kind == "closedqa":
        if not reference:
            return 1, "there is no reference answer to check the criterion against"
        if _holds(answer, reference):
            return 0, f"the answer holds the reference {reference!r}"
        return 1, f"the answer does not hold the reference {reference!r}"
    if kind == "answer-relevance":
        if not answer:
            return 2, "the answer is empty"
        if _words(answer) & _words(question):
            return 0, "the answer takes up the words of the question"
        return 1, "the answer shares no words with the question"
    claim = answer if kind == "context-faithfulness" else reference
    share = _share(claim, context) if context and claim else 0.0
    what = "answer" if kind == "context-faithfulness" else "reference"
    reason = f"{share:.0%} of the {what}'s words are in the context"
    if share == 1.0:
        return 0, reason
    if share >= 0.5 or (kind == "context-recall" and share > 0):
        return 1, reason
    return 2, reason


def _generic(prompt: str, tags: dict[str, str], last: int) -> tuple[int, str]:
    sections = _sections(prompt)
    answer = tags.get("answer") or _phrase(sections.get("answer", ""))
    expected = tags.get("reference") or _phrase(sections.get("expected", ""))
    if _holds(answer, expected):
        return 0, f"the answer contains the expected text {expected!r}"
    return last, f"the answer does not contain the expected text {expected!r}"


def grade(prompt: str) -> str:
    """Pick a choice for a model-graded prompt and lay the reply out (see module doc)."""
    choices, layout = _choices(prompt)
    kind_match = _KIND.search(prompt)
    kind = kind_match.group("kind") if kind_match else ""
    tags = _tags(prompt)
    if len(choices) == _COUNTS.get(kind):
        index, reason = _rubric(kind, tags)
    else:
        index, reason = _generic(prompt, tags, len(choices) - 1)
    choice = choices[index]
    reasoning = f"{reason[0].upper()}{reason[1:]}."
    if "alone on the last line" in layout:
        return f"{reasoning}\n{choice}"
    if "alone on the first line" in layout:
        return f"{choice}\n{reasoning}"
    return choice
