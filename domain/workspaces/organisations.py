"""Identity-provider organisations (Clerk's `org_id`/`org_role` claims) as workspaces."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from domain.workspaces.membership import organisation_workspace_id
from domain.workspaces.roles import ROLES, Role

ORG_ROLES: dict[str, Role] = {"org:admin": "owner", "org:member": "editor"}
"""Clerk's default roles; a custom role named ``org:<one of ours>`` maps to that role, any
other role to ``viewer`` (the least a member of the organisation may do)."""


@dataclass(frozen=True)
class OrganisationClaim:
    """The organisation a token is active in, and the caller's role there."""

    org_id: str
    role: Role

    @property
    def workspace_id(self) -> str:
        return organisation_workspace_id(self.org_id)


def role_of_org_role(org_role: str) -> Role:
    """Our role for an identity provider's organisation role (``org:admin``, or ``admin`` as
    Clerk's v2 tokens write it)."""
    name = org_role.removeprefix("org:")
    if f"org:{name}" in ORG_ROLES:
        return ORG_ROLES[f"org:{name}"]
    return next((role for role in ROLES if role == name), "viewer")


def organisation_claim(claims: Mapping[str, Any]) -> OrganisationClaim | None:
    """The organisation of a token: Clerk v1 claims ``org_id``/``org_role``, or v2's
    ``o: {id, rol}``; ``None`` when the token is active in none (or names it badly)."""
    org_id, org_role = claims.get("org_id"), claims.get("org_role")
    compact = claims.get("o")
    if org_id is None and isinstance(compact, Mapping):
        org_id, org_role = compact.get("id"), compact.get("rol")
    if not isinstance(org_id, str) or not 0 < len(org_id) <= 190 or not org_id.isprintable():
        return None
    return OrganisationClaim(
        org_id, role_of_org_role(org_role if isinstance(org_role, str) else "")
    )
