"""`/v1/flows`: your workflows and their history (create, list, commit, log, show, diff,
label). A flow is validated on every commit; a refused one is a 422 problem naming the step.

`tool` steps may name only the tools the server's operator registered (the
``AUTOFORGE_FLOW_TOOLS`` setting): nothing sent here chooses code to run.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Path, Query, Response, status

from api.acting import PromptWriter, Reader
from api.openapi import AUTHENTICATED, api_router, problem_responses
from api.pagination import Page, PageDep, paginate
from api.schemas_flows import (
    FlowCommitIn,
    FlowDiffOut,
    FlowIn,
    FlowLabelIn,
    FlowOut,
    FlowVersionOut,
)
from engine.sdk import Engine
from engine.sdk.flows import FlowVersion

router = api_router(
    prefix="/v1/flows",
    tags=["flows"],
    responses={**AUTHENTICATED, **problem_responses(503)},
)

FlowName = Annotated[str, Path(min_length=1, max_length=200, description="The flow's name.")]
Ref = Annotated[
    str,
    Path(min_length=1, max_length=200, description="A branch, label, `v3` or version id."),
]
NOT_FOUND = problem_responses(404)
CHANGES = problem_responses(404, 409)


def version_out(version: FlowVersion) -> FlowVersionOut:
    """The HTTP view of a flow version."""
    return FlowVersionOut.model_validate(version.to_dict())


def flow_out(engine: Engine, name: str) -> FlowOut:
    key = engine.flows.key(name)
    info = engine.prompts.get(key)
    head = engine.flows.get(key)
    return FlowOut(
        id=info.id,
        name=head.name,
        description=info.description,
        head=version_out(head),
        branches=dict(info.branches),
        labels=dict(info.labels),
    )


@router.post("", status_code=status.HTTP_201_CREATED, response_model=FlowOut, responses=CHANGES)
def create_flow(body: FlowIn, engine: PromptWriter, response: Response) -> FlowOut:
    """Create a flow with its first version on `main` (409 if the name is taken)."""
    engine.flows.create(body.name, body.flow, description=body.description, message=body.message)
    response.headers["Location"] = f"/v1/flows/{body.name}"
    return flow_out(engine, body.name)


@router.get("", response_model=Page[str])
def list_flows(engine: Reader, page: PageDep) -> Page[str]:
    """List your flows' names, in order."""
    after = page.position.get("after") if page.position else None
    names = [n for n in engine.flows.list(limit=1000) if after is None or n > str(after)]
    return paginate(names[: page.limit + 1], page.limit, lambda n: {"after": n}, lambda n: n)


@router.get("/{flow}", response_model=FlowOut, responses=NOT_FOUND)
def get_flow(flow: FlowName, engine: Reader) -> FlowOut:
    """Show a flow: its head on `main`, branches and labels."""
    return flow_out(engine, flow)


@router.post(
    "/{flow}/versions",
    status_code=status.HTTP_201_CREATED,
    response_model=FlowVersionOut,
    responses=CHANGES,
)
def commit_flow(
    flow: FlowName, body: FlowCommitIn, engine: PromptWriter, response: Response
) -> FlowVersionOut:
    """Commit a new version on a branch (validated; a stale `parent` is a 409 conflict)."""
    version = engine.flows.commit(
        flow, body.flow, message=body.message, branch=body.branch, parent=body.parent
    )
    response.headers["Location"] = f"/v1/flows/{flow}/versions/{version.id}"
    return version_out(version)


@router.get("/{flow}/versions", response_model=list[FlowVersionOut], responses=NOT_FOUND)
def flow_history(
    flow: FlowName,
    engine: Reader,
    ref: Annotated[str, Query(min_length=1, max_length=200)] = "main",
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
) -> list[FlowVersionOut]:
    """The versions from `ref` back along first parents, newest first."""
    return [version_out(v) for v in engine.flows.history(flow, ref, limit=limit)]


@router.get("/{flow}/versions/{ref}", response_model=FlowVersionOut, responses=NOT_FOUND)
def show_flow_version(flow: FlowName, ref: Ref, engine: Reader) -> FlowVersionOut:
    """The version a ref names."""
    return version_out(engine.flows.get(flow, ref))


@router.get("/{flow}/diff", response_model=FlowDiffOut, responses=NOT_FOUND)
def diff_flow(
    flow: FlowName,
    engine: Reader,
    old: Annotated[str, Query(alias="from", min_length=1, max_length=200)],
    new: Annotated[str, Query(alias="to", min_length=1, max_length=200)] = "main",
) -> FlowDiffOut:
    """The steps that changed between two refs, and a unified diff of the flows."""
    return FlowDiffOut.model_validate(engine.flows.diff(flow, old, new).to_dict())


@router.put("/{flow}/labels/{label}", response_model=FlowVersionOut, responses=CHANGES)
def label_flow(
    flow: FlowName,
    label: Annotated[str, Path(min_length=1, max_length=100)],
    body: FlowLabelIn,
    engine: PromptWriter,
) -> FlowVersionOut:
    """Point a label (e.g. `production`) at a version, creating or moving it."""
    return version_out(engine.flows.label(flow, label, body.to))
