"""`/v1/runs`: start, list, follow, cancel, resume and compare evaluation runs.

Starting a run returns at once (202, `Location`); poll `GET /v1/runs/{id}` or follow
`/v1/streams/runs/{id}/events`. An `Idempotency-Key` makes a retried start return the run
the first attempt created. Cells and reports live in `routes_run_results`. Another user's
run is simply not found (404).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Header, Path, Query, Response, status

from api.acting import Reader, RunWriter
from api.openapi import AUTHENTICATED, api_router, problem_responses
from api.pagination import Page, PageDep, paginate
from api.schemas import (
    ComparisonOut,
    ProgressOut,
    ResumeIn,
    RunIn,
    RunOut,
    RunSpecOut,
    remote_scorers,
)
from api.services import ApiServices, ServicesDep
from api.streams import RUN_ID_PATTERN
from engine.reports import to_json
from engine.sdk import Run, RunInfo

router = api_router(
    prefix="/v1/runs",
    tags=["runs"],
    responses={**AUTHENTICATED, **problem_responses(503)},
)

RunId = Annotated[str, Path(pattern=RUN_ID_PATTERN, description="The run's id.")]
IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        min_length=1,
        max_length=200,
        pattern=r"^[\x21-\x7e]+$",
        description="Any unique printable string: a replay returns the run it started.",
    ),
]
NOT_FOUND = problem_responses(404)
CHANGES = problem_responses(404, 409)


def run_out(
    info: RunInfo, *, recorded: int | None = None, progress: dict[str, Any] | None = None
) -> RunOut:
    """The HTTP view of a run (the spec without its case list)."""
    spec = info.spec
    return RunOut(
        id=info.id,
        name=info.name,
        status=info.status.value,
        spec=RunSpecOut(
            prompt_id=spec.prompt_id,
            prompt_versions=list(spec.prompt_versions),
            models=list(spec.models),
            dataset_version_id=spec.dataset_version_id,
            case_count=len(spec.case_ids),
            scorers=[dict(scorer) for scorer in spec.scorers],
            repeats=spec.repeats,
            seed=spec.seed,
            budget_usd=spec.budget_usd,
            cache=spec.cache,
            routing=spec.routing,
            concurrency=spec.concurrency,
        ),
        total_cells=info.total_cells,
        error=info.error,
        created_at=info.created_at,
        started_at=info.started_at,
        finished_at=info.finished_at,
        over_budget_cells=info.over_budget_cells,
        recorded_cells=recorded,
        progress=None if progress is None else ProgressOut.model_validate(progress),
    )


def _accepted(run: Run, response: Response) -> RunOut:
    response.headers["Location"] = f"/v1/runs/{run.id}"
    return run_out(run.info())


@router.post(
    "",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=RunOut,
    responses={**CHANGES, **problem_responses(403)},
)
def start_run(
    body: RunIn,
    engine: RunWriter,
    services: ServicesDep,
    response: Response,
    idempotency_key: IdempotencyKey = None,
) -> RunOut:
    """Validate and start a run; an `Idempotency-Key` replay returns the same run.

    Calls use the caller's stored provider keys (`/v1/provider-keys`) where the model's
    account needs one, else the server's configured key. Code assertions (`python`,
    `javascript` scorers) are refused with 403 `code-not-allowed`: they run only from the SDK
    and CLI.
    """
    scorers = remote_scorers(body.scorers)
    run = engine.evaluate(
        prompt=body.prompt,
        flow=body.flow,
        versions=body.versions,
        dataset=body.dataset,
        dataset_version=body.dataset_version,
        models=body.models,
        scorers=scorers,
        repeats=body.repeats,
        budget=body.budget,
        seed=body.seed,
        concurrency=body.concurrency,
        cache=body.cache,
        name=body.name,
        routing=body.routing,
        idempotency_key=idempotency_key,
        api_keys=stored_keys(services, engine.owner),
    )
    return _accepted(run, response)


@router.get("", response_model=Page[RunOut])
def list_runs(engine: Reader, page: PageDep) -> Page[RunOut]:
    """List your runs, newest first."""
    before = page.position.get("before") if page.position else None
    rows = engine.runs(limit=page.limit + 1, before=None if before is None else str(before))
    return paginate(rows, page.limit, lambda row: {"before": row.created_at}, run_out)


@router.get("/compare", response_model=ComparisonOut, responses=NOT_FOUND)
def compare_runs(
    engine: Reader,
    a: Annotated[str, Query(pattern=RUN_ID_PATTERN, description="The baseline run.")],
    b: Annotated[str, Query(pattern=RUN_ID_PATTERN, description="The candidate run.")],
) -> ComparisonOut:
    """Compare two runs on the same cases (McNemar test, bootstrap interval, verdict)."""
    return ComparisonOut.model_validate_json(to_json(engine.compare(a, b)))


@router.get("/{run_id}", response_model=RunOut, responses=NOT_FOUND)
def get_run(run_id: RunId, engine: Reader) -> RunOut:
    """Show a run: status, cells recorded and, while it is worked, live progress."""
    run = engine.run(run_id)
    info = run.info()
    progress = None if info.status.terminal() else run.progress()
    return run_out(info, recorded=run.recorded(), progress=progress)


@router.post(
    "/{run_id}/cancel",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=RunOut,
    responses=CHANGES,
)
def cancel_run(run_id: RunId, engine: RunWriter, response: Response) -> RunOut:
    """Stop a run: nothing new is dispatched; cells in flight finish and are recorded."""
    return _accepted(engine.run(run_id).cancel(), response)


@router.post(
    "/{run_id}/resume",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=RunOut,
    responses=CHANGES,
)
def resume_run(
    run_id: RunId,
    engine: RunWriter,
    services: ServicesDep,
    response: Response,
    body: ResumeIn | None = None,
) -> RunOut:
    """Continue a stopped run; recorded cells are never called again (409 if completed).

    A `budget` in the body replaces the run's cap, e.g. to finish a run stopped at it; a
    `concurrency` replaces the run's own (kept otherwise).
    """
    run = engine.resume(
        run_id,
        api_keys=stored_keys(services, engine.owner),
        budget=None if body is None else body.budget,
        concurrency=None if body is None else body.concurrency,
    )
    return _accepted(run, response)


def stored_keys(services: ApiServices, owner: str) -> dict[str, str]:
    """The caller's stored provider keys (none where this process holds no master keys)."""
    return {} if services.keyring is None else services.keys.reveal_all(owner)
