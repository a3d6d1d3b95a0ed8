"""SQLAlchemy Core tables of annotation queues (schema in migration 0010)."""

from __future__ import annotations

from sqlalchemy import Boolean, Column, Float, Integer, String, Table, Text

from engine.evaluation.tables import metadata

annotation_queues = Table(
    "annotation_queues",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("owner", String(200), nullable=False),
    Column("name", String(200), nullable=False),
    Column("kind", String(20), nullable=False),
    Column("spec", Text, nullable=False),
    Column("annotators_per_item", Integer, nullable=False),
    Column("seed", Integer, nullable=False),
    Column("item_count", Integer, nullable=False),
    Column("created_by", String(200), nullable=False),
    Column("created_at", String(40), nullable=False),
)

annotation_items = Table(
    "annotation_items",
    metadata,
    Column("queue_id", String(64), primary_key=True),
    Column("position", Integer, primary_key=True),
    Column("run_id", String(64), nullable=False),
    Column("prompt_version", String(64), nullable=False),
    Column("model", String(200), nullable=False),
    Column("case_id", String(256), nullable=False),
    Column("repeat", Integer, nullable=False),
    Column("other_run_id", String(64)),
    Column("other_version", String(64)),
    Column("other_model", String(200)),
    Column("swapped", Boolean, nullable=False),
    Column("assigned", Boolean, nullable=False),
    Column("remaining", Integer, nullable=False),
)

annotation_assignments = Table(
    "annotation_assignments",
    metadata,
    Column("queue_id", String(64), primary_key=True),
    Column("position", Integer, primary_key=True),
    Column("annotator", String(200), primary_key=True),
)

annotation_claims = Table(
    "annotation_claims",
    metadata,
    Column("queue_id", String(64), primary_key=True),
    Column("annotator", String(200), primary_key=True),
    Column("position", Integer, nullable=False),
    Column("expires_at", Float, nullable=False),
)

annotation_answers = Table(
    "annotation_answers",
    metadata,
    Column("queue_id", String(64), primary_key=True),
    Column("position", Integer, primary_key=True),
    Column("annotator", String(200), primary_key=True),
    Column("status", String(10), nullable=False),
    Column("verdict", String(10)),
    Column("score", Float),
    Column("choice", String(10)),
    Column("created_at", String(40), nullable=False),
)
