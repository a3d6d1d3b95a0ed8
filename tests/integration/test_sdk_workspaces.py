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
