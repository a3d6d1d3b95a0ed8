"""The SQLAlchemy 2 engine and Alembic migrations.

A sync engine on purpose: the async libSQL dialects are broken (see NOTES), and our writers
are actors that can afford a thread.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, inspect, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

from domain.errors import ConfigurationError, ServiceUnavailableError
from engine.data_dir import private_file

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
SCHEMA_HEAD = "0010"
"""The newest revision in ``migrations/versions`` (a unit test checks it is Alembic's head)."""


def create_db_engine(url: str, *, echo: bool = False) -> Engine:
    """An engine for `url`, creating a local database file 0600 (and its directory).

    SQLite gives the -wal and -shm files the mode of the database file, so they are 0600 too.

    Raises:
        ConfigurationError: the URL cannot be used.
    """
    try:
        parsed = make_url(url)
    except Exception as exc:  # SQLAlchemy raises ArgumentError with a terse message
        raise ConfigurationError(f"invalid database URL: {exc}") from None
    is_local_file = parsed.get_backend_name() == "sqlite" and parsed.host in (None, "")
    if is_local_file and parsed.database not in (None, "", ":memory:"):
        path = Path(parsed.database).expanduser()
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        for file in (path, path.with_name(f"{path.name}-wal"), path.with_name(f"{path.name}-shm")):
            if file == path or file.exists():
                private_file(file)
    connect_args: dict[str, Any] = {}
    if parsed.drivername in ("sqlite", "sqlite+pysqlite"):
        connect_args["check_same_thread"] = False
    try:
        engine = create_engine(url, echo=echo, connect_args=connect_args)
    except Exception as exc:
        raise ConfigurationError(f"cannot use database URL: {exc}") from None
    if is_local_file:
        event.listen(engine, "connect", _sqlite_pragmas)
    return engine


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    for pragma in (
        "journal_mode=WAL",
        "synchronous=NORMAL",
        "foreign_keys=ON",
        "busy_timeout=5000",
    ):
        cursor.execute(f"PRAGMA {pragma}")
    cursor.close()


def _alembic_config(engine: Engine) -> Any:
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["engine"] = engine
    return config


def migrate(engine: Engine) -> str:
    """Apply every pending migration; returns the revision now in force."""
    # Importing Alembic to learn there is nothing to do cost ~0.45 s of every CLI command.
    if stored_revision(engine) == SCHEMA_HEAD:
        return SCHEMA_HEAD
    from alembic import command

    try:
        command.upgrade(_alembic_config(engine), "head")
    except Exception as exc:
        raise ServiceUnavailableError(f"database migration failed: {exc}") from exc
    return current_revision(engine) or ""


def stored_revision(engine: Engine) -> str | None:
    """The revision in ``alembic_version``, read without Alembic; None before the first
    migration (or when it cannot be read: ``migrate`` then lets Alembic decide)."""
    try:
        with engine.connect() as connection:
            return connection.execute(text("SELECT version_num FROM alembic_version")).scalar()
    except (SQLAlchemyError, ValueError):  # no table yet; libSQL raises plain ValueError
        return None


def head_revision() -> str:
    """The newest revision shipped with this version of the code."""
    from alembic.script import ScriptDirectory

    script = ScriptDirectory(str(MIGRATIONS_DIR))
    return str(script.get_current_head())


def current_revision(engine: Engine) -> str | None:
    """The revision the database is at, or None before the first migration."""
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def table_names(engine: Engine) -> list[str]:
    """Tables present in the database (for checks and tests)."""
    return sorted(inspect(engine).get_table_names())
