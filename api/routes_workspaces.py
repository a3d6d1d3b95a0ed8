"""`/v1/workspaces`: the caller's workspaces and their members.

Any member lists a workspace's members; only an owner adds, re-roles or removes them, and the
last owner can be neither removed nor demoted. A workspace the caller is not in is 404.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Annotated, TypeVar

import anyio
from fastapi import Path, Response, status
from starlette.requests import HTTPConnection

from api.acting import (
    MemberManager,
    SignedIn,
    WorkspaceManager,
    WorkspaceReader,
    workspaces_for,
)
from api.openapi import AUTHENTICATED, api_router, problem_responses
from api.pagination import Page, PageDep, PageParams, paginate
from api.schemas_workspaces import (
    MemberIn,
    MemberOut,
    RoleIn,
    WorkspaceIn,
    WorkspaceOut,
)

router = api_router(
    prefix="/v1/workspaces",
    tags=["workspaces"],
    responses={**AUTHENTICATED, **problem_responses(403, 404)},
)
MemberId = Annotated[str, Path(min_length=1, max_length=200, description="The member's user id.")]
CHANGES = problem_responses(403, 404, 409)
T = TypeVar("T")


def _after(rows: Sequence[T], page: PageParams, key: Callable[[T], str]) -> list[T]:
    after = page.position.get("after") if page.position else None
    return [row for row in rows if after is None or key(row) > str(after)][: page.limit + 1]


@router.get("", response_model=Page[WorkspaceOut])
async def list_workspaces(
    conn: HTTPConnection, user: SignedIn, page: PageDep
) -> Page[WorkspaceOut]:
    """List your workspaces (your personal one included) and your role in each."""
    rows = await anyio.to_thread.run_sync(workspaces_for(conn, user).list)
    shown = _after(rows, page, lambda row: row[0].id)
    return paginate(
        shown, page.limit, lambda row: {"after": row[0].id}, lambda r: WorkspaceOut.of(*r)
    )


@router.post("", status_code=status.HTTP_201_CREATED, response_model=WorkspaceOut)
async def create_workspace(
    conn: HTTPConnection, body: WorkspaceIn, user: SignedIn, response: Response
) -> WorkspaceOut:
    """Create a shared workspace; you are its owner."""
    made = await anyio.to_thread.run_sync(workspaces_for(conn, user).create, body.name)
    response.headers["Location"] = f"/v1/workspaces/{made.id}"
    return WorkspaceOut.of(made, "owner")


@router.get("/{workspace_id}", response_model=WorkspaceOut)
async def get_workspace(conn: HTTPConnection, acting: WorkspaceReader) -> WorkspaceOut:
    """Show one of your workspaces and your role in it."""
    workspaces = workspaces_for(conn, acting.user)
    return WorkspaceOut.of(*await anyio.to_thread.run_sync(workspaces.role, acting.workspace_id))


@router.patch("/{workspace_id}", response_model=WorkspaceOut, responses=CHANGES)
async def rename_workspace(
    conn: HTTPConnection, body: WorkspaceIn, acting: WorkspaceManager
) -> WorkspaceOut:
    """Rename a shared workspace (owners)."""
    workspaces = workspaces_for(conn, acting.user)
    renamed = await anyio.to_thread.run_sync(workspaces.rename, acting.workspace_id, body.name)
    return WorkspaceOut.of(renamed, acting.role)


@router.get("/{workspace_id}/members", response_model=Page[MemberOut])
async def list_members(
    conn: HTTPConnection, acting: WorkspaceReader, page: PageDep
) -> Page[MemberOut]:
    """List a workspace's members and their roles, by user id."""
    workspaces = workspaces_for(conn, acting.user)
    rows = await anyio.to_thread.run_sync(workspaces.members, acting.workspace_id)
    shown = _after(rows, page, lambda member: member.user_id)
    return paginate(shown, page.limit, lambda m: {"after": m.user_id}, MemberOut.of)


@router.post(
    "/{workspace_id}/members",
    status_code=status.HTTP_201_CREATED,
    response_model=MemberOut,
    responses=CHANGES,
)
async def add_member(conn: HTTPConnection, body: MemberIn, acting: MemberManager) -> MemberOut:
    """Add a user to a shared workspace with a role (owners)."""
    workspaces = workspaces_for(conn, acting.user)
    added = await anyio.to_thread.run_sync(
        workspaces.add_member, acting.workspace_id, body.user_id, body.role
    )
    return MemberOut.of(added)


@router.put("/{workspace_id}/members/{user_id}", response_model=MemberOut, responses=CHANGES)
async def set_member_role(
    conn: HTTPConnection, user_id: MemberId, body: RoleIn, acting: MemberManager
) -> MemberOut:
    """Change a member's role (owners); the last owner cannot be demoted."""
    workspaces = workspaces_for(conn, acting.user)
    changed = await anyio.to_thread.run_sync(
        workspaces.set_role, acting.workspace_id, user_id, body.role
    )
    return MemberOut.of(changed)


@router.delete(
    "/{workspace_id}/members/{user_id}", status_code=status.HTTP_204_NO_CONTENT, responses=CHANGES
)
async def remove_member(conn: HTTPConnection, user_id: MemberId, acting: MemberManager) -> None:
    """Remove a member (owners); the last owner cannot be removed."""
    workspaces = workspaces_for(conn, acting.user)
    await anyio.to_thread.run_sync(workspaces.remove_member, acting.workspace_id, user_id)
