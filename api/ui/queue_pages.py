"""`/ui/queues`: annotation queues in the viewer: each queue's progress per annotator, and
keyboard-driven queue work (next item, verdict / score / correction / comment, submit,
skip; a pairwise item's two outputs in the order recorded for it).

Every page and form goes through the SDK's queues (`engine.queues`, the same
`QueueStore` the JSON API uses) with the JSON API's permissions: reading needs
`workspace.read`, working an item `queue.work` and making a queue `queue.manage`; the
annotator is always the signed-in user, as `/v1/queues/{id}/next` insists.
"""

# No `from __future__ import annotations`: FastAPI reads these routes' annotations.
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from api.services import sdk_engine
from api.streams import RUN_ID_PATTERN
from api.ui.routes import WORKSPACE_COOKIE, page
from api.ui.security import FormPost, UiUser
from domain.annotation import ItemKind
from domain.errors import ValidationError
from domain.workspaces import Permission
from engine.sdk import Engine

router = APIRouter(
    prefix="/ui/queues", include_in_schema=False, default_response_class=HTMLResponse
)
FILTERS = ("all", "failed", "disagree", "near-threshold")
QueueId = Annotated[str, Path(pattern=RUN_ID_PATTERN)]
Position = Annotated[int, Path(ge=0, le=10_000_000)]


async def _engine_for(request: Request, user: Any, engine: Engine, needs: Permission) -> Engine:
    from api.acting import resolve

    chosen = request.query_params.get("workspace") or request.cookies.get(WORKSPACE_COOKIE)
    acting = await resolve(request, user, chosen, needs)
    return engine.as_owner(acting.workspace_id, user.id)


async def queue_reader(
    request: Request, user: UiUser, engine: Annotated[Engine, Depends(sdk_engine)]
) -> Engine:
    """The SDK as the signed-in user where their role grants `workspace.read`."""
    return await _engine_for(request, user, engine, "workspace.read")


async def queue_worker(
    request: Request, user: UiUser, engine: Annotated[Engine, Depends(sdk_engine)]
) -> Engine:
    """The SDK as the signed-in user where their role grants `queue.work`."""
    return await _engine_for(request, user, engine, "queue.work")


async def queue_manager(
    request: Request, user: UiUser, engine: Annotated[Engine, Depends(sdk_engine)]
) -> Engine:
    """The SDK as the signed-in user where their role grants `queue.manage`."""
    return await _engine_for(request, user, engine, "queue.manage")


Reader = Annotated[Engine, Depends(queue_reader)]
Worker = Annotated[Engine, Depends(queue_worker)]
Manager = Annotated[Engine, Depends(queue_manager)]


def _item_url(queue_id: str, position: int) -> str:
    return f"/ui/queues/{quote(queue_id, safe='')}/items/{position}"


def _after(engine: Engine, queue_id: str) -> Response:
    """On to the annotator's next item, or back to the queue when none is left for them."""
    view = engine.queues.get(queue_id).next(str(engine.user))
    target = (
        f"/ui/queues/{quote(queue_id, safe='')}?done=1"
        if view is None
        else _item_url(queue_id, view.item.position)
    )
    return RedirectResponse(target, status_code=303)


@router.get("")
def queues_page(
    request: Request,
    user: UiUser,
    engine: Reader,
    run: Annotated[str, Query(max_length=64)] = "",
) -> HTMLResponse:
    """The workspace's queues, each with its progress and every annotator's share; the form
    to make one (of ``run``, when named)."""
    queues = engine.queues.list(limit=100)
    rows = [(queue, engine.queues.get(queue.id).progress()) for queue in queues]
    runs = engine.runs(limit=50)
    return page(request, "queues.html", user, rows=rows, runs=runs, filters=FILTERS, chosen=run)


@router.post("")
def make_queue(posted: FormPost, engine: Manager) -> Response:
    """Make a queue of one run's recorded cells (`queue.manage`)."""
    run_id = posted.text("run", 64).strip()
    where = posted.text("filter", 32) or "all"
    if where not in FILTERS:
        raise ValidationError(f"filter is one of {', '.join(FILTERS)}", parameter="filter")
    try:
        sample = int(posted.text("sample", 9)) if posted.text("sample", 9).strip() else None
        per_item = int(posted.text("per_item", 3) or 1)
    except ValueError:
        raise ValidationError("sample and per item are whole numbers", parameter="sample") from None
    kind: ItemKind = "pairwise" if posted.text("kind", 16) == "pairwise" else "single"
    queue = engine.queues.create(
        run_id,
        filter=where,  # type: ignore[arg-type]
        sample=sample,
        annotators_per_item=per_item,
        kind=kind,
        name=posted.text("name", 200),
    )
    return RedirectResponse(f"/ui/queues/{quote(queue.id, safe='')}", status_code=303)


@router.get("/{queue_id}")
def queue_page(
    request: Request,
    queue_id: QueueId,
    user: UiUser,
    engine: Reader,
    done: Annotated[int, Query(ge=0, le=1)] = 0,
) -> HTMLResponse:
    """One queue: what it holds, progress per annotator, agreement and a pairwise tally."""
    queue = engine.queues.get(queue_id)
    info = queue.info()
    tally = queue.tally() if info.kind == "pairwise" else None
    return page(
        request,
        "queue.html",
        user,
        queue=info,
        progress=queue.progress(),
        agreement=queue.agreement(),
        tally=tally,
        done=bool(done),
    )


@router.post("/{queue_id}/next")
def next_item(queue_id: QueueId, posted: FormPost, engine: Worker) -> Response:  # noqa: ARG001
    """Claim the signed-in annotator's next item and open it."""
    return _after(engine, queue_id)


@router.get("/{queue_id}/items/{position}")
def item_page(
    request: Request, queue_id: QueueId, position: Position, user: UiUser, engine: Worker
) -> HTMLResponse:
    """One item to answer: its case, the output (a pairwise item: left and right, in the
    order recorded for it, without their versions) and the answer form."""
    queue = engine.queues.get(queue_id)
    view = queue.item(position)
    info = queue.info()
    return page(request, "queue_item.html", user, queue=info, view=view, progress=queue.progress())


@router.post("/{queue_id}/items/{position}/submit")
def submit(queue_id: QueueId, position: Position, posted: FormPost, engine: Worker) -> Response:
    """Answer the item as the signed-in annotator (validated by the SDK), then the next."""
    verdict, choice = posted.text("verdict", 8), posted.text("choice", 8)
    score = posted.text("score", 32).strip()
    try:
        given_score = float(score) if score else None
    except ValueError:
        raise ValidationError("score is a number in [0, 1]", parameter="score") from None
    engine.queues.get(queue_id).submit(
        position,
        str(engine.user),
        verdict=verdict if verdict in ("pass", "fail") else None,  # type: ignore[arg-type]
        score=given_score,
        correction=posted.text("correction") or None,
        comment=posted.text("comment") or None,
        choice=choice if choice in ("left", "right", "tie") else None,  # type: ignore[arg-type]
    )
    return _after(engine, queue_id)


@router.post("/{queue_id}/items/{position}/skip")
def skip(queue_id: QueueId, position: Position, posted: FormPost, engine: Worker) -> Response:  # noqa: ARG001
    """Pass on the item (never offered to this annotator again), then the next."""
    engine.queues.get(queue_id).skip(position, str(engine.user))
    return _after(engine, queue_id)
