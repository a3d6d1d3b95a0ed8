"""`POST /v1/datasets/{dataset}/import`: a JSONL or CSV file as the next dataset version.

The file comes as the raw body (`Content-Type: application/x-ndjson` or `text/csv`) or as
the `file` field of a `multipart/form-data` upload. Any bad row rejects the whole import
with a 422 problem whose `errors` name every bad row by line; nothing is stored.
`?skip_bad=true` stores the good rows and lists the skipped ones instead. A missing dataset
is created by the first import that is stored, as the SDK and CLI do.
"""

from __future__ import annotations

from dataclasses import dataclass
from email.parser import BytesParser
from email.policy import HTTP
from typing import Annotated, Any

from fastapi import Depends, Query, Request, Response, status
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException
from starlette.requests import HTTPConnection

from api.acting import DatasetWriter
from api.openapi import AUTHENTICATED, api_router, problem_responses
from api.problems import Problem, ValidationProblem, nexus_error_handler, problem_response
from api.routes_datasets import DatasetName, dataset_version_out, version_location
from api.schemas import DatasetVersionOut, refuse_case_code
from domain.errors import ValidationError
from engine.evaluation.datasets import parse_dataset
from engine.sdk import Format

router = api_router(
    prefix="/v1/datasets",
    tags=["datasets"],
    responses={**AUTHENTICATED, **problem_responses(503)},
)

FORMATS: dict[str, Format] = {
    "application/x-ndjson": "jsonl",
    "application/jsonl": "jsonl",
    "application/jsonlines": "jsonl",
    "application/x-jsonlines": "jsonl",
    "text/csv": "csv",
    "application/csv": "csv",
}
EXTENSIONS: dict[str, Format] = {".jsonl": "jsonl", ".ndjson": "jsonl", ".csv": "csv"}
FILE_FIELD = "file"
_JSONL_EXAMPLE = '{"question": "2+2?", "expected": "4"}\n{"question": "3*3?", "expected": "9"}\n'
_CSV_EXAMPLE = "question,expected\n2+2?,4\n3*3?,9\n"
_BAD_ROWS_EXAMPLE = {
    "type": "https://autoforge.dev/problems/validation",
    "title": "Request is invalid",
    "status": 422,
    "detail": "1 bad row in dataset: line 3: expected 2 columns, got 3",
    "reason": "bad-rows",
    "errors": [
        {
            "loc": ["body", "line", 3],
            "msg": "expected 2 columns, got 3",
            "type": "bad-row",
            "line": 3,
        }
    ],
}
REQUEST_BODY = {
    "required": True,
    "description": "The file: the raw body, or the `file` field of a multipart upload.",
    "content": {
        "application/x-ndjson": {"schema": {"type": "string"}, "example": _JSONL_EXAMPLE},
        "text/csv": {"schema": {"type": "string"}, "example": _CSV_EXAMPLE},
        "multipart/form-data": {
            "schema": {
                "type": "object",
                "required": [FILE_FIELD],
                "properties": {FILE_FIELD: {"type": "string", "format": "binary"}},
            }
        },
    },
}


@dataclass(frozen=True)
class Upload:
    """The text of an uploaded dataset file and its format."""

    text: str
    format: Format


def _format_of(media_type: str, filename: str | None = None) -> Format | None:
    known = FORMATS.get(media_type.strip().lower())
    if known is None and filename:
        suffix = filename[filename.rfind(".") :].lower() if "." in filename else ""
        known = EXTENSIONS.get(suffix)
    return known


def _file_part(content_type: str, body: bytes) -> tuple[bytes, Format | None]:
    head = b"Content-Type: " + content_type.encode("latin-1") + b"\r\n\r\n"
    message = BytesParser(policy=HTTP).parsebytes(head + body)
    if message.is_multipart():
        for part in message.iter_parts():
            if part.get_param("name", header="content-disposition") == FILE_FIELD:
                payload = part.get_payload(decode=True)
                data = payload if isinstance(payload, bytes) else b""
                return data, _format_of(part.get_content_type(), part.get_filename())
    raise ValidationError(
        f"the multipart body has no `{FILE_FIELD}` field", reason="no-file", field=FILE_FIELD
    )


