"""Deterministic moderation: a category is flagged when the text holds one of its words."""

from __future__ import annotations

import re

CATEGORY_WORDS: dict[str, frozenset[str]] = {
    "harassment": frozenset({"idiot", "stupid", "loser", "moron"}),
    "hate": frozenset({"vermin", "subhuman"}),
    "self-harm": frozenset({"suicide"}),
    "sexual": frozenset({"nsfw", "explicit"}),
    "violence": frozenset({"kill", "murder", "stab", "shoot"}),
}
"""The words that flag each category (whole words, any case)."""
FLAGGED_SCORE = 0.9
"""The score of a flagged category; every other category scores ``CLEAN_SCORE``."""
CLEAN_SCORE = 0.001
_WORD = re.compile(r"[a-z]+(?:-[a-z]+)*")


def moderate(text: str) -> tuple[dict[str, bool], dict[str, float]]:
    """``(categories, category_scores)`` of ``text``, in OpenAI's category names.

    Examples:
        >>> moderate("I will kill the process")[0]["violence"]
        True
    """
    words = set(_WORD.findall(text.lower()))
    categories = {name: bool(words & listed) for name, listed in CATEGORY_WORDS.items()}
    scores = {name: FLAGGED_SCORE if hit else CLEAN_SCORE for name, hit in categories.items()}
    return categories, scores
