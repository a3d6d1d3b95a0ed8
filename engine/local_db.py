"""The database alone, for commands that only read or write it (most of the CLI).

Such a command starts no service: it does not claim the data directory, start Redis or Ray,
and so works beside the process that owns them (``autoforge run report`` during a live
``autoforge eval``). Writes stay safe without the owner's actors: see
``engine.prompts.local_commands``.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Engine

from engine.data_dir import private_dir
from engine.db import create_db_engine, migrate
from engine.settings import Settings, load_settings


@contextmanager
def open_database(settings: Settings | None = None) -> Iterator[Engine]:
    """The migrated database of ``settings`` (read from the environment when omitted),
    disposed on exit.

    Raises:
        ConfigurationError: the database URL cannot be used.
        ServiceUnavailableError: a migration failed.
    """
    settings = settings or load_settings()
    private_dir(settings.data_dir)
    db = create_db_engine(settings.effective_database_url)
    try:
        migrate(db)
        yield db
    finally:
        db.dispose()
