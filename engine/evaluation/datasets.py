"""Datasets in the database: create, import (JSONL/CSV), immutable versions, export."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy import Engine, func, insert, select, update

from domain.datasets import (
    DatasetVersion,
    ParseResult,
    RowError,
    TestCase,
    parse_csv,
    parse_jsonl,
    to_csv,
    to_jsonl,
)
from domain.errors import ConflictError, NotFoundError, ValidationError
from domain.prompts.names import validate_single_line
from engine.evaluation.tables import dataset_cases, dataset_versions, datasets
from engine.store_util import new_id, unique_as_conflict, utc_now_iso

Format = Literal["jsonl", "csv"]


@dataclass(frozen=True)
class DatasetInfo:
    """A dataset and its latest version."""

    id: str
    name: str
    description: str
    latest_version: int
    created_at: str


@dataclass(frozen=True)
class VersionInfo:
    """One immutable dataset version."""

    id: str
    dataset_id: str
    number: int
    content_hash: str
    case_count: int
    note: str
    created_at: str
    skipped: tuple[RowError, ...] = ()


def parse_dataset(text: str, fmt: Format, *, skip_bad: bool = False) -> ParseResult:
    """Parse JSONL or CSV text into cases (line-numbered errors; nothing on any bad row)."""
    if fmt == "jsonl":
        return parse_jsonl(text, skip_bad=skip_bad)
    if fmt == "csv":
        return parse_csv(text, skip_bad=skip_bad)
    raise ValidationError(f"unknown dataset format {fmt!r}; use jsonl or csv", reason="format")


class DatasetStore:
    """Owner-scoped dataset rows; every query filters by owner."""

    def __init__(self, db: Engine) -> None:
        self.db = db

    def create(self, owner: str, name: str, description: str = "") -> DatasetInfo:
        validate_single_line(name, "dataset name", 200)
        row = {
            "id": new_id("ds"),
            "owner": owner,
            "name": name,
            "description": description,
            "latest_version": 0,
            "created_at": utc_now_iso(),
        }
        with (
            unique_as_conflict(f"a dataset named {name!r} already exists", reason="duplicate-name"),
            self.db.begin() as conn,
        ):
            conn.execute(insert(datasets).values(**row))
        return _info(row)

    def ensure(self, owner: str, name: str) -> None:
        """Create dataset ``name`` unless it exists (a concurrent creation is fine)."""
        try:
            self.get(owner, name)
        except NotFoundError:
            try:
                self.create(owner, name)
            except ConflictError:
                pass

    def add_version(
        self, owner: str, dataset: str, cases: Sequence[TestCase], note: str = ""
    ) -> VersionInfo:
        """Store `cases` as the next immutable version of `dataset` (id or name)."""
        info = self.get(owner, dataset)
        version = DatasetVersion(info.id, info.latest_version + 1, tuple(cases))
        row = {
            "id": new_id("dsv"),
            "dataset_id": info.id,
            "owner": owner,
            "number": version.number,
            "content_hash": version.content_hash,
            "case_count": len(version.cases),
            "note": note,
            "created_at": utc_now_iso(),
        }
        case_rows = [
            {
                "version_id": row["id"],
                "position": i,
                "case_id": case.id,
                "body": json.dumps(case.to_dict(), sort_keys=True),
            }
            for i, case in enumerate(version.cases)
        ]
        with (
            unique_as_conflict("dataset changed concurrently; retry", reason="stale-version"),
            self.db.begin() as conn,
        ):
            conn.execute(insert(dataset_versions).values(**row))
            conn.execute(insert(dataset_cases), case_rows)
            conn.execute(
                update(datasets)
                .where(datasets.c.id == info.id, datasets.c.latest_version == info.latest_version)
                .values(latest_version=version.number)
            )
        return _version(row)

    def import_text(
        self,
        owner: str,
        dataset: str,
        text: str,
        fmt: Format,
        *,
        skip_bad: bool = False,
        note: str = "",
        create: bool = False,
    ) -> VersionInfo:
        """Parse and store a new version; with `skip_bad`, report skipped rows on the result.

        With ``create``, a missing dataset is created once the file parsed (a rejected file
        creates nothing).
        """
        parsed = parse_dataset(text, fmt, skip_bad=skip_bad)
        if create:
            self.ensure(owner, dataset)
        stored = self.add_version(owner, dataset, parsed.cases, note=note)
        return VersionInfo(**{**stored.__dict__, "skipped": parsed.errors})

    def get(self, owner: str, dataset: str) -> DatasetInfo:
        with self.db.connect() as conn:
            row = (
                conn.execute(
                    select(datasets).where(
                        datasets.c.owner == owner,
                        (datasets.c.id == dataset) | (datasets.c.name == dataset),
                    )
                )
                .mappings()
                .first()
            )
        if row is None:
            raise NotFoundError(f"dataset {dataset!r} not found", reason="unknown-dataset")
        return _info(dict(row))

    def list_datasets(
        self, owner: str, *, limit: int = 50, after: str | None = None
    ) -> list[DatasetInfo]:
        query = select(datasets).where(datasets.c.owner == owner).order_by(datasets.c.name)
        if after is not None:
            query = query.where(datasets.c.name > after)
        with self.db.connect() as conn:
            rows = conn.execute(query.limit(limit)).mappings().all()
        return [_info(dict(r)) for r in rows]

    def version(self, owner: str, dataset: str, number: int | None = None) -> VersionInfo:
        """A version by number (latest when None), or by version id as `dataset`."""
        with self.db.connect() as conn:
            by_id = (
                conn.execute(
                    select(dataset_versions).where(
                        dataset_versions.c.owner == owner, dataset_versions.c.id == dataset
                    )
                )
                .mappings()
                .first()
            )
        if by_id is not None:
            return _version(dict(by_id))
        info = self.get(owner, dataset)
        wanted = number if number is not None else info.latest_version
        with self.db.connect() as conn:
            row = (
                conn.execute(
                    select(dataset_versions).where(
                        dataset_versions.c.dataset_id == info.id,
                        dataset_versions.c.number == wanted,
                    )
                )
                .mappings()
                .first()
            )
        if row is None:
            if wanted == 0:
                raise ValidationError(f"dataset {info.name!r} is empty", reason="empty-dataset")
            raise NotFoundError(
                f"dataset {info.name!r} has no version {wanted}", reason="unknown-version"
            )
        return _version(dict(row))

    def versions(self, owner: str, dataset: str) -> list[VersionInfo]:
        info = self.get(owner, dataset)
        with self.db.connect() as conn:
            rows = (
                conn.execute(
                    select(dataset_versions)
                    .where(dataset_versions.c.dataset_id == info.id)
                    .order_by(dataset_versions.c.number)
                )
                .mappings()
                .all()
            )
        return [_version(dict(r)) for r in rows]

    def cases(self, owner: str, version_id: str) -> list[TestCase]:
        """The cases of a version, in order (owner-checked)."""
        self._check_version_owner(owner, version_id)
        with self.db.connect() as conn:
            bodies = (
                conn.execute(
                    select(dataset_cases.c.body)
                    .where(dataset_cases.c.version_id == version_id)
                    .order_by(dataset_cases.c.position)
                )
                .scalars()
                .all()
            )
        return [case_from_row(json.loads(body)) for body in bodies]

    def export(self, owner: str, version_id: str, fmt: Format) -> str:
        cases = self.cases(owner, version_id)
        return to_jsonl(cases) if fmt == "jsonl" else to_csv(cases)

    def count(self, owner: str) -> int:
        with self.db.connect() as conn:
            return int(
                conn.execute(
                    select(func.count()).select_from(datasets).where(datasets.c.owner == owner)
                ).scalar_one()
            )

    def _check_version_owner(self, owner: str, version_id: str) -> None:
        with self.db.connect() as conn:
            found = conn.execute(
                select(dataset_versions.c.id).where(
                    dataset_versions.c.id == version_id, dataset_versions.c.owner == owner
                )
            ).first()
        if found is None:
            raise NotFoundError(
                f"dataset version {version_id!r} not found", reason="unknown-version"
            )


def case_from_row(row: Mapping[str, Any]) -> TestCase:
    """A case from a plain row: `vars` or `variables`, `expected`, `metadata`, `tags`, `id`,
    `scorers`, `threshold`, `messages`."""
    return TestCase(
        id=str(row.get("id", "")),
        variables=dict(row.get("vars", row.get("variables", {}))),
        expected=row.get("expected"),
        metadata=dict(row.get("metadata", {})),
        tags=tuple(row.get("tags", ())),
        scorers=tuple(row.get("scorers", ())),
        threshold=row.get("threshold"),
        messages=tuple(row.get("messages") or ()),
    )


def _info(row: dict[str, Any]) -> DatasetInfo:
    return DatasetInfo(
        id=row["id"],
        name=row["name"],
        description=row["description"],
        latest_version=row["latest_version"],
        created_at=row["created_at"],
    )


def _version(row: dict[str, Any]) -> VersionInfo:
    return VersionInfo(
        id=row["id"],
        dataset_id=row["dataset_id"],
        number=row["number"],
        content_hash=row["content_hash"],
        case_count=row["case_count"],
        note=row["note"],
        created_at=row["created_at"],
    )
