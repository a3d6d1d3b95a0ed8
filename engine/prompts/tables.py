"""SQLAlchemy Core tables of the prompt store (the schema is migration ``0002``).

``prompt_events`` and ``prompt_commands`` are the write model; the other tables are
projections: derived from the events, written in the same transaction, rebuildable.
"""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    Column,
    Index,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    UniqueConstraint,
)

metadata = MetaData()

prompt_events = Table(
    "prompt_events",
    metadata,
    Column("aggregate_id", String(64), nullable=False),
    Column("seq", Integer, nullable=False),
    Column("owner", String(200), nullable=False, index=True),
    Column("type", String(64), nullable=False),
    Column("payload", Text, nullable=False),
    Column("actor", String(200), nullable=False),
    Column("at", String(40), nullable=False),
    PrimaryKeyConstraint("aggregate_id", "seq", name="pk_prompt_events"),
)

prompt_commands = Table(
    "prompt_commands",
    metadata,
    Column("aggregate_id", String(64), nullable=False),
    Column("command_id", String(64), nullable=False),
    Column("owner", String(200), nullable=False),
    Column("kind", String(40), nullable=False),
    Column("seq", Integer, nullable=False),
    Column("version_id", String(64), nullable=True),
    Column("outcome", String(20), nullable=True),
    PrimaryKeyConstraint("aggregate_id", "command_id", name="pk_prompt_commands"),
)

prompts = Table(
    "prompts",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("owner", String(200), nullable=False),
    Column("name", String(200), nullable=False),
    Column("description", Text, nullable=False),
    Column("tags", Text, nullable=False),
    Column("archived", Boolean, nullable=False),
    Column("head", String(64), nullable=False),
    Column("version_count", Integer, nullable=False),
    Column("seq", Integer, nullable=False),
    Column("created_at", String(40), nullable=False),
    Column("created_by", String(200), nullable=False),
    Column("updated_at", String(40), nullable=False),
    UniqueConstraint("owner", "name", name="uq_prompts_owner_name"),
)

prompt_versions = Table(
    "prompt_versions",
    metadata,
    Column("prompt_id", String(64), nullable=False),
    Column("id", String(64), nullable=False),
    Column("owner", String(200), nullable=False),
    Column("number", Integer, nullable=False),
    Column("first_parent", String(64), nullable=True),
    Column("parents", Text, nullable=False),
    Column("message", Text, nullable=False),
    Column("author", String(200), nullable=False),
    Column("committed_at", String(40), nullable=False),
    Column("template", Text, nullable=False),
    Column("settings", Text, nullable=False),
    Column("content_id", String(64), nullable=False),
    Column("seq", Integer, nullable=False),
    PrimaryKeyConstraint("prompt_id", "id", name="pk_prompt_versions"),
)

prompt_refs = Table(
    "prompt_refs",
    metadata,
    Column("prompt_id", String(64), nullable=False),
    Column("kind", String(10), nullable=False),
    Column("name", String(100), nullable=False),
    Column("version_id", String(64), nullable=False),
    Column("owner", String(200), nullable=False),
    Column("seq", Integer, nullable=False),
    PrimaryKeyConstraint("prompt_id", "kind", "name", name="pk_prompt_refs"),
)

prompt_tags = Table(
    "prompt_tags",
    metadata,
    Column("prompt_id", String(64), nullable=False),
    Column("tag", String(64), nullable=False),
    Column("owner", String(200), nullable=False),
    PrimaryKeyConstraint("prompt_id", "tag", name="pk_prompt_tags"),
    Index("ix_prompt_tags_owner_tag", "owner", "tag"),
)

PROJECTIONS = (prompts, prompt_versions, prompt_refs, prompt_tags)
"""The read models, in the order a rebuild clears and refills them."""
