"""The permission table, role parsing, the last-owner rule, organisation claims, and the id
namespaces of users and shared workspaces."""

from __future__ import annotations

import pytest

from api.auth import is_user_id
from domain.errors import ConflictError, ForbiddenError, ValidationError
from domain.workspaces import (
    GRANTS,
    PERMISSIONS,
    ROLES,
    Workspace,
    can,
    check_managed,
    check_name,
    check_owner_kept,
    is_shared_id,
    organisation_claim,
    organisation_workspace_id,
    parse_role,
    require,
    role_of_org_role,
)
from engine.store_util import new_id

# Written out by hand from the issue, not derived from GRANTS: the table is the contract.
EXPECTED = {
    "viewer": {"workspace.read"},
    "annotator": {"workspace.read", "feedback.write", "queue.work"},
    "editor": {
        "workspace.read",
        "feedback.write",
        "queue.work",
        "queue.manage",
        "prompts.write",
        "datasets.write",
        "runs.write",
        "optimizations.write",
    },
    "owner": set(PERMISSIONS),
}


def test_the_table_grants_exactly_what_each_role_may_do() -> None:
    assert set(ROLES) == set(EXPECTED)
    for role in ROLES:
        assert {p for p in PERMISSIONS if can(role, p)} == EXPECTED[role], role
    assert {"keys.manage", "members.manage", "workspace.manage"} <= set(PERMISSIONS)


def test_roles_are_nested_from_viewer_to_owner() -> None:
    ordered = [GRANTS[role] for role in reversed(ROLES)]
    assert all(lower < higher for lower, higher in zip(ordered, ordered[1:], strict=False))


def test_require_raises_a_forbidden_error_naming_the_permission() -> None:
    require("annotator", "feedback.write")
    with pytest.raises(ForbiddenError) as caught:
        require("annotator", "prompts.write")
    assert caught.value.code == "forbidden" and caught.value.status == 403
    assert caught.value.details["permission"] == "prompts.write"


def test_parse_role_refuses_unknown_roles() -> None:
    assert parse_role("editor") == "editor"
    with pytest.raises(ValidationError):
        parse_role("admin")


def test_the_last_owner_can_be_neither_removed_nor_demoted() -> None:
    alone = {"ann": "owner", "bob": "editor"}
    for change in (None, "editor", "viewer"):
        with pytest.raises(ConflictError) as caught:
            check_owner_kept(alone, "ann", change)  # type: ignore[arg-type]
        assert caught.value.details["reason"] == "last-owner"
    check_owner_kept(alone, "ann", "owner")
    check_owner_kept(alone, "bob", None)
    check_owner_kept({"ann": "owner", "bob": "owner"}, "ann", None)


def test_personal_and_organisation_workspaces_are_not_managed_here() -> None:
    for kind, reason in (
        ("personal", "personal-workspace"),
        ("organisation", "managed-by-identity-provider"),
    ):
        with pytest.raises(ConflictError) as caught:
            check_managed(Workspace("x", "n", kind, "t", "u"))  # type: ignore[arg-type]
        assert caught.value.details["reason"] == reason
    check_managed(Workspace("ws_1", "n", "shared", "t", "u"))


def test_names_are_stripped_and_checked() -> None:
    assert check_name("  qa team ") == "qa team"
    for bad in ("", "   ", "a\nb", "x" * 201):
        with pytest.raises(ValidationError):
            check_name(bad)


@pytest.mark.parametrize(
    ("claims", "expected"),
    [
        ({"org_id": "org_1", "org_role": "org:admin"}, ("org_1", "owner")),
        ({"org_id": "org_1", "org_role": "org:member"}, ("org_1", "editor")),
        ({"org_id": "org_1", "org_role": "org:annotator"}, ("org_1", "annotator")),
        ({"org_id": "org_1", "org_role": "org:billing"}, ("org_1", "viewer")),
        ({"org_id": "org_1"}, ("org_1", "viewer")),
        ({"o": {"id": "org_2", "rol": "admin"}}, ("org_2", "owner")),
        ({"sub": "user_1"}, None),
        ({"org_id": ""}, None),
        ({"org_id": 7, "org_role": "org:admin"}, None),
        ({"org_id": "org\n1", "org_role": "org:admin"}, None),
    ],
)
def test_clerk_organisation_claims_map_to_a_role(
    claims: dict[str, object], expected: tuple[str, str] | None
) -> None:
    claim = organisation_claim(claims)
    assert (None if claim is None else (claim.org_id, claim.role)) == expected
    if claim is not None:
        assert claim.workspace_id == f"ws_org:{claim.org_id}"


def test_clerk_default_roles() -> None:
    assert role_of_org_role("org:admin") == "owner"
    assert role_of_org_role("org:member") == "editor"


def test_shared_workspace_ids_never_name_a_user() -> None:
    generated = [new_id("ws") for _ in range(200)]
    organisations = [organisation_workspace_id(o) for o in ("org_1", "0123abcd", generated[0])]
    for workspace_id in generated + organisations:
        assert is_shared_id(workspace_id)
        assert not is_user_id(workspace_id)  # no token can carry it as its subject
    # ...and a generated id (hex) never equals an organisation's (which holds a colon).
    assert not set(generated) & set(organisations)
    for user in ("local", "user_2abc", "alice", "ws", "w_s", "WS_upper"):
        assert is_user_id(user) and not is_shared_id(user)
