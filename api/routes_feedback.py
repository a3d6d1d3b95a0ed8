"""`/v1/runs/{id}/feedback`: people's verdicts, scores, corrections and comments on a run's
cells, and `/v1/runs/{id}/corrections`: the corrections as a new dataset version.
Append-only; another user's run is 404 like every run route."""

from __future__ import annotations

from typing import Any

from fastapi import Response, status

from api.acting import DatasetWriter, FeedbackWriter, Reader
from api.openapi import AUTHENTICATED, api_router, problem_responses
from api.pagination import Page, PageDep, paginate
from api.routes_datasets import dataset_version_out, version_location
from api.routes_runs import RunId
from api.schemas import DatasetVersionOut
from api.schemas_feedback import CorrectionsIn, FeedbackIn, FeedbackOut
from domain.errors import ValidationError
from domain.feedback import Feedback

router = api_router(
    prefix="/v1/runs",
    tags=["runs"],
    responses={**AUTHENTICATED, **problem_responses(503)},
)


def feedback_out(feedback: Feedback) -> FeedbackOut:
    """The HTTP view of a recorded feedback."""
    return FeedbackOut.model_validate(feedback.to_dict())


def feedback_cursor(position: dict[str, Any] | None) -> tuple[str, str] | None:
    """The (created at, id) a feedback cursor holds.

    Raises:
        ValidationError: the cursor holds no feedback position.
    """
    if position is None:
        return None
    after = position.get("after")
    if isinstance(after, list) and len(after) == 2 and all(isinstance(p, str) for p in after):
        return (after[0], after[1])
    raise ValidationError("invalid cursor", parameter="cursor")


@router.post(
    "/{run_id}/feedback",
    status_code=status.HTTP_201_CREATED,
    response_model=FeedbackOut,
    responses=problem_responses(404),
)
def add_feedback(run_id: RunId, body: FeedbackIn, engine: FeedbackWriter) -> FeedbackOut:
    """Give feedback on one recorded cell; the latest verdict or score overrides the scorers'."""
    return feedback_out(engine.run(run_id).feedback(**body.keywords()))


@router.get(
    "/{run_id}/feedback", response_model=Page[FeedbackOut], responses=problem_responses(404)
)
def list_feedback(run_id: RunId, engine: Reader, page: PageDep) -> Page[FeedbackOut]:
    """List the feedback given on a run's cells, oldest first."""
    rows = engine.run(run_id).feedback_page(
        after=feedback_cursor(page.position), limit=page.limit + 1
    )
    return paginate(
        rows, page.limit, lambda row: {"after": list(row[0])}, lambda row: feedback_out(row[1])
    )


@router.post(
    "/{run_id}/corrections",
    status_code=status.HTTP_201_CREATED,
    response_model=DatasetVersionOut,
    responses=problem_responses(404, 409),
)
def corrections_to_dataset(
    run_id: RunId, body: CorrectionsIn, engine: DatasetWriter, response: Response
) -> DatasetVersionOut:
    """Add the run's corrected outputs (and picked failing cases) to a dataset as a new version."""
    version = engine.run(run_id).corrections_to_dataset(
        body.dataset, include_failed=tuple(body.include_failed), note=body.note
    )
    response.headers["Location"] = version_location(version)
    return dataset_version_out(version)
