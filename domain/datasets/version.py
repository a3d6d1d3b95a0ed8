"""Dataset versions: an immutable, numbered, content-hashed list of cases."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

from domain.canonical import sha256_hex
from domain.datasets.case import TestCase
from domain.errors import ValidationError


def content_hash(cases: Iterable[TestCase]) -> str:
    """SHA-256 hex of the canonical JSON list of ``case.to_dict()``, in order."""
    return sha256_hex([case.to_dict() for case in cases])


@dataclass(frozen=True)
class DatasetVersion:
    """One version of a dataset, so a run can name exactly the cases it used.

    ``content_hash`` is computed from the cases (see :func:`content_hash`); it covers ids,
    variables, expected, metadata, tags and order, but not the dataset id or number, so equal
    content hashes mean equal cases wherever they live.

    Args:
        dataset_id: The dataset this version belongs to.
        number: 1 for the first version, then 2, 3, ...
        cases: The cases, in order, with unique ids.

    Raises:
        ValidationError: for an empty dataset id, a number below 1, no cases or duplicate ids.

    Examples:
        >>> v1 = DatasetVersion("ds1", 1, (TestCase(variables={"q": "hi"}),))
        >>> v1.next(v1.cases).number
        2
    """

    dataset_id: str
    number: int
    cases: tuple[TestCase, ...]
    content_hash: str = field(init=False)

    def __post_init__(self) -> None:
        if not isinstance(self.dataset_id, str) or not self.dataset_id:
            raise ValidationError("dataset id must be a non-empty string", reason="bad-version")
        if isinstance(self.number, bool) or not isinstance(self.number, int) or self.number < 1:
            raise ValidationError("version number must be 1 or more", reason="bad-version")
        cases = tuple(self.cases)
        if not cases:
            raise ValidationError("dataset is empty", reason="empty")
        counts = Counter(case.id for case in cases)
        duplicates = sorted(case_id for case_id, count in counts.items() if count > 1)
        if duplicates:
            raise ValidationError(
                f"duplicate case ids: {', '.join(duplicates[:10])}",
                reason="duplicate-id",
                ids=duplicates,
            )
        object.__setattr__(self, "cases", cases)
        object.__setattr__(self, "content_hash", content_hash(cases))

    @property
    def case_ids(self) -> tuple[str, ...]:
        """The case ids, in order."""
        return tuple(case.id for case in self.cases)

    def next(self, cases: Iterable[TestCase]) -> DatasetVersion:
        """The version after this one, holding ``cases``."""
        return DatasetVersion(self.dataset_id, self.number + 1, tuple(cases))
