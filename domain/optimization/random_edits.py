"""The ``random`` optimizer: the benchmark's control.

It edits the system message at random with generic instructions from a fixed pool, or
shuffles or deletes its sentences. It never reads the evidence and knows nothing of any
task: whatever it gains is what generic prompt tinkering gains.
"""

from __future__ import annotations

import random
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from domain.errors import ValidationError
from domain.optimization.strategy import CandidateView, CaseEvidence, Content, Messages, Proposal

PHRASES: tuple[str, ...] = (
    "Read the question carefully.",
    "Answer the question directly.",
    "Be concise.",
    "Be precise.",
    "Think step by step before answering.",
    "Double-check your answer before replying.",
    "Use clear and simple language.",
    "Do not add unnecessary details.",
    "Follow the instructions exactly.",
    "You are a helpful assistant.",
    "Stay on topic.",
    "Give your best answer.",
)
"""Generic instructions that fit any task."""

OPERATIONS: tuple[str, ...] = ("add", "add", "delete", "shuffle", "replace")

_SENTENCE = re.compile(r"(?<=[.!?])\s+")


def sentences(text: str) -> list[str]:
    """The sentences of ``text`` (split after ``.``, ``!`` or ``?``).

    Examples:
        >>> sentences("Be brief. Be kind!  Why?")
        ['Be brief.', 'Be kind!', 'Why?']
    """
    return [s.strip() for s in _SENTENCE.split(text.strip()) if s.strip()]


@dataclass(frozen=True)
class RandomEdits:
    """Random generic edits of the system message; ``ask`` never asks a model."""

    name: str = "random"
    max_sentences: int = 8

    def ask(
        self, parent: CandidateView, evidence: Sequence[CaseEvidence], rng: random.Random
    ) -> Messages | None:
        del parent, evidence, rng  # proposes without a reflection model
        return None

    def propose(
        self,
        parent: CandidateView,
        evidence: Sequence[CaseEvidence],
        reply: str | None,
        rng: random.Random,
    ) -> Proposal | None:
        del evidence, reply  # blind on purpose: the control never looks at the task
        current = sentences(parent.content.system)
        for _ in range(8):  # a few tries for an edit that changes something
            operation = rng.choice(OPERATIONS)
            edited, why = self._edit(operation, list(current), rng)
            if edited != current and edited:
                system = " ".join(edited)
                return Proposal(Content(system, parent.content.template), f"random edit: {why}")
        return None

    def _edit(
        self, operation: str, current: list[str], rng: random.Random
    ) -> tuple[list[str], str]:
        unused = [p for p in PHRASES if p not in current]
        if operation == "delete" and len(current) > 1:
            gone = current.pop(rng.randrange(len(current)))
            return current, f"deleted {gone!r}"
        if operation == "shuffle" and len(current) > 1:
            rng.shuffle(current)
            return current, "shuffled the sentences"
        if operation == "replace" and current and unused:
            i = rng.randrange(len(current))
            old, current[i] = current[i], rng.choice(unused)
            return current, f"replaced {old!r} with {current[i]!r}"
        if unused and len(current) < self.max_sentences:
            phrase = rng.choice(unused)
            current.insert(rng.randrange(len(current) + 1), phrase)
            return current, f"added {phrase!r}"
        return current, "no change"

    def merge(
        self,
        a: CandidateView,
        b: CandidateView,
        ancestor: CandidateView | None,
        rng: random.Random,
    ) -> Proposal | None:
        del a, b, ancestor, rng  # no merge
        return None


def make(options: Mapping[str, Any]) -> RandomEdits:
    """The ``random`` strategy; ``options``: ``max_sentences`` (default 8).

    Raises:
        ValidationError: ``reason="invalid-options"`` for an unknown option or a bad value.
    """
    unknown = sorted(set(options) - {"max_sentences"})
    if unknown:
        raise ValidationError(
            f"unknown option(s) for the random optimizer: {', '.join(unknown)}",
            reason="invalid-options",
        )
    limit = options.get("max_sentences", 8)
    if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
        raise ValidationError("max_sentences must be a whole number >= 1", reason="invalid-options")
    return RandomEdits(max_sentences=limit)
