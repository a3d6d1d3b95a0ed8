"""Bodies of `/v1/workspaces`: Pydantic at the HTTP edge; the rules (names, roles, the last
owner) are the domain's."""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from api.auth import is_user_id
from domain.workspaces import MAX_NAME_LENGTH, Member, Role, Workspace


def _user_id(value: str) -> str:
    if not is_user_id(value):
        raise ValueError("not a user id (control characters, or the workspace prefix ws_)")
    return value


UserId = Annotated[str, Field(min_length=1, max_length=200), AfterValidator(_user_id)]


class WorkspaceIn(BaseModel):
    """A new shared workspace; its creator becomes its owner."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"name": "qa"}]})

    name: str = Field(min_length=1, max_length=MAX_NAME_LENGTH)


class WorkspaceOut(BaseModel):
    """A workspace and the caller's role in it."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": "ws_4f0c6a1e9b3d4f7a8c2e",
                    "name": "qa",
                    "kind": "shared",
                    "role": "owner",
                    "created_at": "2026-12-03T10:00:00.000000+00:00",
                    "created_by": "user_2abc",
                }
            ]
        }
    )

    id: str = Field(description="Send it as `X-Autoforge-Workspace` to act there.")
    name: str
    kind: str = Field(description="`personal` (id = your user id), `shared` or `organisation`.")
    role: Role
    created_at: str
    created_by: str

    @classmethod
    def of(cls, workspace: Workspace, role: Role) -> WorkspaceOut:
        return cls(role=role, **workspace.__dict__)


class MemberIn(BaseModel):
    """A user to add, and their role."""

    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"user_id": "bob", "role": "annotator"}]}
    )

    user_id: UserId
    role: Role


class RoleIn(BaseModel):
    """A member's new role."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"role": "editor"}]})

    role: Role


class MemberOut(BaseModel):
    """One member of a workspace."""

    workspace_id: str
    user_id: str
    role: Role
    added_at: str
    added_by: str

    @classmethod
    def of(cls, member: Member) -> MemberOut:
        return cls(**member.__dict__)
