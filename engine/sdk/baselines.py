"""The baseline run a gated eval compares against: a run id, or a ref of the eval's prompt
(``production``: the newest completed run that evaluated the version the label names).

Looked up in the database alone, before the engine starts, so that an unknown baseline is
refused in a second and the new run cannot become its own baseline.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

from domain.errors import NotFoundError
from domain.evaluation import RunStatus
from engine.evaluation.runs import RunInfo, RunStore
from engine.prompts.queries import PromptQueries

if TYPE_CHECKING:
    from sqlalchemy import Engine as DbEngine

PAGE = 200


@dataclass(frozen=True)
class Baseline:
    """The run to compare against and which of its prompt versions is the baseline."""

    run_id: str
    version_id: str
    label: str
    """How to name it: ``run_… (calculator production)``."""


def find_baseline(db: DbEngine, owner: str, prompt: str, ref: str) -> Baseline:
    """The baseline ``ref`` names.

    A run id gives that run and its last prompt version (the candidate of its eval file).
    Anything else is a ref of ``prompt`` (a label, branch, ``v3``, version id): the newest
    completed run of ``owner`` that evaluated the version it names.

    Raises:
        NotFoundError: no such run, no such prompt or ref, or no completed run of it.
    """
    store = RunStore(db)
    try:
        info = store.get(owner, ref)
    except NotFoundError:
        pass
    else:
        return Baseline(info.id, info.spec.prompt_versions[-1], f"run {info.id}")
    queries = PromptQueries(db, owner)
    try:
        prompt_id = queries.prompt_id(prompt)
        version = queries.show(prompt_id, ref).id
    except NotFoundError:
        raise NotFoundError(
            f"--baseline {ref!r}: neither a run id nor a ref of prompt {prompt!r}",
            reason="unknown-baseline",
        ) from None
    for run in _newest_first(store, owner):
        spec = run.spec
        if (
            run.status is RunStatus.COMPLETED
            and spec.prompt_id == prompt_id
            and version in spec.prompt_versions
        ):
            return Baseline(run.id, version, f"run {run.id} ({prompt} {ref})")
    raise NotFoundError(
        f"--baseline {ref!r}: no completed run evaluated {prompt} {ref} ({version[:12]})",
        reason="unknown-baseline",
    )


def _newest_first(store: RunStore, owner: str) -> Iterator[RunInfo]:
    before: str | None = None
    while True:
        page = store.list_runs(owner, limit=PAGE, before=before)
        yield from page
        if len(page) < PAGE:
            return
        before = page[-1].created_at
