"""Which workspace a request acts in, and whether the caller's role there allows it.

The caller picks the workspace with the `X-Autoforge-Workspace` header (streams also take
`?workspace=`, which browsers' EventSource/WebSocket can send); without one it is the
organisation the token is active in (JWKS mode, Clerk's `org_id`), else the caller's personal
workspace, whose id is their user id. A workspace the caller is not a member of answers 404,
as if it did not exist; a member whose role lacks the route's permission gets 403.

Each dependency below carries the permission it checks (`permission_of`), so the OpenAPI
document and the permission-matrix test read it from the routes themselves.
"""

# No `from __future__ import annotations`: the dependencies below are closures whose
# `Annotated[..., Depends(check)]` names a local, which FastAPI cannot resolve from a string.
import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Header, Path, Query
from fastapi.dependencies.models import Dependant
from starlette.requests import HTTPConnection

from api.auth import CurrentUser, StreamUser, User
from api.services import EngineDep, services_of
from domain.workspaces import MAX_ID_LENGTH, OrganisationClaim, Permission, Role, organisation_claim
from engine.sdk import Engine, Workspaces
from engine.workspaces import WorkspaceStore

WORKSPACE_HEADER = "X-Autoforge-Workspace"
_PERSONAL_CACHE = 100_000
AUTHENTICATED = "authenticated"
"""The `permission_of` a route that needs a signed-in caller but no role in the request's
workspace (listing and creating workspaces)."""

_HEADER_DOC = (
    "The workspace to act in (an id from `GET /v1/workspaces`); default: the token's "
    "organisation, else your personal workspace."
)
WorkspaceHeader = Annotated[
    str | None,
    Header(alias=WORKSPACE_HEADER, min_length=1, max_length=MAX_ID_LENGTH, description=_HEADER_DOC),
]
WorkspaceQuery = Annotated[
    str | None,
    Query(min_length=1, max_length=MAX_ID_LENGTH, description=f"As `{WORKSPACE_HEADER}`."),
]


@dataclass(frozen=True)
class Acting:
    """Who acts, in which workspace, with which role."""

    user: User
    workspace_id: str
    role: Role


def organisation_of(conn: HTTPConnection, user: User) -> OrganisationClaim | None:
    """The organisation the token is active in (JWKS mode only: an HS256 token is ours, and
    its members are managed through the API instead)."""
    if services_of(conn).api.auth_mode != "jwks":
        return None
    return organisation_claim(user.claims)


def workspaces_for(conn: HTTPConnection, user: User) -> Workspaces:
    """The SDK's workspaces as the caller sees them."""
    return Workspaces(WorkspaceStore(services_of(conn).db), user.id, organisation_of(conn, user))


async def resolve(
    conn: HTTPConnection, user: User, chosen: str | None, permission: Permission
) -> Acting:
    """The caller's workspace and role, checked to grant ``permission``.

    Raises:
        NotFoundError: not a member of the chosen workspace (``reason="unknown-workspace"``).
        ForbiddenError: a member whose role lacks ``permission``.
    """
    workspaces = workspaces_for(conn, user)
    if chosen is None:
        chosen = workspaces.organisation.workspace_id if workspaces.organisation else user.id
    seen: set[str] = conn.app.state.personal_workspaces
    if chosen == user.id and user.id in seen:
        # A personal workspace's only member is its owner, for good: no database round trip
        # (and thread hop) on the common request once its row is known to exist.
        return Acting(user, user.id, "owner")
    # asyncio's thread hop: anyio's scans every task of a Serve replica's loop (see
    # `api.services.StoreOwners`), a stream replica's too.
    workspace, role = await asyncio.to_thread(workspaces.require, chosen, permission)
    if workspace.kind == "personal":
        if len(seen) >= _PERSONAL_CACHE:
            seen.clear()
        seen.add(user.id)
    return Acting(user, workspace.id, role)


def _acting(permission: Permission) -> Callable[..., Awaitable[Acting]]:
    async def acting(
        conn: HTTPConnection, user: CurrentUser, workspace: WorkspaceHeader = None
    ) -> Acting:
        return await resolve(conn, user, workspace, permission)

    acting.permission = permission  # type: ignore[attr-defined]
    acting.__doc__ = f"The caller's workspace, where their role grants `{permission}`."
    return acting


def _stream_acting(permission: Permission) -> Callable[..., Awaitable[Acting]]:
    async def stream_acting(
        conn: HTTPConnection,
        user: StreamUser,
        header: WorkspaceHeader = None,
        workspace: WorkspaceQuery = None,
    ) -> Acting:
        return await resolve(conn, user, header or workspace, permission)

    stream_acting.permission = permission  # type: ignore[attr-defined]
    return stream_acting


def _engine(permission: Permission) -> Callable[..., Awaitable[Engine]]:
    check = _acting(permission)

    async def engine_in_workspace(
        acting: Annotated[Acting, Depends(check)], engine: EngineDep
    ) -> Engine:
        return engine.as_owner(acting.workspace_id, acting.user.id)

    return engine_in_workspace


async def signed_in(user: CurrentUser) -> User:
    """Any authenticated caller (their role is checked by the route, per workspace)."""
    return user


signed_in.permission = AUTHENTICATED  # type: ignore[attr-defined]


def permission_of(dependant: Dependant) -> set[str]:
    """Every permission the dependencies of a route check (recursively)."""
    found: set[str] = set()
    for dependency in dependant.dependencies:
        permission: Any = getattr(dependency.call, "permission", None)
        if isinstance(permission, str):
            found.add(permission)
        found |= permission_of(dependency)
    return found


Reader = Annotated[Engine, Depends(_engine("workspace.read"))]
"""The SDK in the caller's workspace, for any member (reads)."""
FeedbackWriter = Annotated[Engine, Depends(_engine("feedback.write"))]
PromptWriter = Annotated[Engine, Depends(_engine("prompts.write"))]
DatasetWriter = Annotated[Engine, Depends(_engine("datasets.write"))]
RunWriter = Annotated[Engine, Depends(_engine("runs.write"))]
OptimizationWriter = Annotated[Engine, Depends(_engine("optimizations.write"))]
QueueManager = Annotated[Engine, Depends(_engine("queue.manage"))]
QueueWorker = Annotated[Engine, Depends(_engine("queue.work"))]
ReadingMember = Annotated[Acting, Depends(_acting("workspace.read"))]
KeyManager = Annotated[Acting, Depends(_acting("keys.manage"))]
StreamReader = Annotated[Acting, Depends(_stream_acting("workspace.read"))]
SignedIn = Annotated[User, Depends(signed_in)]


def _in_path(permission: Permission) -> Callable[..., Awaitable[Acting]]:
    async def acting_in_path(
        conn: HTTPConnection,
        user: CurrentUser,
        workspace_id: Annotated[str, Path(min_length=1, max_length=MAX_ID_LENGTH)],
    ) -> Acting:
        return await resolve(conn, user, workspace_id, permission)

    acting_in_path.permission = permission  # type: ignore[attr-defined]
    return acting_in_path


WorkspaceReader = Annotated[Acting, Depends(_in_path("workspace.read"))]
"""A member of the workspace in the path."""
WorkspaceManager = Annotated[Acting, Depends(_in_path("workspace.manage"))]
MemberManager = Annotated[Acting, Depends(_in_path("members.manage"))]
