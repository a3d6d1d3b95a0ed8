"""`/v1/datasets`: your datasets, their immutable numbered versions, and exports.

Imports of JSONL/CSV files live in `routes_dataset_import`. Another user's dataset is simply
not found (404).
"""

from __future__ import annotations

import dataclasses
import re
from typing import Annotated, Literal

from fastapi import Path, Query, Response, status

from api.acting import DatasetWriter, Reader
from api.openapi import AUTHENTICATED, api_router, problem_responses
from api.pagination import Page, PageDep, paginate
from api.schemas import CasesIn, DatasetIn, DatasetOut, DatasetVersionOut, refuse_case_code
from domain.errors import ValidationError
from engine.sdk import DatasetInfo, VersionInfo

router = api_router(
    prefix="/v1/datasets",
    tags=["datasets"],
    responses={**AUTHENTICATED, **problem_responses(503)},
)

DatasetName = Annotated[
    str, Path(min_length=1, max_length=200, description="The dataset's name or id.")
]
VersionNumber = Annotated[int, Path(ge=1, le=1_000_000, description="1 for the first version.")]
NOT_FOUND = problem_responses(404)
MEDIA_TYPES = {"jsonl": "application/x-ndjson", "csv": "text/csv"}
_UNSAFE_FILENAME = re.compile(r"[^A-Za-z0-9._-]+")
_EXPORT_EXAMPLE = '{"id":"q1","vars":{"question":"2+2?"},"expected":"4"}\n'


def dataset_out(info: DatasetInfo) -> DatasetOut:
    """The HTTP view of a dataset."""
    return DatasetOut.model_validate(dataclasses.asdict(info))


def dataset_version_out(version: VersionInfo) -> DatasetVersionOut:
    """The HTTP view of a dataset version (with the rows `skip_bad` left out)."""
    return DatasetVersionOut.model_validate(dataclasses.asdict(version))


def version_location(version: VersionInfo) -> str:
    """Where a version can be exported."""
    return f"/v1/datasets/{version.dataset_id}/versions/{version.number}/export"


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=DatasetOut,
    responses=problem_responses(409),
)
def create_dataset(body: DatasetIn, engine: DatasetWriter, response: Response) -> DatasetOut:
    """Create an empty dataset (409 if the name is taken)."""
    info = engine.datasets.create(body.name, body.description)
    response.headers["Location"] = f"/v1/datasets/{info.id}"
    return dataset_out(info)


@router.get("", response_model=Page[DatasetOut])
def list_datasets(engine: Reader, page: PageDep) -> Page[DatasetOut]:
    """List your datasets, ordered by name."""
    after = page.position.get("after") if page.position else None
    rows = engine.datasets.list(limit=page.limit + 1, after=None if after is None else str(after))
    return paginate(rows, page.limit, lambda row: {"after": row.name}, dataset_out)


@router.get("/{dataset}", response_model=DatasetOut, responses=NOT_FOUND)
def get_dataset(dataset: DatasetName, engine: Reader) -> DatasetOut:
    """Show a dataset and its latest version number."""
    return dataset_out(engine.datasets.get(dataset))


@router.post(
    "/{dataset}/versions",
    status_code=status.HTTP_201_CREATED,
    response_model=DatasetVersionOut,
    responses=problem_responses(403, 404, 409),
)
def add_version(
    dataset: DatasetName, body: CasesIn, engine: DatasetWriter, response: Response
) -> DatasetVersionOut:
    """Store cases given as JSON as the next immutable version.

    A case whose own scorers run code (`python`, `javascript`) is refused with 403
    `code-not-allowed`.
    """
    refuse_case_code(body.cases)
    cases = [case.model_dump() for case in body.cases]
    version = engine.datasets.add(dataset, cases, note=body.note)
    response.headers["Location"] = version_location(version)
    return dataset_version_out(version)


@router.get("/{dataset}/versions", response_model=Page[DatasetVersionOut], responses=NOT_FOUND)
def list_versions(dataset: DatasetName, engine: Reader, page: PageDep) -> Page[DatasetVersionOut]:
    """List a dataset's versions, oldest first."""
    after = _number_cursor(page.position.get("after") if page.position else None)
    rows = [v for v in engine.datasets.versions(dataset) if v.number > after]
    return paginate(
        rows[: page.limit + 1], page.limit, lambda row: {"after": row.number}, dataset_version_out
    )


@router.get(
    "/{dataset}/versions/{number}/export",
    response_class=Response,
    responses={
        200: {
            "description": "The version's cases, one JSON object per line or as CSV.",
            "content": {
                "application/x-ndjson": {"example": _EXPORT_EXAMPLE},
                "text/csv": {"example": "id,question,expected\nq1,2+2?,4\n"},
            },
        },
        **NOT_FOUND,
    },
)
def export_version(
    dataset: DatasetName,
    number: VersionNumber,
    engine: Reader,
    fmt: Annotated[
        Literal["jsonl", "csv"], Query(alias="format", description="The file format.")
    ] = "jsonl",
) -> Response:
    """Export a version as JSONL or CSV (a download)."""
    text = engine.datasets.export(dataset, fmt, number)
    filename = f"{_UNSAFE_FILENAME.sub('_', dataset)}-v{number}.{fmt}"
    return Response(
        text,
        media_type=MEDIA_TYPES[fmt],
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


def _number_cursor(value: object) -> int:
    if value is None:
        return 0
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    raise ValidationError("invalid cursor", parameter="cursor")
