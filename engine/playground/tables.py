"""SQLAlchemy Core tables of playground sessions (schema lives in migration 0013)."""

from __future__ import annotations

from sqlalchemy import Column, Integer, MetaData, String, Table, Text

metadata = MetaData()

playground_sessions = Table(
    "playground_sessions",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("owner", String(200), nullable=False),
    Column("prompt_id", String(64), nullable=False),
    Column("prompt_version", String(64), nullable=False),
    Column("models", Text, nullable=False),
    Column("params", Text, nullable=False),
    Column("created_by", String(200), nullable=False),
    Column("created_at", String(40), nullable=False),
)

playground_turns = Table(
    "playground_turns",
    metadata,
    Column("session_id", String(64), primary_key=True),
    Column("number", Integer, primary_key=True),
    Column("prompt_version", String(64), nullable=False),
    Column("variables", Text, nullable=False),
    Column("author", String(200), nullable=False),
    Column("status", String(10), nullable=False),
    Column("answers", Text, nullable=False),
    Column("started_at", String(40), nullable=False),
    Column("finished_at", String(40)),
)