async def read_upload(request: Request) -> Upload:
    """The dataset file of the request (raw body or multipart `file` field).

    Raises:
        HTTPException: 415 for a type that is neither JSONL nor CSV.
        ValidationError: no `file` field, or the file is not UTF-8 text.
    """
    content_type = request.headers.get("content-type", "")
    media_type = content_type.partition(";")[0].strip().lower()
    body = await request.body()
    if media_type == "multipart/form-data":
        data, fmt = _file_part(content_type, body)
    else:
        data, fmt = body, _format_of(media_type)
    if fmt is None:
        raise HTTPException(
            status.HTTP_415_UNSUPPORTED_MEDIA_TYPE,
            "send JSONL (application/x-ndjson) or CSV (text/csv), raw or as a multipart file",
        )
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ValidationError(
            f"the file is not UTF-8 text (byte {exc.start})", reason="encoding"
        ) from None
    return Upload(text, fmt)


@router.post(
    "/{dataset}/import",
    status_code=status.HTTP_201_CREATED,
    response_model=DatasetVersionOut,
    openapi_extra={"requestBody": REQUEST_BODY},
    responses={
        **problem_responses(403, 404, 409),
        415: {"model": Problem, "description": "Neither JSONL nor CSV"},
        422: {
            "model": ValidationProblem,
            "description": "Bad rows (each named by line) or invalid parameters",
            "content": {"application/json": {"example": _BAD_ROWS_EXAMPLE}},
        },
    },
)
def import_cases(
    dataset: DatasetName,
    engine: DatasetWriter,
    upload: Annotated[Upload, Depends(read_upload)],
    response: Response,
    skip_bad: Annotated[bool, Query(description="Store the good rows, list the bad.")] = False,
    note: Annotated[str, Query(max_length=1000, description="Kept with the version.")] = "",
) -> DatasetVersionOut:
    """Import a JSONL or CSV file as the next version, creating a missing dataset.

    A row whose own scorers run code (`python`, `javascript`) is refused with 403
    `code-not-allowed`, before anything is stored.
    """
    # The good rows are what would be stored; bad ones are refused below, line by line.
    refuse_case_code(parse_dataset(upload.text, upload.format, skip_bad=True).cases)
    version = engine.datasets.import_text(
        dataset, upload.text, upload.format, skip_bad=skip_bad, note=note, create=True
    )
    response.headers["Location"] = version_location(version)
    return dataset_version_out(version)


async def row_errors_handler(conn: HTTPConnection, exc: Exception) -> JSONResponse | None:
    """A `ValidationError` listing bad rows: a 422 problem locating each row by line.

    The SDK puts row errors (`{"line", "message"}`) in `details["errors"]`, a member the
    problem body reserves for field errors; they are reshaped into field errors here so
    clients read every 422 the same way. Any other `ValidationError` is handled as usual.
    """
    assert isinstance(exc, ValidationError)
    rows: Any = exc.details.get("errors")
    if conn.scope["type"] != "http" or not _row_errors(rows):
        return await nexus_error_handler(conn, exc)
    errors = [
        {
            "loc": ["body", "line", row["line"]],
            "msg": str(row["message"]),
            "type": "bad-row",
            "line": row["line"],
        }
        for row in rows
    ]
    extensions = {key: value for key, value in exc.details.items() if key != "errors"}
    return problem_response(422, exc.code, exc.message, conn, errors=errors, **extensions)


def _row_errors(rows: Any) -> bool:
    return isinstance(rows, list) and all(
        isinstance(row, dict) and isinstance(row.get("line"), int) and "message" in row
        for row in rows
    )
