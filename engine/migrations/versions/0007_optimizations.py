"""Prompt optimizations: one row per optimization and its append-only event log.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "optimizations",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("owner", sa.String(200), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("prompt_id", sa.String(64), nullable=False),
        sa.Column("request", sa.Text(), nullable=False),
        sa.Column("idempotency_key", sa.String(200)),
        sa.Column("error", sa.Text()),
        sa.Column("created_at", sa.String(40), nullable=False),
        sa.Column("updated_at", sa.String(40), nullable=False),
        sa.Column("finished_at", sa.String(40)),
    )
    op.create_index("ix_optimizations_owner_created", "optimizations", ["owner", "created_at"])
    op.create_index(
        "ux_optimizations_owner_key",
        "optimizations",
        ["owner", "idempotency_key"],
        unique=True,
    )
    op.create_table(
        "optimization_events",
        sa.Column("optimization_id", sa.String(64), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("type", sa.String(40), nullable=False),
        sa.Column("data", sa.Text(), nullable=False),
        sa.Column("at", sa.String(40), nullable=False),
        sa.PrimaryKeyConstraint("optimization_id", "seq", name="pk_optimization_events"),
    )


def downgrade() -> None:
    op.drop_table("optimization_events")
    op.drop_index("ux_optimizations_owner_key", table_name="optimizations")
    op.drop_index("ix_optimizations_owner_created", table_name="optimizations")
    op.drop_table("optimizations")
