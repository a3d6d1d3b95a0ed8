"""SQLAlchemy Core tables of the evaluation context (schema lives in migrations 0003, 0005,
0006 and 0008)."""

from __future__ import annotations

from sqlalchemy import Boolean, Column, Float, Integer, MetaData, String, Table, Text

metadata = MetaData()

datasets = Table(
    "datasets",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("owner", String(200), nullable=False),
    Column("name", String(200), nullable=False),
    Column("description", Text, nullable=False),
    Column("latest_version", Integer, nullable=False),
    Column("created_at", String(40), nullable=False),
)

dataset_versions = Table(
    "dataset_versions",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("dataset_id", String(64), nullable=False),
    Column("owner", String(200), nullable=False),
    Column("number", Integer, nullable=False),
    Column("content_hash", String(64), nullable=False),
    Column("case_count", Integer, nullable=False),
    Column("note", Text, nullable=False),
    Column("created_at", String(40), nullable=False),
)

dataset_cases = Table(
    "dataset_cases",
    metadata,
    Column("version_id", String(64), primary_key=True),
    Column("position", Integer, primary_key=True),
    Column("case_id", String(256), nullable=False),
    Column("body", Text, nullable=False),
)

runs = Table(
    "runs",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("owner", String(200), nullable=False),
    Column("name", String(200), nullable=False),
    Column("status", String(20), nullable=False),
    Column("spec", Text, nullable=False),
    Column("total_cells", Integer, nullable=False),
    Column("idempotency_key", String(200)),
    Column("error", Text),
    Column("created_at", String(40), nullable=False),
    Column("started_at", String(40)),
    Column("finished_at", String(40)),
    Column("over_budget_cells", Integer, nullable=False, server_default="0"),
)

results = Table(
    "results",
    metadata,
    Column("run_id", String(64), primary_key=True),
    Column("prompt_version", String(64), primary_key=True),
    Column("model", String(200), primary_key=True),
    Column("case_id", String(256), primary_key=True),
    Column("repeat", Integer, primary_key=True),
    Column("output", Text),
    Column("passed", Boolean),
    Column("score", Float),
    Column("scores", Text, nullable=False),
    Column("latency_ms", Float),
    Column("queue_ms", Float),
    Column("prompt_tokens", Integer, nullable=False),
    Column("completion_tokens", Integer, nullable=False),
    Column("cost_usd", Float),
    Column("error", Text),
    Column("fallback_model", String(200)),
    Column("cached", Boolean, nullable=False),
    Column("detail", Text, nullable=False),
    Column("recorded_at", String(40), nullable=False),
)

cell_feedback = Table(
    "cell_feedback",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("run_id", String(64), nullable=False),
    Column("prompt_version", String(64), nullable=False),
    Column("model", String(200), nullable=False),
    Column("case_id", String(256), nullable=False),
    Column("repeat", Integer, nullable=False),
    Column("author", String(200), nullable=False),
    Column("verdict", String(10)),
    Column("score", Float),
    Column("correction", Text),
    Column("comment", Text),
    Column("tags", Text, nullable=False),
    Column("created_at", String(40), nullable=False),
)
