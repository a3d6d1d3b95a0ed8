"""People's feedback on a run's cells: append-only, one row per feedback; results untouched.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "cell_feedback",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("run_id", sa.String(64), nullable=False),
        sa.Column("prompt_version", sa.String(64), nullable=False),
        sa.Column("model", sa.String(200), nullable=False),
        sa.Column("case_id", sa.String(256), nullable=False),
        sa.Column("repeat", sa.Integer(), nullable=False),
        sa.Column("author", sa.String(200), nullable=False),
        sa.Column("verdict", sa.String(10)),
        sa.Column("score", sa.Float()),
        sa.Column("correction", sa.Text()),
        sa.Column("comment", sa.Text()),
        sa.Column("tags", sa.Text(), nullable=False),
        sa.Column("created_at", sa.String(40), nullable=False),
    )
    op.create_index("ix_cell_feedback_run_created", "cell_feedback", ["run_id", "created_at"])


def downgrade() -> None:
    op.drop_index("ix_cell_feedback_run_created", table_name="cell_feedback")
    op.drop_table("cell_feedback")
