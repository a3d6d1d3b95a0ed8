"""`autoforge workspace …`: database-only (a real subprocess, no Ray or Redis started)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.integration.test_fast_cli import cli, ok, started_nothing

pytestmark = [pytest.mark.integration, pytest.mark.slow]


def test_workspace_commands_manage_members_with_the_rules_of_the_api(tmp_path: Path) -> None:
    data = tmp_path / "data"
    listed = ok(data, "workspace", "list", "--json").json()
    assert [(w["id"], w["kind"], w["role"]) for w in listed] == [("local", "personal", "owner")]
    team = ok(data, "workspace", "create", "qa team", "--json").json()
    assert team["id"].startswith("ws_") and team["role"] == "owner"
    ws = team["id"]
    added = ok(data, "workspace", "add-member", ws, "bob", "annotator")
    assert f"bob is annotator in {ws}" in added.stdout
    assert "bob is editor" in ok(data, "workspace", "set-role", ws, "bob", "editor").stdout
    members = ok(data, "workspace", "members", ws, "--json").json()
    assert [(m["user_id"], m["role"], m["added_by"]) for m in members] == [
        ("bob", "editor", "local"),
        ("local", "owner", "local"),
    ]
    refused = cli(data, "workspace", "remove-member", ws, "local")
    assert refused.code != 0 and "last owner" in refused.stderr
    not_owner = cli(data, "workspace", "add-member", ws, "carol", "viewer", "--user", "bob")
    assert not_owner.code != 0 and "needs members.manage" in not_owner.stderr
    stranger = cli(data, "workspace", "members", ws, "--user", "carol")
    assert stranger.code != 0 and "no workspace" in stranger.stderr
    assert "bob removed" in ok(data, "workspace", "remove-member", ws, "bob").stdout
    left = ok(data, "workspace", "members", ws, "--json").json()
    assert [m["user_id"] for m in left] == ["local"]
    assert started_nothing(data)
