"""`/v1/prompts/{prompt}/…`: branches, merges, movable labels, archive and restore."""

from __future__ import annotations

from typing import Annotated

from fastapi import Path, Response, status

from api.acting import PromptWriter
from api.openapi import AUTHENTICATED, api_router, problem_responses
from api.routes_prompts import (
    CHANGES,
    PromptName,
    prompt_out,
    version_location,
    version_out,
)
from api.schemas import BranchIn, LabelIn, MergeIn, MergeOut, PromptOut, VersionOut

router = api_router(
    prefix="/v1/prompts/{prompt}",
    tags=["prompts"],
    responses={**AUTHENTICATED, **problem_responses(503)},
)

RefName = Annotated[
    str, Path(min_length=1, max_length=100, description="Letters, digits and `._/-`.")
]


@router.post(
    "/branches", status_code=status.HTTP_201_CREATED, response_model=VersionOut, responses=CHANGES
)
def create_branch(
    prompt: PromptName, body: BranchIn, engine: PromptWriter, response: Response
) -> VersionOut:
    """Create a branch at a ref; answers with the branch's head version."""
    version = engine.prompts.branch(prompt, body.name, start=body.start)
    response.headers["Location"] = version_location(version)
    return version_out(version)


@router.delete("/branches/{name:path}", status_code=status.HTTP_204_NO_CONTENT, responses=CHANGES)
def delete_branch(prompt: PromptName, name: RefName, engine: PromptWriter) -> None:
    """Delete a branch other than `main` (its versions stay readable by id)."""
    engine.prompts.delete_branch(prompt, name)


@router.post("/merge", response_model=MergeOut, responses=CHANGES)
def merge_branch(prompt: PromptName, body: MergeIn, engine: PromptWriter) -> MergeOut:
    """Merge a ref into a branch: fast-forward when possible, 409 on a conflict."""
    merged = engine.prompts.merge(
        prompt,
        body.source,
        into=body.into,
        strategy=body.strategy,
        message=body.message,
        parent=body.parent,
    )
    return MergeOut(outcome=merged.outcome, version=version_out(merged.version))


@router.put("/labels/{label:path}", response_model=VersionOut, responses=CHANGES)
def put_label(
    prompt: PromptName, label: RefName, body: LabelIn, engine: PromptWriter
) -> VersionOut:
    """Point a label (e.g. `production`) at a ref, creating or moving it."""
    return version_out(engine.prompts.label(prompt, label, to=body.to))


@router.delete("/labels/{label:path}", status_code=status.HTTP_204_NO_CONTENT, responses=CHANGES)
def delete_label(prompt: PromptName, label: RefName, engine: PromptWriter) -> None:
    """Remove a label."""
    engine.prompts.unlabel(prompt, label)


@router.post("/archive", response_model=PromptOut, responses=CHANGES)
def archive_prompt(prompt: PromptName, engine: PromptWriter) -> PromptOut:
    """Archive a prompt: read-only and left out of lists unless asked for."""
    return prompt_out(engine.prompts.archive(prompt))


@router.post("/restore", response_model=PromptOut, responses=CHANGES)
def restore_prompt(prompt: PromptName, engine: PromptWriter) -> PromptOut:
    """Restore an archived prompt: writable and listed again."""
    return prompt_out(engine.prompts.restore(prompt))
