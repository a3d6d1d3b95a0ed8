"""Corrections become cases: people's corrected outputs (and failing cases they pick) as new
test cases, each saying where it came from, and how they join a dataset's cases."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import replace
from typing import Any

from domain.datasets import TestCase
from domain.errors import ValidationError
from domain.feedback.effective import with_feedback
from domain.feedback.event import Feedback
from domain.reports.records import ResultRecord

PROVENANCE = "provenance"
"""The metadata key of a case made from a run: where it came from."""


def cases_from_corrections(
    records: Iterable[ResultRecord],
    feedbacks: Iterable[Feedback],
    *,
    include_failed: Iterable[str] = (),
    picked_by: str | None = None,
) -> list[TestCase]:
    """One case per corrected case of a run, plus the failing cases a reviewer picked.

    A case's variables are its cell's; its ``expected`` is the latest correction given on any
    of its cells (by ``created_at``, then by order given). A picked case without correction
    keeps its expected output; it must have failed (a person's verdict, else the scorers',
    or an error) on at least one cell, the first in key order naming the cell. Each case's
    ``metadata["provenance"]`` holds ``run_id``, ``prompt_version``, ``model``, ``case_id``,
    ``repeat``, ``author`` and ``feedback_at`` (``None`` for a picked case without
    correction, whose author is ``picked_by``). Cases come in case id order.

    Args:
        records: The run's recorded cells, with their cases.
        feedbacks: Their feedback; only feedback with a correction makes a case.
        include_failed: Case ids of failing cases to add as well.
        picked_by: Who picked them.

    Raises:
        ValidationError: a picked case is not in the run (``unknown-case``) or did not fail
            (``not-failed``), or there is nothing to add (``nothing-to-add``).
    """
    cells = sorted(records, key=lambda c: (c.case_id, c.repeat, c.prompt_version, c.model))
    by_key = {(c.run_id, c.key): c for c in cells}
    latest: dict[str, tuple[str, int, Feedback]] = {}
    for order, item in enumerate(feedbacks):
        if item.correction is None or (item.run_id, item.key) not in by_key:
            continue
        seen = latest.get(item.case_id)
        if seen is None or (item.created_at, order) >= seen[:2]:
            latest[item.case_id] = (item.created_at, order, item)
    made = {
        case_id: _case(by_key[(f.run_id, f.key)], f.correction or "", f.author, f.created_at)
        for case_id, (_, _, f) in latest.items()
    }
    picked = list(dict.fromkeys(include_failed))
    marked = with_feedback(cells, feedbacks) if picked else []
    for case_id in picked:
        if case_id in made:
            continue
        mine = [c for c in marked if c.case_id == case_id]
        if not mine:
            raise ValidationError(f"the run has no case {case_id!r}", reason="unknown-case")
        failed = [c for c in mine if c.error is not None or c.effective_passed is False]
        if not failed:
            raise ValidationError(
                f"case {case_id!r} did not fail in the run; correct it instead",
                reason="not-failed",
            )
        made[case_id] = _case(failed[0], failed[0].expected, picked_by, None)
    if not made:
        raise ValidationError(
            "nothing to add: the run has no corrections and no failing case was picked",
            reason="nothing-to-add",
        )
    return [made[case_id] for case_id in sorted(made)]


def _case(cell: ResultRecord, expected: str | None, author: str | None, at: str | None) -> TestCase:
    provenance: dict[str, Any] = {
        "run_id": cell.run_id,
        "prompt_version": cell.prompt_version,
        "model": cell.model,
        "case_id": cell.case_id,
        "repeat": cell.repeat,
        "author": author,
        "feedback_at": at,
    }
    return TestCase(
        id=cell.case_id,
        variables=dict(cell.variables),
        expected=expected,
        metadata={PROVENANCE: provenance},
    )


def with_cases(base: Sequence[TestCase], added: Sequence[TestCase]) -> list[TestCase]:
    """``base`` with ``added`` joined: a case with an id in ``base`` replaces it in place
    (keeping the old case's tags, scorers, threshold and other metadata; its variables,
    expected output and provenance are the new case's), the others follow in order."""
    new = {case.id: case for case in added}
    out = []
    for old in base:
        case = new.pop(old.id, None)
        if case is None:
            out.append(old)
            continue
        out.append(
            replace(
                old,
                variables=case.variables,
                expected=case.expected,
                metadata={**old.metadata, **case.metadata},
            )
        )
    return out + list(new.values())
