"""`/v1/playground`: sessions that try one prompt version on given variables across several
models. Reading needs any member; sessions and turns need `runs.write` (they call models),
saving a case `datasets.write`, committing `prompts.write`. A turn answers 202 at once and
streams every model's answer, piece by piece, on `/v1/streams/playground/{id}/events`; its
result is at `.../turns/{n}` when done. A session of another workspace is 404."""

from __future__ import annotations

from typing import Annotated

from fastapi import Path, Response, status

from api.acting import DatasetWriter, PromptWriter, Reader, RunWriter
from api.openapi import AUTHENTICATED, api_router, problem_responses
from api.pagination import Page, PageDep, paginate
from api.routes_datasets import dataset_version_out, version_location
from api.routes_prompts import sdk_template, version_out
from api.routes_prompts import version_location as prompt_version_location
from api.routes_runs import stored_keys
from api.schemas import DatasetVersionOut, VersionOut
from api.schemas_playground import (
    SaveCaseIn,
    SessionCommitIn,
    SessionIn,
    SessionOut,
    TurnIn,
    TurnOut,
)
from api.services import ServicesDep
from domain.errors import ValidationError
from domain.playground import PlaygroundSession, Turn

router = api_router(
    prefix="/v1/playground",
    tags=["playground"],
    responses={**AUTHENTICATED, **problem_responses(503)},
)
SESSION_PATTERN = r"^pg_[0-9a-f]{1,64}$"
SessionId = Annotated[str, Path(pattern=SESSION_PATTERN, description="The session.")]
TurnNumber = Annotated[int, Path(ge=1, le=1_000_000, description="The turn, from 1.")]
EVENTS = "/v1/streams/playground/{id}/events"


def session_out(session: PlaygroundSession) -> SessionOut:
    return SessionOut.model_validate({**session.to_dict(), "events": EVENTS.format(id=session.id)})


def turn_out(turn: Turn) -> TurnOut:
    return TurnOut.model_validate(turn.to_dict())


def turn_location(turn: Turn) -> str:
    return f"/v1/playground/{turn.session_id}/turns/{turn.number}"


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=SessionOut,
    responses=problem_responses(404),
)
def create_session(body: SessionIn, engine: RunWriter, response: Response) -> SessionOut:
    """Start a playground session on a prompt version and 1 to 8 models."""
    pg = engine.playground(body.prompt, body.models, version=body.version, params=body.params)
    response.headers["Location"] = f"/v1/playground/{pg.id}"
    return session_out(pg.info)


@router.get("", response_model=Page[SessionOut])
def list_sessions(engine: Reader, page: PageDep) -> Page[SessionOut]:
    """List your playground sessions, newest first."""
    after = page.position.get("after") if page.position else None
    if after is not None and not isinstance(after, str):
        raise ValidationError("invalid cursor", parameter="cursor")
    rows = engine.playgrounds.list(limit=page.limit + 1, after=after)
    return paginate(rows, page.limit, lambda s: {"after": s.id}, session_out)


@router.get("/{session_id}", response_model=SessionOut, responses=problem_responses(404))
def get_session(session_id: SessionId, engine: Reader) -> SessionOut:
    """A playground session."""
    return session_out(engine.playgrounds.get(session_id).info)


@router.post(
    "/{session_id}/turns",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=TurnOut,
    responses=problem_responses(404, 409),
)
def start_turn(
    session_id: SessionId,
    body: TurnIn,
    engine: RunWriter,
    services: ServicesDep,
    response: Response,
) -> TurnOut:
    """Start a turn: 202 at once; the answers stream on the session's events (409 while
    another turn of the session runs). The workspace's stored provider keys are used, as
    for runs."""
    turn = engine.playgrounds.get(session_id).start(
        body.variables, cache=body.cache, api_keys=stored_keys(services, engine.owner)
    )
    response.headers["Location"] = turn_location(turn)
    return turn_out(turn)


@router.get("/{session_id}/turns", response_model=list[TurnOut], responses=problem_responses(404))
def list_turns(session_id: SessionId, engine: Reader) -> list[TurnOut]:
    """The session's history: every turn, oldest first."""
    return [turn_out(t) for t in engine.playgrounds.get(session_id).history()]


@router.get(
    "/{session_id}/turns/{number}", response_model=TurnOut, responses=problem_responses(404)
)
def get_turn(session_id: SessionId, number: TurnNumber, engine: Reader) -> TurnOut:
    """One turn (poll it, or follow the events, until `status` is `done`)."""
    return turn_out(engine.playgrounds.get(session_id).turn(number))


@router.post(
    "/{session_id}/turns/{number}/cases",
    status_code=status.HTTP_201_CREATED,
    response_model=DatasetVersionOut,
    responses=problem_responses(404, 409),
)
def save_case(
    session_id: SessionId,
    number: TurnNumber,
    body: SaveCaseIn,
    engine: DatasetWriter,
    response: Response,
) -> DatasetVersionOut:
    """Save a turn (a model's answer, or your corrected `expected`) as a test case."""
    version = engine.playgrounds.get(session_id).save_case(
        number, body.model, body.dataset, expected=body.expected, case_id=body.case_id
    )
    response.headers["Location"] = version_location(version)
    return dataset_version_out(version)


@router.post(
    "/{session_id}/commits",
    status_code=status.HTTP_201_CREATED,
    response_model=VersionOut,
    responses=problem_responses(404, 409),
)
def commit_from_session(
    session_id: SessionId, body: SessionCommitIn, engine: PromptWriter, response: Response
) -> VersionOut:
    """Commit an edited template to the session's prompt; the next turns use it."""
    version = engine.playgrounds.get(session_id).commit(
        None if body.template is None else sdk_template(body.template),
        system=body.system,
        message=body.message,
        branch=body.branch,
    )
    response.headers["Location"] = prompt_version_location(version)
    return version_out(version)
