"""SQLAlchemy Core tables of optimizations (schema lives in migration 0007)."""

from __future__ import annotations

from sqlalchemy import Column, Integer, MetaData, String, Table, Text

metadata = MetaData()

optimizations = Table(
    "optimizations",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("owner", String(200), nullable=False),
    Column("name", String(200), nullable=False),
    Column("status", String(20), nullable=False),
    Column("prompt_id", String(64), nullable=False),
    Column("request", Text, nullable=False),
    Column("idempotency_key", String(200)),
    Column("error", Text),
    Column("created_at", String(40), nullable=False),
    Column("updated_at", String(40), nullable=False),
    Column("finished_at", String(40)),
)

optimization_events = Table(
    "optimization_events",
    metadata,
    Column("optimization_id", String(64), primary_key=True),
    Column("seq", Integer, primary_key=True),
    Column("type", String(40), nullable=False),
    Column("data", Text, nullable=False),
    Column("at", String(40), nullable=False),
)
