"""Workspaces in a real database file: migration 0009 gives every existing owner a personal
workspace, and the store keeps the membership rules."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import Engine, inspect, select, text

from domain.errors import ConflictError, ForbiddenError, NotFoundError, ValidationError
from domain.evaluation import RunSpec
from domain.workspaces import OrganisationClaim
from engine.db import SCHEMA_HEAD, _alembic_config, create_db_engine, migrate
from engine.evaluation.datasets import DatasetStore
from engine.evaluation.runs import RunStore
from engine.keys import Keyring, ProviderKeyStore, new_master_key
from engine.prompts.local_commands import LocalCommands
from engine.sdk.prompts import Prompts
from engine.sdk.workspaces import Workspaces
from engine.workspaces import WorkspaceStore
from engine.workspaces.tables import workspace_members, workspaces

pytestmark = pytest.mark.integration
SPEC = RunSpec("p", ("aaa111",), ("m",), "dv", ("c1",))


def _owned_rows(db: Engine) -> dict[str, set[str]]:
    """Every table with an `owner` column, and the owners found in it."""
    found: dict[str, set[str]] = {}
    with db.connect() as conn:
        for table in inspect(conn).get_table_names():
            if any(c["name"] == "owner" for c in inspect(conn).get_columns(table)):
                rows = conn.execute(text(f'SELECT DISTINCT owner FROM "{table}"'))  # noqa: S608
                found[table] = {owner for (owner,) in rows}
    return found


def test_upgrading_from_0008_puts_every_row_in_its_owners_personal_workspace(
    tmp_path: Path,
) -> None:
    db = create_db_engine(f"sqlite+libsql:///{tmp_path / 'old.db'}")
    command.upgrade(_alembic_config(db), "0008")
    assert "workspaces" not in inspect(db).get_table_names()
    keys = ProviderKeyStore(db, Keyring.parse(new_master_key("k")))
    for owner in ("ann", "user_2bob"):
        Prompts(db=db, owner=owner, shards=LocalCommands(db)).create("qa", "{{q}}")
        DatasetStore(db).create(owner, "cases")
        RunStore(db).create(owner, SPEC)
        keys.put(owner, "openai", "sk-test-" + "x" * 20)
    before = _owned_rows(db)
    filled = {table for table, owners in before.items() if owners}
    assert {"prompts", "prompt_events", "datasets", "runs", "provider_keys"} <= filled
    assert all(before[table] == {"ann", "user_2bob"} for table in filled)

    assert migrate(db) == SCHEMA_HEAD
    after = _owned_rows(db)  # no row rewritten: owner = personal workspace id
    assert {t: o for t, o in after.items() if t in before} == before
    assert not any(after[t] for t in set(after) - set(before))  # later tables start empty
    with db.connect() as conn:
        spaces = {r.id: r for r in conn.execute(select(workspaces))}
        members = {
            (r.workspace_id, r.user_id): r.role for r in conn.execute(select(workspace_members))
        }
    assert set(spaces) == {"ann", "user_2bob"}
    assert {s.kind for s in spaces.values()} == {"personal"}
    assert members == {("ann", "ann"): "owner", ("user_2bob", "user_2bob"): "owner"}
    # The rows are reachable through the workspace, and only there.
    assert [p.name for p in Prompts(db=db, owner="ann", shards=LocalCommands(db)).list()] == ["qa"]
    assert [w.id for w, _ in Workspaces(WorkspaceStore(db), "ann").list()] == ["ann"]
    with pytest.raises(NotFoundError):
        Workspaces(WorkspaceStore(db), "ann").get("user_2bob")
    command.downgrade(_alembic_config(db), "0008")
    assert not {"workspaces", "workspace_members"} & set(inspect(db).get_table_names())
    assert _owned_rows(db) == before
    db.dispose()


def test_membership_rules(migrated_db: Engine) -> None:
    store = WorkspaceStore(migrated_db)
    ann, bob = Workspaces(store, "ann"), Workspaces(store, "bob")
    team = ann.create("  qa team ")
    assert team.id.startswith("ws_") and team.name == "qa team" and team.kind == "shared"
    with pytest.raises(NotFoundError):
        bob.members(team.id)  # not a member: the workspace does not exist for bob
    ann.add_member(team.id, "bob", "viewer")
    assert [(m.user_id, m.role) for m in bob.members(team.id)] == [
        ("ann", "owner"),
        ("bob", "viewer"),
    ]
    with pytest.raises(ForbiddenError):
        bob.add_member(team.id, "carol", "viewer")
    with pytest.raises(ConflictError) as already:
        ann.add_member(team.id, "bob", "editor")
    assert already.value.details["reason"] == "already-member"
    for demote in (
        lambda: ann.set_role(team.id, "ann", "editor"),
        lambda: ann.remove_member(team.id, "ann"),
    ):
        with pytest.raises(ConflictError) as last:
            demote()
        assert last.value.details["reason"] == "last-owner"
    ann.set_role(team.id, "bob", "owner")
    ann.set_role(team.id, "ann", "editor")  # bob owns it now
    with pytest.raises(ForbiddenError):
        ann.remove_member(team.id, "bob")
    bob.remove_member(team.id, "ann")
    with pytest.raises(NotFoundError):
        ann.get(team.id)
    with pytest.raises(NotFoundError) as gone:
        bob.set_role(team.id, "ann", "viewer")
    assert gone.value.details["reason"] == "unknown-member"
    with pytest.raises(ConflictError):
        ann.add_member("ann", "bob", "viewer")  # personal workspaces have one member
    with pytest.raises(ValidationError):
        Workspaces(store, team.id).list()  # no user may have a shared workspace's id


def test_an_organisation_is_entered_only_with_a_token_active_in_it(migrated_db: Engine) -> None:
    store = WorkspaceStore(migrated_db)
    admin = OrganisationClaim("org_1", "owner")
    ws_id = "ws_org:org_1"
    assert Workspaces(store, "ann", admin).role(ws_id)[1] == "owner"
    assert Workspaces(store, "bob", OrganisationClaim("org_1", "editor")).role(ws_id)[1] == "editor"
    assert Workspaces(store, "bob", OrganisationClaim("org_1", "viewer")).role(ws_id)[1] == "viewer"
    assert [(m.user_id, m.role) for m in store.members(ws_id)] == [
        ("ann", "owner"),
        ("bob", "viewer"),
    ]
    # bob's next token has no organisation (he left it): the recorded membership is not enough.
    with pytest.raises(NotFoundError):
        Workspaces(store, "bob").role(ws_id)
    assert [w.id for w, _ in Workspaces(store, "bob").list()] == ["bob"]
    with pytest.raises(ConflictError) as managed:
        Workspaces(store, "ann", admin).add_member(ws_id, "carol", "viewer")
    assert managed.value.details["reason"] == "managed-by-identity-provider"
