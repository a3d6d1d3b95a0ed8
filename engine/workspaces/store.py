"""Workspaces and memberships in the database.

The store checks the rules of membership (last owner, personal and organisation workspaces
are not managed here); who may call what is the caller's business (`domain.workspaces`).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, Engine, delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from domain.errors import ConflictError, NotFoundError, ValidationError
from domain.workspaces import (
    Member,
    OrganisationClaim,
    Role,
    Workspace,
    check_managed,
    check_name,
    check_owner_kept,
    is_shared_id,
    parse_role,
)
from engine.store_util import is_unique_violation, new_id, unique_as_conflict, utc_now_iso
from engine.workspaces.tables import workspace_members, workspaces

PERSONAL_NAME = "personal"


def _unknown(workspace_id: str) -> NotFoundError:
    return NotFoundError(f"no workspace {workspace_id!r}", reason="unknown-workspace")


class WorkspaceStore:
    """Workspaces, their members and roles."""

    def __init__(self, db: Engine) -> None:
        self.db = db

    def ensure_personal(self, user_id: str) -> Workspace:
        """The personal workspace of ``user_id`` (id = the user id), made on first sight.

        Raises:
            ValidationError: ``user_id`` is in the shared workspaces' namespace (``ws_…``).
        """
        if is_shared_id(user_id):
            raise ValidationError(
                "a user id may not start with 'ws_' (shared workspaces' ids do)",
                reason="bad-user-id",
            )
        with self.db.connect() as conn:
            found = self._workspace(conn, user_id)
        if found is not None:
            return found
        try:
            with self.db.begin() as conn:
                return self._insert(conn, user_id, PERSONAL_NAME, "personal", user_id)
        except (IntegrityError, ValueError) as exc:
            if not is_unique_violation(exc):
                raise
        return self.get(user_id)  # made meanwhile by a concurrent first request

    def create(self, name: str, created_by: str) -> Workspace:
        """A new shared workspace with ``created_by`` as its owner.

        Raises:
            ValidationError: a bad name.
        """
        name = check_name(name)
        with self.db.begin() as conn:
            return self._insert(conn, new_id("ws"), name, "shared", created_by)

    def sync_organisation(self, user_id: str, claim: OrganisationClaim) -> Workspace:
        """The workspace of the token's organisation (made on first sight), with ``user_id``
        recorded in the role the token gives them."""
        try:
            return self._sync_organisation(user_id, claim)
        except ConflictError:
            return self._sync_organisation(user_id, claim)  # a concurrent first sight won

    def _sync_organisation(self, user_id: str, claim: OrganisationClaim) -> Workspace:
        workspace_id = claim.workspace_id
        with self.db.connect() as conn:
            workspace = self._workspace(conn, workspace_id)
            known = workspace is not None and self._role(conn, workspace_id, user_id) == claim.role
        if workspace is not None and known:
            return workspace  # the common request: nothing to write, no write lock taken
        with self.db.begin() as conn:
            workspace = self._workspace(conn, workspace_id)
            if workspace is None:
                with unique_as_conflict("the organisation's workspace was just made"):
                    workspace = self._insert(
                        conn, workspace_id, claim.org_id, "organisation", user_id, role=None
                    )
            role = self._role(conn, workspace_id, user_id)
            if role is None:
                with unique_as_conflict("the membership was just recorded"):
                    conn.execute(insert(workspace_members).values(
                        _member_row(workspace_id, user_id, claim.role, "identity-provider")
                    ))  # fmt: skip
            elif role != claim.role:
                conn.execute(
                    update(workspace_members)
                    .where(_membership(workspace_id, user_id))
                    .values(role=claim.role)
                )
        return workspace

    def rename(self, workspace_id: str, name: str) -> Workspace:
        """Raises:
        NotFoundError: no such workspace.
        ValidationError: a bad name.
        ConflictError: a personal or organisation workspace (their names are given).
        """
        name = check_name(name)
        with self.db.begin() as conn:
            check_managed(self._existing(conn, workspace_id))
            conn.execute(
                update(workspaces).where(workspaces.c.id == workspace_id).values(name=name)
            )
            return self._existing(conn, workspace_id)

    def get(self, workspace_id: str) -> Workspace:
        """Raises:
        NotFoundError: no such workspace.
        """
        with self.db.connect() as conn:
            found = self._workspace(conn, workspace_id)
        if found is None:
            raise _unknown(workspace_id)
        return found

    def role_of(self, workspace_id: str, user_id: str) -> tuple[Workspace, Role] | None:
        """The workspace and ``user_id``'s role in it; ``None`` when they are no member."""
        query = (
            select(workspaces, workspace_members.c.role)
            .join(workspace_members, workspace_members.c.workspace_id == workspaces.c.id)
            .where(_membership(workspace_id, user_id))
        )
        with self.db.connect() as conn:
            row = conn.execute(query).mappings().first()
        if row is None:
            return None
        return _workspace(dict(row)), parse_role(row["role"])

    def for_user(self, user_id: str) -> list[tuple[Workspace, Role]]:
        """Every workspace ``user_id`` is a member of, with their role, by id."""
        query = (
            select(workspaces, workspace_members.c.role)
            .join(workspace_members, workspace_members.c.workspace_id == workspaces.c.id)
            .where(workspace_members.c.user_id == user_id)
            .order_by(workspaces.c.id)
        )
        with self.db.connect() as conn:
            rows = conn.execute(query).mappings().all()
        return [(_workspace(dict(row)), parse_role(row["role"])) for row in rows]

    def members(self, workspace_id: str) -> list[Member]:
        """The members of a workspace, by user id."""
        query = (
            select(workspace_members)
            .where(workspace_members.c.workspace_id == workspace_id)
            .order_by(workspace_members.c.user_id)
        )
        with self.db.connect() as conn:
            return [_member(dict(row)) for row in conn.execute(query).mappings()]

    def add_member(self, workspace_id: str, user_id: str, role: Role, added_by: str) -> Member:
        """Raises:
        NotFoundError: no such workspace.
        ConflictError: already a member (``reason="already-member"``), or a workspace whose
            members are not managed here.
        """
        row = _member_row(workspace_id, user_id, role, added_by)
        with self.db.begin() as conn:
            check_managed(self._existing(conn, workspace_id))
            with unique_as_conflict(f"{user_id!r} is already a member", reason="already-member"):
                conn.execute(insert(workspace_members).values(row))
        return _member(row)

    def set_role(self, workspace_id: str, user_id: str, role: Role) -> Member:
        """Raises:
        NotFoundError: no such workspace or member.
        ConflictError: the last owner would be demoted, or members are not managed here.
        """
        with self.db.begin() as conn:
            check_managed(self._existing(conn, workspace_id))
            check_owner_kept(self._roles(conn, workspace_id, user_id), user_id, role)
            conn.execute(
                update(workspace_members)
                .where(_membership(workspace_id, user_id))
                .values(role=role)
            )
            row = conn.execute(select(workspace_members).where(_membership(workspace_id, user_id)))
            return _member(dict(row.mappings().one()))

    def remove_member(self, workspace_id: str, user_id: str) -> None:
        """Raises:
        NotFoundError: no such workspace or member.
        ConflictError: the last owner would go, or members are not managed here.
        """
        with self.db.begin() as conn:
            check_managed(self._existing(conn, workspace_id))
            check_owner_kept(self._roles(conn, workspace_id, user_id), user_id, None)
            conn.execute(delete(workspace_members).where(_membership(workspace_id, user_id)))

    def _roles(self, conn: Connection, workspace_id: str, user_id: str) -> dict[str, Role]:
        query = select(workspace_members.c.user_id, workspace_members.c.role).where(
            workspace_members.c.workspace_id == workspace_id
        )
        roles = {str(user): parse_role(role) for user, role in conn.execute(query)}
        if user_id not in roles:
            raise NotFoundError(f"{user_id!r} is not a member", reason="unknown-member")
        return roles

    def _existing(self, conn: Connection, workspace_id: str) -> Workspace:
        found = self._workspace(conn, workspace_id)
        if found is None:
            raise _unknown(workspace_id)
        return found

    def _workspace(self, conn: Connection, workspace_id: str) -> Workspace | None:
        row = conn.execute(select(workspaces).where(workspaces.c.id == workspace_id))
        found = row.mappings().first()
        return None if found is None else _workspace(dict(found))

    def _role(self, conn: Connection, workspace_id: str, user_id: str) -> Role | None:
        query = select(workspace_members.c.role).where(_membership(workspace_id, user_id))
        role = conn.execute(query).scalar_one_or_none()
        return None if role is None else parse_role(role)

    def _insert(
        self,
        conn: Connection,
        workspace_id: str,
        name: str,
        kind: str,
        created_by: str,
        role: Role | None = "owner",
    ) -> Workspace:
        row = {
            "id": workspace_id,
            "name": name,
            "kind": kind,
            "created_at": utc_now_iso(),
            "created_by": created_by,
        }
        conn.execute(insert(workspaces).values(row))
        if role is not None:
            conn.execute(
                insert(workspace_members).values(
                    _member_row(workspace_id, created_by, role, created_by)
                )
            )
        return _workspace(row)


def _membership(workspace_id: str, user_id: str) -> Any:
    return (workspace_members.c.workspace_id == workspace_id) & (
        workspace_members.c.user_id == user_id
    )


def _member_row(workspace_id: str, user_id: str, role: Role, added_by: str) -> dict[str, Any]:
    return {
        "workspace_id": workspace_id,
        "user_id": user_id,
        "role": role,
        "added_at": utc_now_iso(),
        "added_by": added_by,
    }


def _workspace(row: dict[str, Any]) -> Workspace:
    return Workspace(row["id"], row["name"], row["kind"], row["created_at"], row["created_by"])


def _member(row: dict[str, Any]) -> Member:
    return Member(
        row["workspace_id"], row["user_id"], parse_role(row["role"]), row["added_at"],
        row["added_by"],
    )  # fmt: skip
