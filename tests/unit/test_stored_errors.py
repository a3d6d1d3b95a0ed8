"""Run and cell errors are stored as a code and one sentence: never a traceback, pid or host."""

from __future__ import annotations

from typing import Any

import pytest
from ray.exceptions import RayTaskError

from domain.evaluation import RunSpec, RunStatus
from domain.evaluation.failure import INTERNAL
from domain.evaluation.rows import ResultRow
from engine.evaluation.runs import RunStore

SPEC = RunSpec(
    prompt_id="p",
    prompt_versions=("a" * 64,),
    models=("m1",),
    dataset_version_id="d",
    case_ids=("c1", "c2"),
)
LEAKS = ("Traceback", "pid=", "10.1.2.3", 'File "', "/home/", "\n")


def _ray_task_error() -> str:
    try:
        raise ValueError("boom in /home/alice/app/scorer.py")
    except ValueError as exc:
        import traceback

        return str(
            RayTaskError("Evaluator.work", traceback.format_exc(), exc, pid=4242, ip="10.1.2.3")
        )


LITELLM_TEXT = (
    "litellm.APIConnectionError: OpenAIException - Connection error.\n"
    "Traceback (most recent call last):\n"
    '  File "/work/.venv/lib/python3.11/site-packages/openai/_base_client.py", line 1, in x\n'
    "httpx.ConnectError: All connection attempts failed"
)


@pytest.fixture
def store(migrated_db: Any) -> RunStore:
    return RunStore(migrated_db)


def test_a_run_failed_with_a_ray_task_error_stores_code_and_sentence(store: RunStore) -> None:
    run = store.create("alice", SPEC)
    store.set_status(run.id, RunStatus.RUNNING)
    text = _ray_task_error()
    assert 'File "' in text and "pid=4242" in text  # what Ray's str() really carries
    stored = store.set_status(run.id, RunStatus.FAILED, text).error
    assert stored == INTERNAL
    assert not any(leak in (stored or "") for leak in LEAKS)


def test_a_cell_error_with_a_litellm_traceback_is_one_clean_line(store: RunStore) -> None:
    run = store.create("alice", SPEC)
    cells = [
        {"run_id": run.id, "prompt_version": "a" * 64, "model": "m1", "case_id": "c1",
         "repeat": 0, "error": f"connection: {LITELLM_TEXT}"},
        {"run_id": run.id, "prompt_version": "a" * 64, "model": "m1", "case_id": "c2",
         "repeat": 0, "error": "timeout: no answer\nin 30 s"},
    ]  # fmt: skip
    assert store.record([ResultRow(**c) for c in cells]) == 2
    errors = {r.case_id: r.error for r in store.results("alice", run.id)}
    assert errors["c1"] == INTERNAL
    assert errors["c2"] == "timeout: no answer in 30 s"
    assert not any(leak in str(errors) for leak in LEAKS)


def test_our_own_sentences_are_kept_as_they_are(store: RunStore) -> None:
    run = store.create("alice", SPEC)
    store.set_status(run.id, RunStatus.RUNNING)
    sentence = "budget-exceeded: the budget was reached with 3 of 8 cells not run"
    info = store.set_status(run.id, RunStatus.BUDGET_EXCEEDED, sentence, over_budget_cells=3)
    assert (info.error, info.over_budget_cells) == (sentence, 3)
    assert store.set_status(run.id, RunStatus.RUNNING).over_budget_cells == 0
