"""Annotation queues: cells of runs put before people, single (a verdict, a score, a
correction) or pairwise (which of two versions' outputs is better), several annotators per
item, and how far they agree.

A queue never changes results: a single item's answer is feedback on its cell
(`domain.feedback`), a pairwise answer a preference kept with the queue.
"""

from domain.annotation.answers import (
    Agreement,
    AnnotatorProgress,
    Answer,
    Progress,
    Tally,
    agreement,
    fleiss_kappa,
    preferred,
    tally,
)
from domain.annotation.items import Item, Side, pair_cells, select_cells
from domain.annotation.queue import (
    CHOICES,
    WHERE,
    Choice,
    ItemKind,
    Queue,
    QueueFilter,
    check_annotator,
    deal,
)

__all__ = [
    "CHOICES",
    "WHERE",
    "Agreement",
    "AnnotatorProgress",
    "Answer",
    "Choice",
    "Item",
    "ItemKind",
    "Progress",
    "Queue",
    "QueueFilter",
    "Side",
    "Tally",
    "agreement",
    "check_annotator",
    "deal",
    "fleiss_kappa",
    "pair_cells",
    "preferred",
    "select_cells",
    "tally",
]
