"""Workspaces and roles: resources belong to a workspace (each user has a personal one whose
id is the user's id); members hold one of four roles, and one table says what each may do."""

from domain.workspaces.membership import (
    MAX_ID_LENGTH,
    MAX_NAME_LENGTH,
    ORGANISATION_PREFIX,
    SHARED_PREFIX,
    Member,
    Workspace,
    WorkspaceKind,
    check_managed,
    check_name,
    check_owner_kept,
    is_shared_id,
    organisation_workspace_id,
)
from domain.workspaces.organisations import (
    ORG_ROLES,
    OrganisationClaim,
    organisation_claim,
    role_of_org_role,
)
from domain.workspaces.roles import (
    GRANTS,
    PERMISSIONS,
    ROLES,
    Permission,
    Role,
    can,
    parse_role,
    require,
)

__all__ = [
    "GRANTS",
    "MAX_ID_LENGTH",
    "MAX_NAME_LENGTH",
    "ORGANISATION_PREFIX",
    "ORG_ROLES",
    "PERMISSIONS",
    "ROLES",
    "SHARED_PREFIX",
    "Member",
    "OrganisationClaim",
    "Permission",
    "Role",
    "Workspace",
    "WorkspaceKind",
    "can",
    "check_managed",
    "check_name",
    "check_owner_kept",
    "is_shared_id",
    "organisation_claim",
    "organisation_workspace_id",
    "parse_role",
    "require",
    "role_of_org_role",
]
