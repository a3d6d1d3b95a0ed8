"""`find_baseline`: a run id, or a ref of the prompt naming its newest completed run."""

from __future__ import annotations

from typing import Any

import pytest

from domain.errors import NotFoundError
from domain.evaluation import RunSpec, RunStatus
from engine.evaluation.runs import RunStore
from engine.prompts import LocalCommands
from engine.sdk.baselines import find_baseline
from engine.sdk.prompts import Prompts

pytestmark = [pytest.mark.integration]


def test_a_label_names_the_newest_completed_run_of_its_version(migrated_db: Any) -> None:
    prompts = Prompts(db=migrated_db, owner="o", shards=LocalCommands(migrated_db))
    prompt_id = prompts.create("calc", "What is {{a}}?").id
    v1 = prompts.show("calc", "v1")
    v2 = prompts.commit("calc", "What is {{a}}? Only the number.")
    prompts.label("calc", "production", "v1")
    runs = RunStore(migrated_db)

    def run(*versions: str, status: RunStatus = RunStatus.COMPLETED) -> str:
        spec = RunSpec(prompt_id, versions, ("m",), "dv", ("c1",))
        info = runs.create("o", spec)
        runs.set_status(info.id, RunStatus.RUNNING)
        runs.set_status(info.id, status)
        return info.id

    older = run(v1.id)
    both = run(v1.id, v2.id)
    run(v2.id)
    run(v1.id, status=RunStatus.CANCELLED)

    found = find_baseline(migrated_db, "o", "calc", "production")

    assert (found.run_id, found.version_id) == (both, v1.id)
    assert found.label == f"run {both} (calc production)"
    by_id = find_baseline(migrated_db, "o", "calc", older)
    assert (by_id.run_id, by_id.version_id) == (older, v1.id)
    assert find_baseline(migrated_db, "o", "calc", both).version_id == v2.id
    with pytest.raises(NotFoundError, match="neither a run id nor a ref of prompt 'calc'"):
        find_baseline(migrated_db, "o", "calc", "staging")
    with pytest.raises(NotFoundError, match="neither a run id nor a ref"):
        find_baseline(migrated_db, "someone-else", "calc", older)
    prompts.commit("calc", "What is {{a}}? Think.")
    with pytest.raises(NotFoundError, match="no completed run evaluated calc main"):
        find_baseline(migrated_db, "o", "calc", "main")
