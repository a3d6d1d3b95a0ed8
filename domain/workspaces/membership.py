"""Who may be in a workspace, how its id is made, and the rule that keeps an owner in it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from domain.errors import ConflictError, ValidationError
from domain.workspaces.roles import Role

WorkspaceKind = Literal["personal", "shared", "organisation"]

SHARED_PREFIX = "ws_"
"""Every workspace that is not personal has an id starting with this; no user id may (the
API's `is_user_id` refuses it), so a shared workspace id never names a user's personal one."""
ORGANISATION_PREFIX = f"{SHARED_PREFIX}org:"
"""An identity provider's organisation's workspace: ``ws_org:<org id>``. Generated shared
ids are ``ws_`` + hex, which never holds a ``:``, so the two cannot meet."""
MAX_ID_LENGTH = 200
MAX_NAME_LENGTH = 200


@dataclass(frozen=True)
class Workspace:
    """A place resources live in; a personal workspace's id is its user's id."""

    id: str
    name: str
    kind: WorkspaceKind
    created_at: str
    created_by: str


@dataclass(frozen=True)
class Member:
    """One user's role in one workspace."""

    workspace_id: str
    user_id: str
    role: Role
    added_at: str
    added_by: str


def is_shared_id(value: str) -> bool:
    """Whether ``value`` is in the namespace of non-personal workspaces."""
    return value.startswith(SHARED_PREFIX)


def organisation_workspace_id(org_id: str) -> str:
    """The workspace id of an identity provider's organisation.

    Raises:
        ValidationError: an empty or overlong organisation id.
    """
    if not org_id or len(ORGANISATION_PREFIX) + len(org_id) > MAX_ID_LENGTH:
        raise ValidationError("an organisation id is 1 to 190 characters", reason="bad-org-id")
    return f"{ORGANISATION_PREFIX}{org_id}"


def check_name(name: str) -> str:
    """The name, stripped.

    Raises:
        ValidationError: empty, overlong, or holding control characters.
    """
    stripped = name.strip()
    if not 0 < len(stripped) <= MAX_NAME_LENGTH or not stripped.isprintable():
        raise ValidationError(
            f"a workspace name is 1 to {MAX_NAME_LENGTH} printable characters",
            reason="bad-workspace-name",
        )
    return stripped


def check_managed(workspace: Workspace) -> None:
    """Raises:
    ConflictError: members of a personal workspace (only its user) or of an organisation's
        (the identity provider says who) cannot be managed here.
    """
    if workspace.kind == "personal":
        raise ConflictError(
            "a personal workspace has one member, its user", reason="personal-workspace"
        )
    if workspace.kind == "organisation":
        raise ConflictError(
            "an organisation's members are managed by the identity provider",
            reason="managed-by-identity-provider",
        )


def check_owner_kept(roles: Mapping[str, Role], user_id: str, new_role: Role | None) -> None:
    """Check that giving ``user_id`` ``new_role`` (``None``: removing them) leaves an owner.

    Raises:
        ConflictError: ``reason="last-owner"``.
    """
    if roles.get(user_id) != "owner" or new_role == "owner":
        return
    if sum(1 for role in roles.values() if role == "owner") <= 1:
        raise ConflictError(
            "the workspace's last owner cannot be removed or demoted", reason="last-owner"
        )
