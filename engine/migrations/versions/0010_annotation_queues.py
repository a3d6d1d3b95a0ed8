"""Annotation queues: queues, their items, who each item is assigned to, claims (leases) on
items, and answers. A single item's answer also writes `cell_feedback` (migration 0008).

`next item` reads the partial index of open items (``remaining > 0``) in position order and
checks the annotator's answer, assignment and the item's live claims by primary key, so its
cost does not grow with the items already finished. `dataset_cases` gains an index on
``(version_id, case_id)``: an item shows its case's variables, looked up by case id.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "annotation_queues",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("owner", sa.String(200), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("spec", sa.Text(), nullable=False),
        sa.Column("annotators_per_item", sa.Integer(), nullable=False),
        sa.Column("seed", sa.Integer(), nullable=False),
        sa.Column("item_count", sa.Integer(), nullable=False),
        sa.Column("created_by", sa.String(200), nullable=False),
        sa.Column("created_at", sa.String(40), nullable=False),
    )
    op.create_index(
        "ix_annotation_queues_owner_created", "annotation_queues", ["owner", "created_at"]
    )
    op.create_table(
        "annotation_items",
        sa.Column("queue_id", sa.String(64), primary_key=True),
        sa.Column("position", sa.Integer(), primary_key=True),
        sa.Column("run_id", sa.String(64), nullable=False),
        sa.Column("prompt_version", sa.String(64), nullable=False),
        sa.Column("model", sa.String(200), nullable=False),
        sa.Column("case_id", sa.String(256), nullable=False),
        sa.Column("repeat", sa.Integer(), nullable=False),
        sa.Column("other_run_id", sa.String(64)),
        sa.Column("other_version", sa.String(64)),
        sa.Column("other_model", sa.String(200)),
        sa.Column("swapped", sa.Boolean(), nullable=False),
        sa.Column("assigned", sa.Boolean(), nullable=False),
        sa.Column("remaining", sa.Integer(), nullable=False),
    )
    op.create_index(
        "ix_annotation_items_open",
        "annotation_items",
        ["queue_id", "position"],
        sqlite_where=sa.text("remaining > 0"),
    )
    op.create_table(
        "annotation_assignments",
        sa.Column("queue_id", sa.String(64), primary_key=True),
        sa.Column("position", sa.Integer(), primary_key=True),
        sa.Column("annotator", sa.String(200), primary_key=True),
    )
    op.create_index(
        "ix_annotation_assignments_annotator", "annotation_assignments", ["queue_id", "annotator"]
    )
    op.create_table(
        "annotation_claims",
        sa.Column("queue_id", sa.String(64), primary_key=True),
        sa.Column("annotator", sa.String(200), primary_key=True),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("expires_at", sa.Float(), nullable=False),
    )
    op.create_index("ix_annotation_claims_item", "annotation_claims", ["queue_id", "position"])
    op.create_table(
        "annotation_answers",
        sa.Column("queue_id", sa.String(64), primary_key=True),
        sa.Column("position", sa.Integer(), primary_key=True),
        sa.Column("annotator", sa.String(200), primary_key=True),
        sa.Column("status", sa.String(10), nullable=False),
        sa.Column("verdict", sa.String(10)),
        sa.Column("score", sa.Float()),
        sa.Column("choice", sa.String(10)),
        sa.Column("created_at", sa.String(40), nullable=False),
    )
    op.create_index(
        "ix_annotation_answers_annotator", "annotation_answers", ["queue_id", "annotator"]
    )
    op.create_index("ix_dataset_cases_version_case", "dataset_cases", ["version_id", "case_id"])


def downgrade() -> None:
    op.drop_index("ix_dataset_cases_version_case", table_name="dataset_cases")
    for table, indexes in (
        ("annotation_answers", ("ix_annotation_answers_annotator",)),
        ("annotation_claims", ("ix_annotation_claims_item",)),
        ("annotation_assignments", ("ix_annotation_assignments_annotator",)),
        ("annotation_items", ("ix_annotation_items_open",)),
        ("annotation_queues", ("ix_annotation_queues_owner_created",)),
    ):
        for index in indexes:
            op.drop_index(index, table_name=table)
        op.drop_table(table)
