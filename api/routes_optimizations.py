"""`/v1/optimizations`: start, list, follow, cancel, resume, promote and report optimizations.

Starting one returns at once (202, `Location`) and the loop runs in the API's engine, where
its runs are; poll `GET /v1/optimizations/{id}` or follow
`/v1/streams/optimizations/{id}/events`. An `Idempotency-Key` makes a retried start return
the optimization the first attempt created. Another user's optimization is simply not
found (404).
"""

from __future__ import annotations

from dataclasses import asdict, is_dataclass
from typing import Annotated, Any, Literal

from fastapi import Path, Query, Response, status
from fastapi.responses import HTMLResponse

from api.acting import OptimizationWriter, Reader
from api.openapi import AUTHENTICATED, api_router, problem_responses
from api.pagination import Page, PageDep, encode_cursor, paginate
from api.routes_run_results import MEDIA_TYPES, REPORT_CSP
from api.routes_runs import IdempotencyKey, stored_keys
from api.schemas import ResumeIn, remote_scorers
from api.schemas_optimizations import (
    CandidateOut,
    OptimizationIn,
    OptimizationOut,
    OptimizationReportOut,
    PromoteIn,
    PromotionOut,
)
from api.services import ServicesDep
from api.streams import RUN_ID_PATTERN
from domain.errors import ValidationError

router = api_router(
    prefix="/v1/optimizations",
    tags=["optimizations"],
    responses={**AUTHENTICATED, **problem_responses(503)},
)

OptimizationId = Annotated[str, Path(pattern=RUN_ID_PATTERN, description="The optimization's id.")]
NOT_FOUND = problem_responses(404)
CHANGES = problem_responses(404, 409)


def optimization_out(info: Any) -> OptimizationOut:
    """The HTTP view of an `OptimizationInfo` (an allow-list of its fields)."""
    return OptimizationOut.model_validate(info.to_dict())


def candidate_out(candidate: Any) -> CandidateOut:
    """The HTTP view of a `CandidateInfo` (or of its dict in the report data)."""
    if is_dataclass(candidate) and not isinstance(candidate, type):
        return CandidateOut.model_validate(asdict(candidate))
    data = dict(candidate)
    return CandidateOut.model_validate(data)


def _accepted(optimization: Any, response: Response) -> OptimizationOut:
    response.headers["Location"] = f"/v1/optimizations/{optimization.id}"
    return optimization_out(optimization.info)


@router.post(
    "",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=OptimizationOut,
    responses={**CHANGES, **problem_responses(403)},
)
def start_optimization(
    body: OptimizationIn,
    engine: OptimizationWriter,
    services: ServicesDep,
    response: Response,
    idempotency_key: IdempotencyKey = None,
) -> OptimizationOut:
    """Validate and start an optimization; an `Idempotency-Key` replay returns the same one.

    Everything is checked before any call (scorers, split, models, budget, optimizer);
    candidates are commits on branch `opt/{id}` of the prompt. Calls use the caller's stored
    provider keys where the model's account needs one. Code assertions are refused (403
    `code-not-allowed`).
    """
    scorers = remote_scorers(body.scorers)
    optimization = engine.optimize(
        body.prompt,
        body.dataset,
        body.models,
        scorers,
        optimizer=body.optimizer,
        reflection_model=body.reflection_model,
        max_metric_calls=body.max_metric_calls,
        budget=body.budget,
        split=body.split,
        minibatch=body.minibatch,
        seed=body.seed,
        concurrency=body.concurrency,
        parallel=body.parallel,
        base=body.base,
        dataset_version=body.dataset_version,
        name=body.name,
        idempotency_key=idempotency_key,
        api_keys=stored_keys(services, engine.owner),
        options=body.options,
        patience=body.patience,
    )
    return _accepted(optimization, response)


@router.get("", response_model=Page[OptimizationOut])
def list_optimizations(engine: Reader, page: PageDep) -> Page[OptimizationOut]:
    """List your optimizations, newest first."""
    before = page.position.get("before") if page.position else None
    rows = engine.optimizations(
        limit=page.limit + 1, before=None if before is None else str(before)
    )
    return paginate(rows, page.limit, lambda row: {"before": row.id}, optimization_out)


