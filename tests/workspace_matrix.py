"""The permission matrix, driven by the app's own OpenAPI document: every operation names the
permission it checks (`x-autoforge-permission`), and every role × every operation must get
what `domain.workspaces.GRANTS` says — over in-process HTTP (tests/integration) and through
Ray Serve (tests/e2e) alike."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, Protocol

from domain.workspaces import GRANTS, ROLES

WORKSPACE_HEADER = "X-Autoforge-Workspace"
PROBLEMS = "https://autoforge.dev/problems/"
MUTATING = {"post", "put", "patch", "delete"}
NO_WORKSPACE = "authenticated"
"""Routes any signed-in caller may use (listing and creating workspaces)."""
UNAUTHENTICATED = {"/health", "/ready"}
# Path parameters: the workspace is real, everything else names nothing, so an allowed call
# ends at a 404/409/422 of the resource, never at a change.
PATH_VALUES = {
    "workspace_id": None,  # filled with the team's id
    "user_id": "nobody-at-all",
    "provider": "nosuchprovider",
    "prompt": "no-such-prompt",
    "dataset": "no-such-dataset",
    "run_id": "run_missing0000",
    "optimization_id": "opt_missing0000",
}
_PARAM = re.compile(r"\{([^}:]+)(?::[^}]*)?\}")


class Client(Protocol):
    def request(self, method: str, url: str, **kwargs: Any) -> Any: ...


@dataclass(frozen=True)
class Operation:
    method: str
    path: str
    permission: str

    def url(self, workspace_id: str) -> str:
        def value(match: re.Match[str]) -> str:
            name = match.group(1)
            filled = PATH_VALUES.get(name, "x")
            return workspace_id if name == "workspace_id" else (filled or "x")

        return _PARAM.sub(value, self.path)


def operations(openapi: dict[str, Any], prefix: str = "") -> list[Operation]:
    """Every operation of a document, each with its permission; refuses one without."""
    found = []
    for path, item in openapi["paths"].items():
        for method, operation in item.items():
            if method not in MUTATING | {"get"} or path in UNAUTHENTICATED:
                continue
            permission = operation.get("x-autoforge-permission")
            assert permission, f"{method.upper()} {prefix}{path} checks no workspace permission"
            assert permission == NO_WORKSPACE or permission in GRANTS["owner"], permission
            found.append(Operation(method, prefix + path, permission))
    return found


@dataclass
class Team:
    """A shared workspace with one member of each role, and a user in none of it."""

    workspace_id: str
    members: dict[str, str]
    outsider: str


def make_team(client_of: Callable[[str], Client]) -> Team:
    """Its owner creates it over HTTP and adds the other members."""
    suffix = uuid.uuid4().hex[:6]
    members = {role: f"{role}-{suffix}" for role in ROLES}
    owner = client_of(members["owner"])
    made = owner.request("POST", "/v1/workspaces", json={"name": f"team {suffix}"})
    assert made.status_code == 201, made.text
    workspace_id = made.json()["id"]
    for role, user in members.items():
        if role != "owner":
            added = owner.request(
                "POST",
                f"/v1/workspaces/{workspace_id}/members",
                json={"user_id": user, "role": role},
            )
            assert added.status_code == 201, added.text
    return Team(workspace_id, members, f"outsider-{suffix}")


def _reason(response: Any) -> str | None:
    try:
        body = response.json()
    except ValueError:
        return None
    return body.get("reason") if isinstance(body, dict) else None


def outcomes(
    team: Team, client_of: Callable[[str], Client], ops: list[Operation]
) -> Iterator[tuple[Operation, str, Any]]:
    """Each (operation, caller's role or "outsider", response)."""
    callers = {**team.members, "outsider": team.outsider}
    headers = {WORKSPACE_HEADER: team.workspace_id}
    for op in ops:
        if op.permission == NO_WORKSPACE:
            continue
        for role, user in callers.items():
            body = {} if op.method in ("post", "put", "patch") else None
            response = client_of(user).request(
                op.method.upper(), op.url(team.workspace_id), headers=headers, json=body
            )
            yield op, role, response


def check(op: Operation, role: str, response: Any) -> str | None:
    """What is wrong with ``response`` for ``role`` calling ``op`` (None: as the table says)."""
    status, reason = response.status_code, _reason(response)
    where = f"{op.method.upper()} {op.path} as {role}: {status} {response.text[:200]}"
    if role == "outsider":
        ok = status == 404 and reason == "unknown-workspace"
        return None if ok else f"{where} (expected 404 unknown-workspace)"
    if op.permission not in GRANTS[role]:  # type: ignore[index]
        body = response.json() if status == 403 else {}
        ok = body.get("type") == f"{PROBLEMS}forbidden" and body.get("permission") == op.permission
        content = response.headers.get("content-type", "")
        return None if ok and content == "application/problem+json" else f"{where} (expected 403)"
    if status in (401, 403) or status >= 500 or reason == "unknown-workspace":
        return f"{where} (expected the table to allow it)"
    return None
