"""The SDK in a workspace: `engine.workspaces`, `in_workspace` and `Engine(workspace=...)` on
a real database (inline executor, no Ray)."""

from __future__ import annotations

from pathlib import Path

import pytest

from domain.errors import ForbiddenError, NotFoundError

pytestmark = pytest.mark.integration


def test_acting_in_a_shared_workspace(tmp_path: Path) -> None:
    from engine.sdk import Engine

    with Engine(data_dir=tmp_path, executor="inline") as engine:
        assert (engine.owner, engine.user) == ("local", "local")
        team = engine.workspaces.create("qa team")
        engine.workspaces.add_member(team.id, "bob", "viewer")
        shared = engine.in_workspace(team.id)
        assert (shared.owner, shared.user) == (team.id, "local")
        made = shared.prompts.create("greeter", "Say hello to {{name}}")
        assert shared.prompts.log("greeter")[0].author == "local"
        assert [p.name for p in shared.prompts.list()] == ["greeter"]
        assert engine.prompts.list() == []  # the personal workspace holds none of it
        bob = engine.as_owner("bob")
        with pytest.raises(ForbiddenError):
            bob.workspaces.add_member(team.id, "carol", "editor")
        assert bob.in_workspace(team.id).prompts.get("greeter").id == made.id
        with pytest.raises(NotFoundError):
            engine.as_owner("carol").in_workspace(team.id)
    with pytest.raises(NotFoundError):
        Engine(data_dir=tmp_path, executor="inline", owner="carol", workspace=team.id)
    with Engine(data_dir=tmp_path, executor="inline", owner="bob", workspace=team.id) as as_bob:
        assert [p.name for p in as_bob.prompts.list()] == ["greeter"]


def test_a_members_role_decides_what_the_sdk_lets_them_do(tmp_path: Path) -> None:
    from domain.evaluation import RunSpec
    from domain.evaluation.rows import ResultRow
    from engine.evaluation.runs import RunStore
    from engine.sdk import Engine
    from engine.sdk.run import Run

    with Engine(data_dir=tmp_path, executor="inline") as engine:
        team = engine.workspaces.create("qa team")
        for member, role in (("ed", "editor"), ("ann", "annotator"), ("vic", "viewer")):
            engine.workspaces.add_member(team.id, member, role)
        runs = RunStore(engine.runtime.db)
        run = runs.create(team.id, RunSpec("p", ("abc123",), ("m",), "dv", ("c1", "c2")))
        runs.record([ResultRow(run_id=run.id, prompt_version="abc123", model="m", case_id=c,
                               output=c, passed=True) for c in ("c1", "c2")])  # fmt: skip
        ed, ann, vic = (engine.as_owner(u).in_workspace(team.id) for u in ("ed", "ann", "vic"))
        ed.prompts.create("greeter", "Say hello to {{name}}")
        ed.datasets.create("cases")
        queue = ed.queues.create(run.id, assignees=["ann"])
        with pytest.raises(ForbiddenError) as refused:
            vic.prompts.create("other", "Hi")
        assert refused.value.details == {
            "reason": "missing-permission", "permission": "prompts.write", "role": "viewer",
        }  # fmt: skip
        assert "viewer may not call Prompts.create" in refused.value.message
        assert [p.name for p in vic.prompts.list()] == ["greeter"]  # a viewer reads
        handle = vic.run(run.id)
        assert isinstance(handle, Run) and handle.info().id == run.id
        with pytest.raises(ForbiddenError):
            handle.cancel()
        with pytest.raises(ForbiddenError):
            handle.feedback("c1", verdict="fail")
        with pytest.raises(ForbiddenError):
            vic.evaluate("greeter", dataset="cases", models=["m"])
        with pytest.raises(ForbiddenError):
            ann.queues.create(run.id)
        mine = ann.queues.get(queue.id)
        item = mine.next("ann")
        assert item is not None
        mine.submit(item, "ann", verdict="pass")
        with pytest.raises(ForbiddenError) as manage:
            mine.reassign("ann", "bob")
        assert manage.value.details["permission"] == "queue.manage"
        with pytest.raises(ForbiddenError):
            vic.queues.get(queue.id).next("vic")
        ann.run(run.id).feedback("c2", verdict="fail")  # annotators give feedback
        with pytest.raises(ForbiddenError):
            ann.datasets.create("more")
        assert ed.queues.get(queue.id).reassign("ann", "ed") == [1]
    with Engine(data_dir=tmp_path, executor="inline", owner="vic", workspace=team.id) as as_vic:
        with pytest.raises(ForbiddenError):
            as_vic.datasets.create("mine")
        assert as_vic.datasets.list()[0].name == "cases"
