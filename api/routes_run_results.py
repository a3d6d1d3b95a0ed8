"""`/v1/runs/{id}/cells` and `/v1/runs/{id}/report`: what a run recorded, cell by cell or
summarised (JSON, Markdown, or one self-contained HTML page)."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated, Any, Literal

from fastapi import Depends, Query, Response
from fastapi.responses import HTMLResponse

from api.acting import Reader
from api.openapi import AUTHENTICATED, api_router, problem_responses
from api.pagination import Page, PageDep, paginate
from api.routes_runs import NOT_FOUND, RunId
from api.schemas import CellOut, ReportOut
from api.schemas_flows import StepSummaryOut
from domain.errors import ValidationError
from domain.reports import ResultRecord
from engine.sdk import CellFilters, CellKey, cell_key

router = api_router(
    prefix="/v1/runs",
    tags=["runs"],
    responses={**AUTHENTICATED, **problem_responses(503)},
)

MEDIA_TYPES = {"json": "application/json", "markdown": "text/markdown", "html": "text/html"}
# The HTML report styles itself inline and draws inline SVG; it runs no script.
REPORT_CSP = (
    "default-src 'none'; style-src 'unsafe-inline'; img-src data:; "
    "frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
)


async def cell_filters(  # async: no thread-pool hop (see api.services)
    passed: Annotated[
        bool | None,
        Query(
            description="The effective verdict: people's override where given, else the scorers'."
        ),
    ] = None,
    model: Annotated[str | None, Query(max_length=200, description="Asked model.")] = None,
    prompt_version: Annotated[
        str | None,
        Query(pattern=r"^[0-9a-f]{1,64}$", description="A version id or its prefix."),
    ] = None,
    error: Annotated[bool | None, Query(description="Only failed (or only sound) cells.")] = None,
) -> CellFilters:
    """The cell filters of the query string."""
    return CellFilters(passed, model, prompt_version, error)


def key_cursor(position: dict[str, Any] | None) -> CellKey | None:
    """The key a cell cursor holds.

    Raises:
        ValidationError: the cursor holds no cell key.
    """
    if position is None:
        return None
    key = position.get("after")
    if (
        isinstance(key, list)
        and len(key) == 4
        and isinstance(key[0], int)
        and all(isinstance(part, str) for part in key[1:])
    ):
        return (key[0], key[1], key[2], key[3])
    raise ValidationError("invalid cursor", parameter="cursor")


def cell_out(cell: ResultRecord) -> CellOut:
    """The HTTP view of a recorded cell."""
    return CellOut.model_validate(asdict(cell))


@router.get("/{run_id}/cells", response_model=Page[CellOut], responses=NOT_FOUND)
def list_cells(
    run_id: RunId,
    engine: Reader,
    page: PageDep,
    filters: Annotated[CellFilters, Depends(cell_filters)],
) -> Page[CellOut]:
    """List a run's recorded cells, filtered by verdict, model, prompt version or error."""
    rows = engine.run(run_id).cells(filters, after=key_cursor(page.position), limit=page.limit + 1)
    return paginate(rows, page.limit, lambda cell: {"after": list(cell_key(cell))}, cell_out)


@router.get("/{run_id}/steps", response_model=list[StepSummaryOut], responses=NOT_FOUND)
def list_steps(run_id: RunId, engine: Reader) -> list[StepSummaryOut]:
    """A flow run's report per step (runs, error rate, latency p50/p95, tokens, cost, the
    step's own scores) per flow version and model; empty for a prompt run."""
    return [StepSummaryOut.model_validate(s.to_dict()) for s in engine.run(run_id).step_report()]


@router.get(
    "/{run_id}/report",
    response_class=Response,
    responses={
        200: {
            "model": ReportOut,
            "description": "The report in the format asked for.",
            "content": {
                "text/markdown": {"example": "| version | model | pass rate |\n|---|---|---|\n"},
                "text/html": {"example": '<!DOCTYPE html>\n<html lang="en">…</html>'},
            },
        },
        **NOT_FOUND,
    },
)
def run_report(
    run_id: RunId,
    engine: Reader,
    fmt: Annotated[
        Literal["json", "markdown", "html"], Query(alias="format", description="How to render.")
    ] = "json",
) -> Response:
    """Report a run: pass rates with intervals, scores, latency, tokens and cost."""
    text = engine.run(run_id).report(fmt)
    if fmt == "html":
        return HTMLResponse(text, headers={"Content-Security-Policy": REPORT_CSP})
    return Response(text, media_type=MEDIA_TYPES[fmt])
