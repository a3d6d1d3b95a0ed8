"""`/v1/provider-keys`: the model-provider API keys of the caller's workspace (runs there use
them), write-only but for the last 4 characters. Any member sees which are stored; only an
owner stores or deletes one. Another workspace's key is simply not found (404)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Path, Response, status
from pydantic import BaseModel, ConfigDict, Field, SecretStr

from api.acting import KeyManager, ReadingMember
from api.openapi import AUTHENTICATED, api_router, problem_responses
from api.pagination import Page, PageDep, paginate
from api.services import KeyStoreDep
from engine.keys import (
    API_KEY_PATTERN,
    MAX_KEY_LENGTH,
    MIN_KEY_LENGTH,
    PROVIDER_PATTERN,
    ProviderKeyInfo,
)

router = api_router(prefix="/v1/provider-keys", tags=["provider keys"], responses=AUTHENTICATED)

ProviderName = Annotated[
    str,
    Path(pattern=PROVIDER_PATTERN, max_length=64, description="e.g. `openai`, `anthropic`."),
]


class ProviderKeyIn(BaseModel):
    """A key to store; it is encrypted at once and never shown again."""

    model_config = ConfigDict(json_schema_extra={"examples": [{"api_key": "sk-proj-…abcd"}]})

    api_key: SecretStr = Field(
        min_length=MIN_KEY_LENGTH,
        max_length=MAX_KEY_LENGTH,
        json_schema_extra={"pattern": API_KEY_PATTERN},
        description="Printable ASCII without spaces.",
    )


class ProviderKeyOut(BaseModel):
    """A stored key as it may be shown: its last 4 characters only."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "provider": "openai",
                    "last4": "abcd",
                    "created_at": "2026-11-27T10:00:00.000000+00:00",
                    "updated_at": "2026-11-27T10:00:00.000000+00:00",
                }
            ]
        }
    )

    provider: str
    last4: str
    created_at: str
    updated_at: str

    @classmethod
    def of(cls, info: ProviderKeyInfo) -> ProviderKeyOut:
        return cls(
            provider=info.provider,
            last4=info.last4,
            created_at=info.created_at,
            updated_at=info.updated_at,
        )


@router.get("", response_model=Page[ProviderKeyOut])
def list_provider_keys(
    acting: ReadingMember, keys: KeyStoreDep, page: PageDep
) -> Page[ProviderKeyOut]:
    """List the workspace's stored provider keys (last 4 characters only)."""
    after = page.position.get("after") if page.position else None
    rows = keys.list(
        acting.workspace_id, after=str(after) if after is not None else None, limit=page.limit + 1
    )
    return paginate(rows, page.limit, lambda row: {"after": row.provider}, ProviderKeyOut.of)


@router.put(
    "/{provider}",
    response_model=ProviderKeyOut,
    status_code=status.HTTP_200_OK,
    responses={201: {"model": ProviderKeyOut, "description": "Stored for the first time"}},
)
def put_provider_key(
    provider: ProviderName,
    body: ProviderKeyIn,
    acting: KeyManager,
    keys: KeyStoreDep,
    response: Response,
) -> ProviderKeyOut:
    """Store or replace the workspace's key for a provider (201 when new, 200 when replaced)."""
    info, created = keys.put(acting.workspace_id, provider, body.api_key.get_secret_value())
    if created:
        response.status_code = status.HTTP_201_CREATED
    return ProviderKeyOut.of(info)


@router.get("/{provider}", response_model=ProviderKeyOut, responses=problem_responses(404))
def get_provider_key(
    provider: ProviderName, acting: ReadingMember, keys: KeyStoreDep
) -> ProviderKeyOut:
    """Show the workspace's key for a provider (last 4 characters only)."""
    return ProviderKeyOut.of(keys.get(acting.workspace_id, provider))


@router.delete(
    "/{provider}", status_code=status.HTTP_204_NO_CONTENT, responses=problem_responses(404)
)
def delete_provider_key(provider: ProviderName, acting: KeyManager, keys: KeyStoreDep) -> None:
    """Delete the workspace's key for a provider."""
    keys.delete(acting.workspace_id, provider)
