"""`/v1/prompts`: your prompts and their history (create, list, commit, log, show, diff,
revert). Refs (branches, labels, merges) and archiving live in `routes_prompt_refs`.

A prompt is named by its name or its id; a version by a ref: a branch, a label, ``v3``
(version number 3), a version id or an id prefix, optionally ``~N`` back (``main~1``).
Another user's prompt is simply not found (404).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Path, Query, Response, status

from api.acting import PromptWriter, Reader
from api.openapi import AUTHENTICATED, api_router, problem_responses
from api.pagination import Page, PageDep, paginate
from api.schemas import CommitIn, DiffOut, PromptIn, PromptOut, RevertIn, TemplateIn, VersionOut
from engine.sdk import PromptInfo, PromptVersion

router = api_router(
    prefix="/v1/prompts",
    tags=["prompts"],
    responses={**AUTHENTICATED, **problem_responses(503)},
)

PromptName = Annotated[
    str, Path(min_length=1, max_length=200, description="The prompt's name or id.")
]
Ref = Annotated[
    str,
    Path(
        min_length=1,
        max_length=200,
        description="A branch, label, `v3`, version id or id prefix (at least 7 hex digits), "
        "optionally `~N` first parents back (`main~1`).",
    ),
]
NOT_FOUND = problem_responses(404)
CHANGES = problem_responses(404, 409)


def prompt_out(info: PromptInfo) -> PromptOut:
    """The HTTP view of a prompt."""
    return PromptOut.model_validate(info.to_dict())


def version_out(version: PromptVersion) -> VersionOut:
    """The HTTP view of a version."""
    return VersionOut.model_validate(version.to_dict())


def sdk_template(template: TemplateIn) -> Any:
    """A template as the SDK takes it: a text or a list of message dicts."""
    if isinstance(template, str):
        return template
    return [message.model_dump() for message in template]


def version_location(version: PromptVersion) -> str:
    """Where a version can be read."""
    return f"/v1/prompts/{version.prompt_id}/versions/{version.id}"


@router.post("", status_code=status.HTTP_201_CREATED, response_model=PromptOut, responses=CHANGES)
def create_prompt(body: PromptIn, engine: PromptWriter, response: Response) -> PromptOut:
    """Create a prompt with its first version on `main` (409 if the name is taken)."""
    info = engine.prompts.create(
        body.name,
        sdk_template(body.template),
        system=body.system,
        settings=body.settings,
        description=body.description,
        tags=body.tags,
        message=body.message,
    )
    response.headers["Location"] = f"/v1/prompts/{info.id}"
    return prompt_out(info)


@router.get("", response_model=Page[PromptOut])
def list_prompts(
    engine: Reader,
    page: PageDep,
    q: Annotated[str, Query(max_length=200, description="Part of the name.")] = "",
    tag: Annotated[str | None, Query(max_length=64, description="Only with this tag.")] = None,
    archived: Annotated[bool, Query(description="Also list archived prompts.")] = False,
) -> Page[PromptOut]:
    """List or search your prompts (by part of the name and by tag), ordered by name."""
    after = page.position.get("after") if page.position else None
    rows = engine.prompts.search(
        q,
        tag=tag,
        include_archived=archived,
        limit=page.limit + 1,
        after=None if after is None else str(after),
    )
    return paginate(rows, page.limit, lambda row: {"after": row.name}, prompt_out)


@router.get("/{prompt}", response_model=PromptOut, responses=NOT_FOUND)
def get_prompt(prompt: PromptName, engine: Reader) -> PromptOut:
    """Show a prompt's details, branches and labels."""
    return prompt_out(engine.prompts.get(prompt))


@router.post(
    "/{prompt}/versions",
    status_code=status.HTTP_201_CREATED,
    response_model=VersionOut,
    responses=CHANGES,
)
def commit_version(
    prompt: PromptName, body: CommitIn, engine: PromptWriter, response: Response
) -> VersionOut:
    """Commit a new version on a branch (a stale `parent` is a 409 conflict)."""
    version = engine.prompts.commit(
        prompt,
        None if body.template is None else sdk_template(body.template),
        system=body.system,
        settings=body.settings,
        message=body.message,
        branch=body.branch,
        parent=body.parent,
    )
    response.headers["Location"] = version_location(version)
    return version_out(version)


@router.get("/{prompt}/versions", response_model=Page[VersionOut], responses=NOT_FOUND)
def log_versions(
    prompt: PromptName,
    engine: Reader,
    page: PageDep,
    ref: Annotated[str, Query(min_length=1, max_length=200, description="Start here.")] = "main",
) -> Page[VersionOut]:
    """List a ref's history, newest first (first parents)."""
    before = page.position.get("before") if page.position else None
    rows = engine.prompts.log(
        prompt, ref, limit=page.limit + 1, before=None if before is None else str(before)
    )
    return paginate(rows, page.limit, lambda row: {"before": row.id}, version_out)


@router.get("/{prompt}/versions/{ref:path}", response_model=VersionOut, responses=NOT_FOUND)
def show_version(prompt: PromptName, ref: Ref, engine: Reader) -> VersionOut:
    """Show the version a ref names (branch, label, v3, id or id prefix; ~N goes back)."""
    return version_out(engine.prompts.show(prompt, ref))


@router.get("/{prompt}/diff", response_model=DiffOut, responses=NOT_FOUND)
def diff_versions(
    prompt: PromptName,
    engine: Reader,
    from_: Annotated[str, Query(alias="from", min_length=1, description="The older ref.")],
    to: Annotated[str, Query(min_length=1, description="The newer ref.")] = "main",
    context: Annotated[int, Query(ge=0, le=100, description="Lines of context.")] = 3,
) -> DiffOut:
    """Diff two versions: unified diffs of template and settings, and what changed."""
    diff = engine.prompts.diff(prompt, from_, to, context=context)
    return DiffOut(
        from_id=diff.from_id,
        to_id=diff.to_id,
        template=diff.template,
        settings=diff.settings,
        changes=list(diff.changes),
    )


@router.post(
    "/{prompt}/revert",
    status_code=status.HTTP_201_CREATED,
    response_model=VersionOut,
    responses=CHANGES,
)
def revert_version(
    prompt: PromptName, body: RevertIn, engine: PromptWriter, response: Response
) -> VersionOut:
    """Commit a new version with the content of an older ref (history is kept)."""
    version = engine.prompts.revert(
        prompt, body.to, branch=body.branch, message=body.message, parent=body.parent
    )
    response.headers["Location"] = version_location(version)
    return version_out(version)
