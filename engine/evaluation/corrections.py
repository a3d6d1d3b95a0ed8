"""A run's corrections (and failing cases a reviewer picks) stored as a new dataset version."""

from __future__ import annotations

import re
from collections.abc import Iterable

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
    """Store the latest version of ``dataset`` joined with the run's corrected cases (see
    `domain.feedback.cases_from_corrections` and `with_cases`) as its next version.

    A dataset named ``dataset`` that does not exist is created (its first version holds the
    new cases alone); a dataset id is never created. No version is ever changed.

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
    message = note or f"corrections from run {run_id}"
    return datasets.add_version(owner, info.id, with_cases(base, added), note=message)