@router.get("/{optimization_id}", response_model=OptimizationOut, responses=NOT_FOUND)
def get_optimization(optimization_id: OptimizationId, engine: Reader) -> OptimizationOut:
    """Show an optimization: status, calls, best score, front size, cost."""
    return optimization_out(engine.optimization(optimization_id).info)


@router.get("/{optimization_id}/candidates", response_model=Page[CandidateOut], responses=NOT_FOUND)
def list_candidates(
    optimization_id: OptimizationId,
    engine: Reader,
    page: PageDep,
    front: Annotated[bool, Query(description="Only the Pareto front's members.")] = False,
) -> Page[CandidateOut]:
    """List an optimization's candidates in the order they were proposed."""
    optimization = engine.optimization(optimization_id)
    rows = optimization.front if front else optimization.candidates
    start = _offset(page.position)
    shown = rows[start : start + page.limit]
    more = len(rows) > start + page.limit
    return Page(
        items=[candidate_out(row) for row in shown],
        next_cursor=encode_cursor({"after": start + page.limit}) if more else None,
    )


def _offset(position: dict[str, Any] | None) -> int:
    if position is None:
        return 0
    after = position.get("after")
    if isinstance(after, bool) or not isinstance(after, int) or after < 0:
        raise ValidationError("invalid cursor", parameter="cursor")
    return after


@router.post(
    "/{optimization_id}/cancel",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=OptimizationOut,
    responses=CHANGES,
)
def cancel_optimization(
    optimization_id: OptimizationId, engine: OptimizationWriter, response: Response
) -> OptimizationOut:
    """Stop an optimization: no new candidate is proposed; evaluations in flight finish."""
    return _accepted(engine.optimization(optimization_id).cancel(), response)


@router.post(
    "/{optimization_id}/resume",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=OptimizationOut,
    responses=CHANGES,
)
def resume_optimization(
    optimization_id: OptimizationId,
    engine: OptimizationWriter,
    services: ServicesDep,
    response: Response,
    body: ResumeIn | None = None,
) -> OptimizationOut:
    """Continue a stopped optimization from its event log; no recorded cell is called again.

    A `budget` replaces its cap (what it spent counts); a `concurrency` replaces its own.
    """
    optimization = engine.resume_optimization(
        optimization_id,
        concurrency=None if body is None else body.concurrency,
        budget=None if body is None else body.budget,
        api_keys=stored_keys(services, engine.owner),
    )
    return _accepted(optimization, response)


@router.post("/{optimization_id}/promote", response_model=PromotionOut, responses=CHANGES)
def promote_optimization(
    optimization_id: OptimizationId, engine: OptimizationWriter, body: PromoteIn | None = None
) -> PromotionOut:
    """Move a label to the best candidate only if it is significantly better on the test split.

    An exact McNemar test on the test split's paired pass/fail (best vs baseline) at `alpha`;
    otherwise `promoted` is false with `reason` "no significant improvement" and no label moves.
    """
    asked = body or PromoteIn()
    result = engine.optimization(optimization_id).promote(asked.label, asked.alpha)
    return PromotionOut.model_validate(result)


@router.get(
    "/{optimization_id}/report",
    response_class=Response,
    responses={
        200: {
            "model": OptimizationReportOut,
            "description": "The report in the format asked for.",
            "content": {
                "text/markdown": {"example": "# Optimization opt_5d1e0c9b8a7f6e5d4c3b\n"},
                "text/html": {"example": '<!DOCTYPE html>\n<html lang="en">…</html>'},
            },
        },
        **NOT_FOUND,
    },
)
def optimization_report(
    optimization_id: OptimizationId,
    engine: Reader,
    fmt: Annotated[
        Literal["json", "markdown", "html"], Query(alias="format", description="How to render.")
    ] = "json",
) -> Response:
    """Report an optimization: trajectory, Pareto front, lineage, diff, test split, cost."""
    text = engine.optimization(optimization_id).report(fmt)
    if fmt == "html":
        return HTMLResponse(text, headers={"Content-Security-Policy": REPORT_CSP})
    return Response(text, media_type=MEDIA_TYPES[fmt])
