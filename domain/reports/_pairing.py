"""Lining up the cells of two sides of a comparison."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from statistics import fmean

from domain.errors import ValidationError
from domain.reports.records import ResultRecord

PairKey = tuple[str, int | None]
KEYS = ("case", "case_id")


@dataclass(frozen=True)
class SideCell:
    """What one side contributes to a pair."""

    verdict: bool | None
    score: float | None
    output: str | None


def side_cells(records: Iterable[ResultRecord], key: str, label: str) -> dict[PairKey, SideCell]:
    """The cells of one side by pair key: ``(case_id, repeat)`` for ``key="case"``, or
    ``(case_id, None)`` with repeats folded together for ``key="case_id"``."""
    if key not in KEYS:
        raise ValidationError(f"unknown comparison key {key!r}; use 'case' or 'case_id'")
    by_cell = _by_cell(list(records), label)
    if key == "case":
        return {
            (case_id, repeat): SideCell(r.verdict, r.score, r.output)
            for (case_id, repeat), r in by_cell.items()
        }
    repeats: dict[str, list[ResultRecord]] = defaultdict(list)
    for (case_id, _), record in sorted(by_cell.items()):
        repeats[case_id].append(record)
    return {(case_id, None): _fold(records) for case_id, records in repeats.items()}


def _by_cell(records: list[ResultRecord], label: str) -> dict[tuple[str, int], ResultRecord]:
    groups = {(r.prompt_version, r.model) for r in records}
    if len(groups) > 1:
        raise ValidationError(
            f"results of {label} hold {len(groups)} prompt version × model groups; compare"
            " one against one (compare_groups picks them out of a run)",
            reason="mixed-groups",
        )
    cells: dict[tuple[str, int], ResultRecord] = {}
    for record in records:
        cell = (record.case_id, record.repeat)
        if cell in cells:
            raise ValidationError(
                f"results of {label} hold case {record.case_id!r} repeat {record.repeat}"
                " twice (results of two runs?)",
                reason="duplicate-cell",
            )
        cells[cell] = record
    return cells


def _fold(records: list[ResultRecord]) -> SideCell:
    # Majority verdict over graded repeats (a tie fails), mean score, first repeat's output.
    verdicts = [r.verdict for r in records if r.verdict is not None]
    scores = [r.score for r in records if r.score is not None]
    return SideCell(
        verdict=2 * sum(verdicts) > len(verdicts) if verdicts else None,
        score=fmean(scores) if scores else None,
        output=records[0].output,
    )
