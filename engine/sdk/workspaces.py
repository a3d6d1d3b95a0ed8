"""`Workspaces`: the workspaces one user belongs to, and their members.

Examples:
    >>> with Engine() as engine:                                        # doctest: +SKIP
    ...     team = engine.workspaces.create("qa team")
    ...     engine.workspaces.add_member(team.id, "bob", "annotator")
    ...     shared = engine.in_workspace(team.id)
    ...     shared.prompts.create("greeter", "Say hello to {{name}}")
"""

from __future__ import annotations

import builtins

from domain.errors import NotFoundError
from domain.workspaces import (
    ORGANISATION_PREFIX,
    Member,
    OrganisationClaim,
    Permission,
    Role,
    Workspace,
    parse_role,
    require,
)
from engine.workspaces import WorkspaceStore


class Workspaces:
    """Workspaces as seen by ``user``: only those they belong to exist for them, and only an
    owner manages members (see `domain.workspaces.GRANTS`).

    Args:
        store: the workspace store.
        user: the user every call acts as.
        organisation: the identity provider's organisation the user's token is active in: the
            only organisation workspace they may enter (membership there is the token's word,
            so someone removed from the organisation loses it with their next token).
    """

    def __init__(
        self, store: WorkspaceStore, user: str, organisation: OrganisationClaim | None = None
    ) -> None:
        self.store = store
        self.user = user
        self.organisation = organisation

    def list(self) -> builtins.list[tuple[Workspace, Role]]:
        """The user's workspaces with their role in each, their personal one included."""
        self.store.ensure_personal(self.user)
        if self.organisation is not None:
            self.store.sync_organisation(self.user, self.organisation)
        return [
            (workspace, role)
            for workspace, role in self.store.for_user(self.user)
            if workspace.kind != "organisation" or self._entered(workspace.id)
        ]

    def _entered(self, workspace_id: str) -> bool:
        return self.organisation is not None and self.organisation.workspace_id == workspace_id

    def create(self, name: str) -> Workspace:
        """A new shared workspace, owned by the user.

        Raises:
            ValidationError: a bad name.
        """
        return self.store.create(name, self.user)

    def role(self, workspace_id: str) -> tuple[Workspace, Role]:
        """The workspace and the user's role in it.

        Raises:
            NotFoundError: ``reason="unknown-workspace"``: none, or the user is no member.
        """
        if workspace_id == self.user:
            return self.store.ensure_personal(self.user), "owner"
        if workspace_id.startswith(ORGANISATION_PREFIX):
            if self.organisation is None or not self._entered(workspace_id):
                raise NotFoundError(f"no workspace {workspace_id!r}", reason="unknown-workspace")
            return self.store.sync_organisation(
                self.user, self.organisation
            ), self.organisation.role
        found = self.store.role_of(workspace_id, self.user)
        if found is None:
            raise NotFoundError(f"no workspace {workspace_id!r}", reason="unknown-workspace")
        return found

    def require(self, workspace_id: str, permission: Permission) -> tuple[Workspace, Role]:
        """`role`, checked to grant ``permission``.

        Raises:
            NotFoundError: not a member.
            ForbiddenError: the role lacks ``permission``.
        """
        workspace, role = self.role(workspace_id)
        require(role, permission)
        return workspace, role

    def get(self, workspace_id: str) -> Workspace:
        """One of the user's workspaces.

        Raises:
            NotFoundError: not a member.
        """
        return self.role(workspace_id)[0]

    def rename(self, workspace_id: str, name: str) -> Workspace:
        """Rename a shared workspace (owners only).

        Raises:
            NotFoundError: not a member.
            ForbiddenError: not its owner.
            ConflictError: a personal or organisation workspace.
        """
        self.require(workspace_id, "workspace.manage")
        return self.store.rename(workspace_id, name)

    def members(self, workspace_id: str) -> builtins.list[Member]:
        """Who is in a workspace, and their roles (any member may look)."""
        self.require(workspace_id, "workspace.read")
        return self.store.members(workspace_id)

    def add_member(self, workspace_id: str, user_id: str, role: str) -> Member:
        """Add ``user_id`` as ``role`` (owners only).

        Raises:
            NotFoundError: not a member of the workspace.
            ForbiddenError: not its owner.
            ConflictError: already a member, or a personal or organisation workspace.
            ValidationError: an unknown role.
        """
        self.require(workspace_id, "members.manage")
        return self.store.add_member(workspace_id, user_id, parse_role(role), self.user)

    def set_role(self, workspace_id: str, user_id: str, role: str) -> Member:
        """Change a member's role (owners only); the last owner stays one.

        Raises:
            NotFoundError: not a member (the caller, or ``user_id``).
            ForbiddenError: not its owner.
            ConflictError: ``reason="last-owner"``, or members not managed here.
        """
        self.require(workspace_id, "members.manage")
        return self.store.set_role(workspace_id, user_id, parse_role(role))

    def remove_member(self, workspace_id: str, user_id: str) -> None:
        """Remove a member (owners only); the last owner cannot go.

        Raises:
            NotFoundError: not a member (the caller, or ``user_id``).
            ForbiddenError: not its owner.
            ConflictError: ``reason="last-owner"``, or members not managed here.
        """
        self.require(workspace_id, "members.manage")
        self.store.remove_member(workspace_id, user_id)
