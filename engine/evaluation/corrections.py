"""A run's corrections (and failing cases a reviewer picks) stored as a new dataset version."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

from domain.datasets import TestCase
from domain.errors import NotFoundError
from domain.feedback import cases_from_corrections, with_cases
from engine.evaluation.datasets import DatasetStore, VersionInfo
from engine.evaluation.feedback import FeedbackStore

DATASET_ID = re.compile(r"ds_[0-9a-f]{20}")
"""How `new_id("ds")` spells a dataset id: such a name is never created, only found."""


def corrections_to_dataset(
    feedback: FeedbackStore,
    datasets: DatasetStore,
    owner: str,
    run_id: str,
    dataset: str,
    *,
    include_failed: Iterable[str] = (),
    note: str = "",
) -> VersionInfo:
    """Add the run's corrected cases (`domain.feedback.cases_from_corrections`) to
    ``dataset`` as its next version (`add_to_dataset`).

    Raises:
        NotFoundError: no such run of ``owner``, or ``dataset`` is the id of none of theirs.
        ValidationError: nothing to add, or a picked case is unknown or did not fail.
        ConflictError: the dataset got a new version meanwhile (retry).
    """
    records = feedback.runs.results(owner, run_id)
    feedbacks = feedback.for_run(owner, run_id)
    added = cases_from_corrections(
        records, feedbacks, include_failed=include_failed, picked_by=owner
    )
    message = note or f"corrections from run {run_id}"
    return add_to_dataset(datasets, owner, dataset, added, message)


def add_to_dataset(
    datasets: DatasetStore, owner: str, dataset: str, cases: Sequence[TestCase], note: str
) -> VersionInfo:
    """Store the latest version of ``dataset`` joined with ``cases`` (a case of the same id
    replaced, the others appended: `domain.feedback.with_cases`) as its next version.

    A dataset named ``dataset`` that does not exist is created (its first version holds the
    new cases alone); a dataset id is never created. No version is ever changed.

    Raises:
        NotFoundError: ``dataset`` is the id of none of ``owner``'s datasets.
        ConflictError: the dataset got a new version meanwhile (retry).
    """
    try:
        info = datasets.get(owner, dataset)
    except NotFoundError:
        if DATASET_ID.fullmatch(dataset):
            raise
        datasets.ensure(owner, dataset)
        info = datasets.get(owner, dataset)
    base = []
    if info.latest_version:
        latest = datasets.version(owner, info.id, info.latest_version)
        base = datasets.cases(owner, latest.id)
    return datasets.add_version(owner, info.id, with_cases(base, cases), note=note)
