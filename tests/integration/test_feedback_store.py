from __future__ import annotations

from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import Engine, func, select

from domain.errors import NotFoundError, ValidationError
from domain.evaluation import RunSpec
from domain.evaluation.rows import ResultRow
from engine.db import SCHEMA_HEAD, _alembic_config, create_db_engine, migrate, table_names
from engine.evaluation.feedback import FeedbackStore
from engine.evaluation.runs import RunStore
from engine.evaluation.tables import results

pytestmark = pytest.mark.integration
SPEC = RunSpec("p", ("aaa111", "bbb222"), ("m",), "dv", ("c1", "c2"))


def recorded_run(db: Engine, owner: str = "ann") -> str:
    store = RunStore(db)
    run = store.create(owner, SPEC)
    store.record(
        [
            ResultRow(run_id=run.id, prompt_version=v, model="m", case_id=c, passed=True, score=1.0)
            for v in SPEC.prompt_versions
            for c in SPEC.case_ids
        ]
    )
    return run.id


def test_upgrading_from_0007_keeps_recorded_results(tmp_path: Path) -> None:
    db = create_db_engine(f"sqlite+libsql:///{tmp_path / 'old.db'}")
    command.upgrade(_alembic_config(db), "0007")
    assert "cell_feedback" not in table_names(db)
    run_id = recorded_run(db)
    assert migrate(db) == SCHEMA_HEAD
    assert "cell_feedback" in table_names(db)
    with db.connect() as conn:
        assert conn.execute(select(func.count()).select_from(results)).scalar_one() == 4
    feedback = FeedbackStore(db, RunStore(db))
    feedback.add("ann", run_id, "c1", version="aaa", verdict="fail")
    assert [f.case_id for f in feedback.for_run("ann", run_id)] == ["c1"]
    db.dispose()


def test_feedback_is_appended_and_never_touches_results(migrated_db: Engine) -> None:
    run_id = recorded_run(migrated_db)
    store = FeedbackStore(migrated_db, RunStore(migrated_db))
    first = store.add("ann", run_id, "c1", version="aaa", verdict="fail", tags=["tone"])
    store.add("ann", run_id, "c1", version="aaa", model="m", comment="still wrong")
    assert (first.prompt_version, first.model, first.author) == ("aaa111", "m", "ann")
    got = store.for_run("ann", run_id)
    assert [(f.verdict, f.comment, f.tags) for f in got] == [
        ("fail", None, ("tone",)),
        (None, "still wrong", ()),
    ]
    cells = RunStore(migrated_db).results("ann", run_id)
    assert all(c.passed is True for c in cells)
    page = store.page(run_id, limit=1)
    assert [f.comment for _, f in store.page(run_id, after=page[0][0])] == ["still wrong"]


def test_another_owners_run_and_unknown_cells_are_not_found(migrated_db: Engine) -> None:
    run_id = recorded_run(migrated_db, owner="ann")
    store = FeedbackStore(migrated_db, RunStore(migrated_db))
    with pytest.raises(NotFoundError):
        store.add("bob", run_id, "c1", version="aaa", verdict="pass")
    with pytest.raises(NotFoundError):
        store.for_run("bob", run_id)
    with pytest.raises(NotFoundError, match="no recorded cell"):
        store.add("ann", run_id, "c9", version="aaa", verdict="pass")
    with pytest.raises(ValidationError, match="several prompt versions"):
        store.add("ann", run_id, "c1", verdict="pass")
    with pytest.raises(ValidationError, match="within"):
        store.add("ann", run_id, "c1", version="aaa", score=2.0)
    assert store.for_run("ann", run_id) == []
