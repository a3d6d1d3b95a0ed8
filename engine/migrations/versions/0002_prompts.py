"""Prompts: the append-only event log, its command log and the read models (projections).

``prompt_events`` is the source of truth; ``UNIQUE(aggregate_id, seq)`` (the primary key) is
the optimistic-concurrency guard. ``prompt_commands`` remembers which command wrote which
events so a retried command is answered, not applied twice. ``prompts``, ``prompt_versions``,
``prompt_refs`` and ``prompt_tags`` are projections written in the same transaction as the
events and rebuilt from them by ``autoforge prompt rebuild``. Every row carries its owner.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "prompt_events",
        sa.Column("aggregate_id", sa.String(64), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("owner", sa.String(200), nullable=False, index=True),
        sa.Column("type", sa.String(64), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("actor", sa.String(200), nullable=False),
        sa.Column("at", sa.String(40), nullable=False),
        sa.PrimaryKeyConstraint("aggregate_id", "seq", name="pk_prompt_events"),
    )
    op.create_table(
        "prompt_commands",
        sa.Column("aggregate_id", sa.String(64), nullable=False),
        sa.Column("command_id", sa.String(64), nullable=False),
        sa.Column("owner", sa.String(200), nullable=False),
        sa.Column("kind", sa.String(40), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("version_id", sa.String(64), nullable=True),
        sa.Column("outcome", sa.String(20), nullable=True),
        sa.PrimaryKeyConstraint("aggregate_id", "command_id", name="pk_prompt_commands"),
    )
    op.create_table(
        "prompts",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("owner", sa.String(200), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("tags", sa.Text(), nullable=False),
        sa.Column("archived", sa.Boolean(), nullable=False),
        sa.Column("head", sa.String(64), nullable=False),
        sa.Column("version_count", sa.Integer(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.String(40), nullable=False),
        sa.Column("created_by", sa.String(200), nullable=False),
        sa.Column("updated_at", sa.String(40), nullable=False),
        sa.UniqueConstraint("owner", "name", name="uq_prompts_owner_name"),
    )
    op.create_table(
        "prompt_versions",
        sa.Column("prompt_id", sa.String(64), nullable=False),
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("owner", sa.String(200), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("first_parent", sa.String(64), nullable=True),
        sa.Column("parents", sa.Text(), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("author", sa.String(200), nullable=False),
        sa.Column("committed_at", sa.String(40), nullable=False),
        sa.Column("template", sa.Text(), nullable=False),
        sa.Column("settings", sa.Text(), nullable=False),
        sa.Column("content_id", sa.String(64), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("prompt_id", "id", name="pk_prompt_versions"),
    )
    op.create_table(
        "prompt_refs",
        sa.Column("prompt_id", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(10), nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("version_id", sa.String(64), nullable=False),
        sa.Column("owner", sa.String(200), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("prompt_id", "kind", "name", name="pk_prompt_refs"),
    )
    op.create_table(
        "prompt_tags",
        sa.Column("prompt_id", sa.String(64), nullable=False),
        sa.Column("tag", sa.String(64), nullable=False),
        sa.Column("owner", sa.String(200), nullable=False),
        sa.PrimaryKeyConstraint("prompt_id", "tag", name="pk_prompt_tags"),
    )
    op.create_index("ix_prompt_tags_owner_tag", "prompt_tags", ["owner", "tag"])


def downgrade() -> None:
    op.drop_index("ix_prompt_tags_owner_tag", table_name="prompt_tags")
    for table in (
        "prompt_tags",
        "prompt_refs",
        "prompt_versions",
        "prompts",
        "prompt_commands",
        "prompt_events",
    ):
        op.drop_table(table)
