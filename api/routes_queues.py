"""`/v1/queues`: annotation queues of the caller's runs: make, list, show; an annotator's
next item, answer and skip; progress, agreement and a pairwise tally. Another user's queue
(or run) is 404 like every resource; live progress is at `/v1/streams/queues/{id}/events`."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Path, Response, status

from api.acting import QueueManager, QueueWorker, Reader
from api.openapi import AUTHENTICATED, api_router, problem_responses
from api.pagination import Page, PageDep, paginate
from api.routes_feedback import feedback_cursor
from api.schemas_queues import (
    AgreementOut,
    AnswerIn,
    AnswerOut,
    ItemOut,
    NextIn,
    NextOut,
    ProgressOut,
    QueueIn,
    QueueOut,
    ReassignIn,
    ReassignOut,
    SkipIn,
    TallyOut,
)
from api.streams import RUN_ID_PATTERN
from domain.annotation import Queue
from domain.errors import ForbiddenError
from engine.evaluation.queues import QueueItem
from engine.sdk import Engine

router = api_router(
    prefix="/v1/queues",
    tags=["queues"],
    responses={**AUTHENTICATED, **problem_responses(503)},
)

QueueId = Annotated[str, Path(pattern=RUN_ID_PATTERN, description="The queue's id.")]
Position = Annotated[int, Path(ge=0, le=10_000_000, description="The item's position.")]


def queue_out(queue: Queue) -> QueueOut:
    """The HTTP view of a queue."""
    return QueueOut.model_validate(queue.to_dict())


def item_out(view: QueueItem) -> ItemOut:
    """What an annotator sees of an item (a pairwise item: two unnamed outputs)."""
    item, first = view.item, view.cells[0]
    head: dict[str, Any] = {
        "queue_id": view.queue_id,
        "position": item.position,
        "case_id": item.case_id,
        "repeat": item.repeat,
        "variables": dict(first.variables),
        "expected": first.expected,
    }
    if item.other is None:
        return ItemOut(
            **head,
            kind="single",
            prompt_version=first.prompt_version,
            model=first.model,
            output=first.output,
            passed=first.passed,
            score=first.score,
            scores=dict(first.scores),
            error=first.error,
        )
    return ItemOut(**head, kind="pairwise", left=view.left.output, right=view.right.output)


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=QueueOut,
    responses=problem_responses(404),
)
def create_queue(body: QueueIn, engine: QueueManager, response: Response) -> QueueOut:
    """Make a queue of a run's recorded cells that a filter selects (two runs: pairwise)."""
    queue = engine.queues.create(body.runs, **body.keywords())
    response.headers["Location"] = f"/v1/queues/{queue.id}"
    return queue_out(queue.info())


@router.get("", response_model=Page[QueueOut])
def list_queues(engine: Reader, page: PageDep) -> Page[QueueOut]:
    """List your queues, newest first."""
    rows = engine.queues.page(after=feedback_cursor(page.position), limit=page.limit + 1)
    return paginate(
        rows, page.limit, lambda row: {"after": list(row[0])}, lambda row: queue_out(row[1])
    )


def _annotator(engine: Engine, named: str | None) -> str:
    """Who annotates: the caller (naming another member is refused: answers are theirs)."""
    if named is not None and named != engine.user:
        raise ForbiddenError(
            "you may annotate only as yourself", reason="annotator-not-caller", annotator=named
        )
    return str(engine.user)


@router.get("/{queue_id}", response_model=QueueOut, responses=problem_responses(404))
def get_queue(queue_id: QueueId, engine: Reader) -> QueueOut:
    """Show a queue's runs, filter, kind, assignees and items."""
    return queue_out(engine.queues.get(queue_id).info())


@router.post("/{queue_id}/next", response_model=NextOut, responses=problem_responses(404))
def next_item(queue_id: QueueId, body: NextIn, engine: QueueWorker) -> NextOut:
    """Claim the next item for an annotator (the one they hold, else the first still open)."""
    view = engine.queues.get(queue_id).next(_annotator(engine, body.annotator))
    return NextOut(item=None if view is None else item_out(view))


@router.post(
    "/{queue_id}/items/{position}/submit",
    status_code=status.HTTP_201_CREATED,
    response_model=AnswerOut,
    responses=problem_responses(404, 409),
)
def submit_answer(
    queue_id: QueueId, position: Position, body: AnswerIn, engine: QueueWorker
) -> AnswerOut:
    """Answer an item; a single item's answer is recorded as feedback on its cell."""
    answer = engine.queues.get(queue_id).submit(
        position,
        _annotator(engine, body.annotator),
        verdict=body.verdict,
        score=body.score,
        correction=body.correction,
        comment=body.comment,
        tags=tuple(body.tags),
        choice=body.choice,
    )
    return AnswerOut(status="done", **answer.__dict__)


@router.post(
    "/{queue_id}/items/{position}/skip",
    response_model=AnswerOut,
    responses=problem_responses(404, 409),
)
def skip_item(
    queue_id: QueueId, position: Position, body: SkipIn, engine: QueueWorker
) -> AnswerOut:
    """Pass on an item: it is not offered to this annotator again."""
    who = _annotator(engine, body.annotator)
    engine.queues.get(queue_id).skip(position, who)
    return AnswerOut(position=position, annotator=who, status="skipped")


@router.post(
    "/{queue_id}/reassign", response_model=ReassignOut, responses=problem_responses(404, 409)
)
def reassign_items(queue_id: QueueId, body: ReassignIn, engine: QueueManager) -> ReassignOut:
    """Hand an assignee's open items over to another member."""
    queue = engine.queues.get(queue_id)
    moved = queue.reassign(body.source, body.target, positions=body.positions)
    return ReassignOut(moved=moved, assignees=list(queue.info().assignees))


@router.get("/{queue_id}/progress", response_model=ProgressOut, responses=problem_responses(404))
def queue_progress(queue_id: QueueId, engine: Reader) -> ProgressOut:
    """Show answers given and needed, complete items, skips, and each annotator's share."""
    return ProgressOut.model_validate(engine.queues.get(queue_id).progress().to_dict())


@router.get("/{queue_id}/agreement", response_model=AgreementOut, responses=problem_responses(404))
def queue_agreement(queue_id: QueueId, engine: Reader) -> AgreementOut:
    """Show how far annotators agree (Cohen's or Fleiss' kappa) and a pairwise tally."""
    queue = engine.queues.get(queue_id)
    agreed = queue.agreement().to_dict()
    tally = queue.tally() if queue.info().kind == "pairwise" else None
    return AgreementOut(
        **agreed, tally=None if tally is None else TallyOut.model_validate(tally.to_dict())
    )
