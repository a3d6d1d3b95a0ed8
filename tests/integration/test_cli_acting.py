"""`--owner` on every command that takes it: a shared workspace only for its members (checked
once, in `engine.cli.acting`), authors stay the acting user (real subprocesses, no Ray)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.integration.test_fast_cli import cli, ok

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def test_a_shared_workspace_is_only_for_its_members(tmp_path: Path) -> None:
    data = tmp_path / "data"
    team = ok(data, "workspace", "create", "qa team", "--json").json()["id"]
    ok(data, "workspace", "add-member", team, "bob", "viewer")
    made = ok(data, "prompt", "create", "greeter", "--template", "Hi {{name}}", "--owner", team,
              "--json").json()  # fmt: skip
    assert made["name"] == "greeter"
    log = ok(data, "prompt", "log", "greeter", "--owner", team, "--json").json()
    assert log[0]["author"] == "local"  # a person, never the workspace
    listed = ok(data, "prompt", "list", "--owner", team, "--user", "bob", "--json").json()
    assert [p["name"] for p in listed] == ["greeter"]
    for argv in (
        ("prompt", "list", "--owner", team, "--user", "mallory"),
        ("run", "list", "--owner", team, "--user", "mallory"),
        ("queue", "list", "--owner", team, "--user", "mallory"),
        ("flow", "log", "any", "--owner", team, "--user", "mallory"),
        ("optimizations", "list", "--owner", team, "--user", "mallory"),
        ("playground", "history", "pg_1", "--owner", team, "--user", "mallory"),
        ("prompt", "list", "--owner", "ws_0123456789abcdef0123"),
        ("prompt", "list", "--owner", "bob", "--user", "mallory"),
    ):
        refused = cli(data, *argv)
        assert refused.code == 1, argv
        assert "not-found" in refused.stderr and "Traceback" not in refused.stderr, argv
    assert ok(data, "prompt", "list", "--owner", "bob", "--json").json() == []  # bob's own
