"""Who may follow a run's events: the run store answers, by owner."""

from __future__ import annotations

from typing import Any

from api.services import ApiServices, StoreOwners
from domain.evaluation import RunSpec
from engine.evaluation.runs import RunStore
from engine.sdk import owns_run

SPEC = RunSpec(
    prompt_id="p",
    prompt_versions=("v" * 64,),
    models=("m",),
    dataset_version_id="d",
    case_ids=("c1",),
)


async def test_a_run_belongs_to_its_owner_only(migrated_db: Any) -> None:
    run = RunStore(migrated_db).create("alice", SPEC)
    owns = StoreOwners(migrated_db, owns_run)
    assert await owns("alice", run.id) is True
    assert await owns("bob", run.id) is False
    assert await owns("alice", "run_unknown") is False


def test_services_on_a_runtime_ask_the_run_store(migrated_db: Any) -> None:
    class Started:  # the two things `from_runtime` reads of a started runtime
        db = migrated_db
        redis_url = "redis://127.0.0.1:9/0"
        settings: Any = None

    services = ApiServices.from_runtime(Started())  # type: ignore[arg-type]
    assert services.run_owner == StoreOwners(migrated_db, owns_run)
