"""Alembic environment: always run with the engine handed in by `engine.db.migrate`."""

from __future__ import annotations

from alembic import context

engine = context.config.attributes["engine"]

with engine.begin() as connection:
    context.configure(connection=connection, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()
