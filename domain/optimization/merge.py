"""System-aware crossover of two candidates over their common ancestor (pure, no LLM call).

A system message is read as a list of instruction sentences (one per line, or split at
sentence ends). The merge is three-way: a sentence of the ancestor stays unless either
side removed it; the sentences each side added are all kept, ``a``'s first, without
duplicates. Templates: a side that changed the ancestor's template wins; when both did,
the seeded ``rng`` picks one.
"""

from __future__ import annotations

import random
import re

from domain.optimization.strategy import CandidateView, Content, Proposal

_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z\"'(])")


def sentences(system: str) -> list[str]:
    """The instruction sentences of ``system``, in order, stripped and without repeats."""
    out: list[str] = []
    for line in system.splitlines():
        for part in _SENTENCE_END.split(line.strip()):
            if part and part not in out:
                out.append(part)
    return out


def merge_systems(a: str, b: str, ancestor: str) -> str:
    """``a`` and ``b`` merged over ``ancestor`` (one sentence a line)."""
    base, left, right = sentences(ancestor), sentences(a), sentences(b)
    removed = {s for s in base if s not in left or s not in right}
    merged: list[str] = []
    for s in [*left, *right]:
        if s not in removed and s not in merged:
            merged.append(s)
    return "\n".join(merged)


def merge_contents(a: Content, b: Content, ancestor: Content, rng: random.Random) -> Content:
    """The three-way merge of two contents (see the module docstring)."""
    if a.template == ancestor.template:
        template = b.template
    elif b.template == ancestor.template or a.template == b.template:
        template = a.template
    else:
        template = rng.choice((a.template, b.template))
    return Content(merge_systems(a.system, b.system, ancestor.system), template)


def merge(
    a: CandidateView, b: CandidateView, ancestor: CandidateView | None, rng: random.Random
) -> Proposal | None:
    """A merge proposal of ``a`` and ``b``, or ``None`` when it would equal either side."""
    base = ancestor.content if ancestor is not None else Content("", a.content.template)
    content = merge_contents(a.content, b.content, base, rng)
    same = [
        sentences(content.system) == sentences(c.system) and content.template == c.template
        for c in (a.content, b.content)
    ]
    if any(same) or not content.template:
        return None
    via = f" over {ancestor.id}" if ancestor is not None else ""
    return Proposal(content, f"merge of {a.id} and {b.id}{via}: the instructions of both")
