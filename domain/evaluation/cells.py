"""Cells: the unit of work and of recording (prompt version × model × case × repeat)."""

from __future__ import annotations

from collections.abc import Collection, Iterator
from dataclasses import dataclass

from domain.evaluation.run import RunSpec


@dataclass(frozen=True, order=True)
class Cell:
    """One call to make and record; its fields are the run's idempotency key."""

    prompt_version: str
    model: str
    case_id: str
    repeat: int

    @property
    def key(self) -> tuple[str, str, str, int]:
        return (self.prompt_version, self.model, self.case_id, self.repeat)


def expand_cells(
    spec: RunSpec, recorded: Collection[tuple[str, str, str, int]] = ()
) -> Iterator[Cell]:
    """Every cell of `spec` not already `recorded`, repeat-major then case order.

    Repeat-major order means an interrupted run has whole passes over the dataset rather
    than every repeat of the first cases.
    """
    for repeat in range(spec.repeats):
        for case_id in spec.case_ids:
            for version in spec.prompt_versions:
                for model in spec.cell_models:
                    cell = Cell(version, model, case_id, repeat)
                    if cell.key not in recorded:
                        yield cell
