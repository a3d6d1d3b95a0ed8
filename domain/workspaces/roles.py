"""Roles and the one permission table every interface (API, SDK) checks against."""

from __future__ import annotations

from typing import Literal, get_args

from domain.errors import ForbiddenError, ValidationError

Role = Literal["owner", "editor", "annotator", "viewer"]
ROLES: tuple[Role, ...] = get_args(Role)
"""From most to least powerful."""

Permission = Literal[
    "workspace.read",
    "feedback.write",
    "queue.work",
    "queue.manage",
    "prompts.write",
    "datasets.write",
    "runs.write",
    "optimizations.write",
    "keys.manage",
    "members.manage",
    "workspace.manage",
]
PERMISSIONS: tuple[Permission, ...] = get_args(Permission)

_ANNOTATOR: frozenset[Permission] = frozenset({"workspace.read", "feedback.write", "queue.work"})
_EDITOR: frozenset[Permission] = _ANNOTATOR | {
    "queue.manage",
    "prompts.write",
    "datasets.write",
    "runs.write",
    "optimizations.write",
}
GRANTS: dict[Role, frozenset[Permission]] = {
    "owner": frozenset(PERMISSIONS),
    "editor": _EDITOR,
    "annotator": _ANNOTATOR,
    "viewer": frozenset({"workspace.read"}),
}
"""What each role may do: viewers read; annotators also give feedback and work queues;
editors also change prompts, datasets, runs, optimizations and manage queues; owners also
manage provider keys, members and the workspace."""


def can(role: Role, permission: Permission) -> bool:
    """Whether ``role`` grants ``permission``."""
    return permission in GRANTS[role]


def require(role: Role, permission: Permission) -> None:
    """Raises:
    ForbiddenError: ``role`` does not grant ``permission`` (``reason="missing-permission"``).
    """
    if not can(role, permission):
        raise ForbiddenError(
            f"a workspace {role} may not do this (needs {permission})",
            reason="missing-permission",
            permission=permission,
            role=role,
        )


def parse_role(value: str) -> Role:
    """Raises:
    ValidationError: ``value`` is not one of `ROLES`.
    """
    for role in ROLES:
        if value == role:
            return role
    raise ValidationError(f"a role is one of {', '.join(ROLES)}", reason="unknown-role")
