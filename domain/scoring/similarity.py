"""Fuzzy text similarity against a reference: Levenshtein ratio and difflib ratio."""

from __future__ import annotations

import difflib
from typing import ClassVar

from domain.scoring._common import CASE_SENSITIVE, STRIP, VALUE, ReferenceScorer, ScorerArgs
from domain.scoring.base import Score, ScoreContext, register_scorer
from domain.scoring.listing import ScorerArgument


def levenshtein(a: str, b: str) -> int:
    """Edit distance (insertions, deletions, substitutions) between ``a`` and ``b``.

    Examples:
        >>> levenshtein("kitten", "sitting")
        3
    """
    if len(a) < len(b):
        a, b = b, a
    previous = list(range(len(b) + 1))
    for i, char_a in enumerate(a, start=1):
        current = [i]
        for j, char_b in enumerate(b, start=1):
            current.append(
                min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (char_a != char_b))
            )
        previous = current
    return previous[-1]


def levenshtein_ratio(a: str, b: str) -> float:
    """``1 - distance / max(len(a), len(b))``; two empty texts are identical (1.0)."""
    longest = max(len(a), len(b))
    return 1.0 if longest == 0 else 1.0 - levenshtein(a, b) / longest


class _Similarity(ReferenceScorer):
    default_threshold = 0.8
    label: ClassVar[str] = ""
    arguments: ClassVar[tuple[ScorerArgument, ...]] = (VALUE, CASE_SENSITIVE, STRIP)

    def configure(self, args: ScorerArgs) -> None:
        super().configure(args)
        self.case_sensitive = args.flag("case_sensitive", True)
        self.strip = args.flag("strip", True)

    def _norm(self, text: str) -> str:
        text = text.strip() if self.strip else text
        return text if self.case_sensitive else text.casefold()

    def ratio(self, a: str, b: str) -> float:
        raise NotImplementedError

    def score(self, ctx: ScoreContext) -> Score:
        reference = self.reference(ctx)
        if reference is None:
            return self.missing_reference()
        value = self.ratio(self._norm(ctx.output), self._norm(reference))
        verdict = "reaches" if value >= self.threshold else "is below"
        return self.result(
            value, f"{self.label} similarity {value:.3f} {verdict} threshold {self.threshold:g}"
        )


@register_scorer("levenshtein")
class Levenshtein(_Similarity):
    """Normalised Levenshtein similarity to ``value`` (or the expected answer).

    The value is ``1 - edit_distance / max_length``; default threshold 0.8.
    Args (in the spec): ``value`` (optional), ``case_sensitive`` and ``strip`` (default true),
    ``max_distance`` (optional whole number >= 0): when given, the scorer passes exactly when
    the edit distance is at most ``max_distance`` (promptfoo's ``threshold`` for this
    assertion); the value stays the similarity ratio.
    """

    label = "levenshtein"
    arguments = (
        *_Similarity.arguments,
        ScorerArgument("max_distance", "integer", "pass iff edit distance <= this (>= 0)"),
    )

    def configure(self, args: ScorerArgs) -> None:
        super().configure(args)
        self.max_distance = args.integer("max_distance", minimum=0)
        if self.max_distance is not None and self.spec.threshold is not None:
            raise args.error(
                "max_distance", "decides the verdict by itself; give it or threshold, not both"
            )

    def ratio(self, a: str, b: str) -> float:
        return levenshtein_ratio(a, b)

    def score(self, ctx: ScoreContext) -> Score:
        if self.max_distance is None:
            return super().score(ctx)
        reference = self.reference(ctx)
        if reference is None:
            return self.missing_reference()
        a, b = self._norm(ctx.output), self._norm(reference)
        distance = levenshtein(a, b)
        longest = max(len(a), len(b))
        value = 1.0 if longest == 0 else 1.0 - distance / longest
        passed = distance <= self.max_distance
        relation = "is within" if passed else "exceeds"
        return self.decided(
            value,
            passed,
            f"levenshtein distance {distance} {relation} max_distance {self.max_distance} "
            f"(similarity {value:.3f})",
        )


@register_scorer("similarity")
class Similarity(_Similarity):
    """``difflib.SequenceMatcher`` ratio to ``value`` (or the expected answer).

    Default threshold 0.8. Args (in the spec) as for ``levenshtein``.
    """

    label = "difflib"

    def ratio(self, a: str, b: str) -> float:
        return difflib.SequenceMatcher(None, a, b).ratio()
