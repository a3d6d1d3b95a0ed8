"""Workspaces and their members; every owner found in the existing tables gets a personal
workspace (id = their user id, so no existing row changes) with them as its owner.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-03
"""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "workspaces",
        sa.Column("id", sa.String(200), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("created_at", sa.String(40), nullable=False),
        sa.Column("created_by", sa.String(200), nullable=False),
    )
    op.create_table(
        "workspace_members",
        sa.Column("workspace_id", sa.String(200), primary_key=True),
        sa.Column("user_id", sa.String(200), primary_key=True),
        sa.Column("role", sa.String(20), nullable=False),
        sa.Column("added_at", sa.String(40), nullable=False),
        sa.Column("added_by", sa.String(200), nullable=False),
    )
    op.create_index("ix_workspace_members_user", "workspace_members", ["user_id"])
    _personal_workspaces_of_existing_owners()


def _personal_workspaces_of_existing_owners() -> None:
    # Every table with an `owner` column, whichever revisions made them: a table added by a
    # revision merged before this one is covered without naming it here.
    conn = op.get_bind()
    inspector = sa.inspect(conn)
    owners: set[str] = set()
    for table in inspector.get_table_names():
        if table.startswith(("workspace", "alembic")):
            continue
        if any(column["name"] == "owner" for column in inspector.get_columns(table)):
            rows = conn.execute(sa.text(f'SELECT DISTINCT owner FROM "{table}"'))  # noqa: S608
            owners.update(str(owner) for (owner,) in rows if owner)
    now = datetime.now(UTC).isoformat()
    workspaces = sa.table(
        "workspaces",
        *(sa.column(c) for c in ("id", "name", "kind", "created_at", "created_by")),
    )
    members = sa.table(
        "workspace_members",
        *(sa.column(c) for c in ("workspace_id", "user_id", "role", "added_at", "added_by")),
    )
    for owner in sorted(owners):
        conn.execute(
            workspaces.insert().values(
                id=owner, name="personal", kind="personal", created_at=now, created_by=owner
            )
        )
        conn.execute(
            members.insert().values(
                workspace_id=owner, user_id=owner, role="owner", added_at=now, added_by=owner
            )
        )


def downgrade() -> None:
    op.drop_index("ix_workspace_members_user", table_name="workspace_members")
    op.drop_table("workspace_members")
    op.drop_table("workspaces")
