"""`engine.datasets`: the dataset SDK bound to the engine's owner."""

from __future__ import annotations

import builtins
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from domain.datasets import TestCase
from domain.errors import ValidationError
from engine.evaluation.datasets import (
    DatasetInfo,
    DatasetStore,
    Format,
    VersionInfo,
    case_from_row,
)


class Datasets:
    """Create datasets, import JSONL/CSV as immutable versions, export them.

    Examples:
        >>> engine.datasets.create("qa-cases")                            # doctest: +SKIP
        >>> engine.datasets.import_file("qa-cases", "cases.jsonl")        # doctest: +SKIP
    """

    def __init__(self, store: DatasetStore, owner: str) -> None:
        self.store = store
        self.owner = owner

    def create(self, name: str, description: str = "") -> DatasetInfo:
        """Create an empty dataset (its first import becomes version 1)."""
        return self.store.create(self.owner, name, description)

    def get(self, dataset: str) -> DatasetInfo:
        return self.store.get(self.owner, dataset)

    def list(self, limit: int = 50, after: str | None = None) -> list[DatasetInfo]:
        return self.store.list_datasets(self.owner, limit=limit, after=after)

    def add(
        self, dataset: str, cases: Iterable[Mapping[str, Any] | TestCase], note: str = ""
    ) -> VersionInfo:
        """Store `cases` (dicts with vars/expected/metadata/tags/id) as a new version."""
        built = [c if isinstance(c, TestCase) else case_from_row(c) for c in cases]
        return self.store.add_version(self.owner, dataset, built, note=note)

    def import_text(
        self,
        dataset: str,
        text: str,
        fmt: Format,
        *,
        skip_bad: bool = False,
        note: str = "",
        create: bool = False,
    ) -> VersionInfo:
        """Import JSONL or CSV text; any bad row rejects the whole import unless `skip_bad`.

        With ``create``, a missing dataset is created (not when the text is rejected).
        """
        return self.store.import_text(
            self.owner, dataset, text, fmt, skip_bad=skip_bad, note=note, create=create
        )

    def import_file(
        self, dataset: str, path: str | Path, *, skip_bad: bool = False, create: bool = True
    ) -> VersionInfo:
        """Import a `.jsonl` or `.csv` file, creating the dataset if needed."""
        source = Path(path)
        fmt: Format
        if source.suffix.lower() in (".jsonl", ".ndjson"):
            fmt = "jsonl"
        elif source.suffix.lower() == ".csv":
            fmt = "csv"
        else:
            raise ValidationError(f"{source}: use a .jsonl or .csv file", reason="format")
        return self.import_text(
            dataset,
            source.read_text(encoding="utf-8-sig"),
            fmt,
            skip_bad=skip_bad,
            note=f"imported from {source.name}",
            create=create,
        )

    def exists(self, dataset: str) -> bool:
        from domain.errors import NotFoundError

        try:
            self.get(dataset)
        except NotFoundError:
            return False
        return True

    def version(self, dataset: str, number: int | None = None) -> VersionInfo:
        return self.store.version(self.owner, dataset, number)

    def versions(self, dataset: str) -> builtins.list[VersionInfo]:
        return self.store.versions(self.owner, dataset)

    def cases(self, dataset: str, number: int | None = None) -> builtins.list[TestCase]:
        return self.store.cases(self.owner, self.version(dataset, number).id)

    def export(self, dataset: str, fmt: Format = "jsonl", number: int | None = None) -> str:
        return self.store.export(self.owner, self.version(dataset, number).id, fmt)
