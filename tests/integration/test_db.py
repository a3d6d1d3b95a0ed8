from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import text

from domain.errors import ConfigurationError
from engine.db import (
    SCHEMA_HEAD,
    create_db_engine,
    current_revision,
    head_revision,
    migrate,
    table_names,
)

pytestmark = pytest.mark.integration


def test_migrations_apply_on_both_drivers(db_url: str) -> None:
    engine = create_db_engine(db_url)
    assert current_revision(engine) is None
    assert migrate(engine) == head_revision()
    assert "engine_meta" in table_names(engine)
    with engine.begin() as conn:
        conn.execute(text("INSERT INTO engine_meta (key, value) VALUES ('k', 'v')"))
    with engine.connect() as conn:
        assert conn.execute(text("SELECT value FROM engine_meta")).scalar_one() == "v"
    engine.dispose()


def test_migrate_twice_is_a_no_op(db_url: str) -> None:
    engine = create_db_engine(db_url)
    first = migrate(engine)
    assert migrate(engine) == first
    engine.dispose()


def test_the_schema_head_is_the_newest_migration() -> None:
    assert SCHEMA_HEAD == head_revision()


def test_a_database_at_head_is_not_migrated_again(db_url: str) -> None:
    migrate(create_db_engine(db_url))
    probe = (
        "import sys; from engine.db import create_db_engine, migrate; "
        f"print(migrate(create_db_engine({db_url!r})), 'alembic' in sys.modules)"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
    assert done.stdout.split() == [SCHEMA_HEAD, "False"], done.stderr


def test_local_file_uses_wal_and_creates_parent_dir(tmp_path: Path) -> None:
    engine = create_db_engine(f"sqlite+libsql:///{tmp_path / 'deep' / 'dir' / 'x.db'}")
    with engine.connect() as conn:
        assert conn.execute(text("PRAGMA journal_mode")).scalar_one() == "wal"
    assert (tmp_path / "deep" / "dir").is_dir()
    engine.dispose()


def test_unusable_url_is_a_configuration_error() -> None:
    with pytest.raises(ConfigurationError, match="database URL"):
        create_db_engine("nonsense://")
