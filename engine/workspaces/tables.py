"""SQLAlchemy Core tables of workspaces and their members (schema lives in migration 0009)."""

from __future__ import annotations

from sqlalchemy import Column, MetaData, String, Table

metadata = MetaData()

workspaces = Table(
    "workspaces",
    metadata,
    Column("id", String(200), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("kind", String(20), nullable=False),
    Column("created_at", String(40), nullable=False),
    Column("created_by", String(200), nullable=False),
)

workspace_members = Table(
    "workspace_members",
    metadata,
    Column("workspace_id", String(200), primary_key=True),
    Column("user_id", String(200), primary_key=True),
    Column("role", String(20), nullable=False),
    Column("added_at", String(40), nullable=False),
    Column("added_by", String(200), nullable=False),
)
