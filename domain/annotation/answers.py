"""What annotators said about a queue's items: their answers, how far they agree (Cohen's kappa
for two, Fleiss' kappa for more), and a pairwise queue's tally with the left/right order
undone."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from domain.annotation.items import Item, Side
from domain.annotation.queue import Choice
from domain.feedback.alignment import cohen_kappa

PASS_SCORE = 0.5
"""A score given without a verdict counts as a pass from here on, for agreement."""


@dataclass(frozen=True)
class Answer:
    """One annotator's answer to one item (a skip is not an answer).

    Attributes:
        position: The item.
        annotator: Who answered.
        verdict: A single item's ``pass``/``fail``, when given.
        score: A single item's score, when given.
        choice: A pairwise item's ``left``, ``right`` or ``tie``, as shown to the annotator.
        created_at: When.
    """

    position: int
    annotator: str
    verdict: str | None = None
    score: float | None = None
    choice: Choice | None = None
    created_at: str = ""

    @property
    def label(self) -> Hashable | None:
        """What agreement compares: the choice, else the verdict, else the score's verdict."""
        if self.choice is not None:
            return self.choice
        if self.verdict is not None:
            return self.verdict
        if self.score is not None:
            return "pass" if self.score >= PASS_SCORE else "fail"
        return None


def fleiss_kappa(counts: Sequence[Mapping[Hashable, int]]) -> float | None:
    """Fleiss' kappa of ``N`` items each labelled by the same number ``n`` of raters.

    ``counts[i][label]`` is how many raters gave item ``i`` that label. With
    ``P_i = (sum_j n_ij^2 - n) / (n (n - 1))``, ``P = mean(P_i)``, ``p_j = sum_i n_ij / (N n)``
    and ``P_e = sum_j p_j^2``: ``kappa = (P - P_e) / (1 - P_e)``.

    ``None`` with no item, fewer than two raters or items of unequal rater counts; 1.0 when
    every rater gave one and the same label to every item.
    """
    sizes = {sum(c.values()) for c in counts}
    if not counts or len(sizes) != 1:
        return None
    n = sizes.pop()
    if n < 2:
        return None
    items = len(counts)
    per_item = [(sum(v * v for v in c.values()) - n) / (n * (n - 1)) for c in counts]
    observed = sum(per_item) / items
    totals: Counter[Hashable] = Counter()
    for c in counts:
        totals.update(c)
    chance = sum((t / (items * n)) ** 2 for t in totals.values())
    if chance == 1.0:
        return 1.0 if observed == 1.0 else 0.0
    return (observed - chance) / (1.0 - chance)


@dataclass(frozen=True)
class Agreement:
    """How far a queue's annotators agree on the items that got every answer they need.

    Attributes:
        method: ``cohen`` (two annotators answered every complete item), ``fleiss`` (more
            annotators, or several pairs of them), ``None`` (nothing to compare).
        kappa: The statistic; ``None`` when nothing to compare.
        n_items: Complete items compared.
        annotators: Who answered them.
        observed: Share of compared items on which every annotator gave the same label.
    """

    method: Literal["cohen", "fleiss"] | None
    kappa: float | None
    n_items: int
    annotators: tuple[str, ...]
    observed: float | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "method": self.method,
            "kappa": self.kappa,
            "n_items": self.n_items,
            "annotators": list(self.annotators),
            "observed": self.observed,
        }


def agreement(answers: Iterable[Answer], per_item: int) -> Agreement:
    """The agreement of ``answers`` over the items with exactly ``per_item`` labelled answers.

    Two annotators answering all of them: Cohen's kappa between the two (`cohen_kappa`).
    Otherwise Fleiss' kappa (`fleiss_kappa`), which does not need the same raters on every
    item. A queue with one annotator per item has nothing to compare.
    """
    labels: dict[int, dict[str, Hashable]] = defaultdict(dict)
    for answer in answers:
        if answer.label is not None:
            labels[answer.position][answer.annotator] = answer.label
    complete = {p: given for p, given in sorted(labels.items()) if len(given) == per_item}
    who = tuple(sorted({a for given in complete.values() for a in given}))
    if per_item < 2 or not complete:
        return Agreement(None, None, 0, who, None)
    observed = sum(len(set(given.values())) == 1 for given in complete.values()) / len(complete)
    if len(who) == 2:
        first, second = who
        kappa = cohen_kappa(
            [g[first] for g in complete.values()], [g[second] for g in complete.values()]
        )
        return Agreement("cohen", kappa, len(complete), who, observed)
    counts = [Counter(given.values()) for given in complete.values()]
    return Agreement("fleiss", fleiss_kappa(counts), len(complete), who, observed)


@dataclass(frozen=True)
class Tally:
    """A pairwise queue's preferences, each counted for the version it names (the left/right
    order of every item undone).

    Attributes:
        a, b: The two sides (run id, prompt version, model) of the queue's first item.
        wins_a, wins_b, ties: Answers preferring each side, and ties.
        a_rate: ``(wins_a + ties / 2) / answers``; ``None`` without answers.
    """

    a: Side | None
    b: Side | None
    wins_a: int
    wins_b: int
    ties: int

    @property
    def a_rate(self) -> float | None:
        total = self.wins_a + self.wins_b + self.ties
        return (self.wins_a + self.ties / 2) / total if total else None

    def to_dict(self) -> dict[str, Any]:
        return {
            "a": list(self.a) if self.a else None,
            "b": list(self.b) if self.b else None,
            "wins_a": self.wins_a,
            "wins_b": self.wins_b,
            "ties": self.ties,
            "a_rate": self.a_rate,
        }


def preferred(item: Item, choice: Choice) -> Literal["a", "b", "tie"]:
    """The side a ``choice`` shown on ``item`` prefers: ``left`` on a swapped item is B."""
    if choice == "tie":
        return "tie"
    return "a" if (choice == "left") != item.swapped else "b"


def tally(items: Sequence[Item], answers: Iterable[Answer]) -> Tally:
    """Every pairwise answer counted for the side it prefers (see `preferred`)."""
    by_position = {item.position: item for item in items}
    counted: Counter[str] = Counter()
    for answer in answers:
        item = by_position.get(answer.position)
        if item is not None and answer.choice is not None:
            counted[preferred(item, answer.choice)] += 1
    first = items[0] if items else None
    return Tally(
        first.side_a if first else None,
        first.other if first else None,
        counted["a"],
        counted["b"],
        counted["tie"],
    )


@dataclass(frozen=True)
class AnnotatorProgress:
    """One annotator's work on a queue: items answered, skipped, and assigned to them."""

    annotator: str
    done: int
    skipped: int
    assigned: int

    def to_dict(self) -> dict[str, Any]:
        return {
            "annotator": self.annotator,
            "done": self.done,
            "skipped": self.skipped,
            "assigned": self.assigned,
        }


@dataclass(frozen=True)
class Progress:
    """A queue's progress: items, items with every answer they need, answers given out of
    those needed, skips, and each annotator's share."""

    items: int
    complete: int
    answers: int
    needed: int
    skipped: int
    annotators: tuple[AnnotatorProgress, ...]

    @property
    def fraction(self) -> float:
        """Answers given out of answers needed."""
        return self.answers / self.needed if self.needed else 1.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "items": self.items,
            "complete": self.complete,
            "answers": self.answers,
            "needed": self.needed,
            "skipped": self.skipped,
            "fraction": self.fraction,
            "annotators": [a.to_dict() for a in self.annotators],
        }
