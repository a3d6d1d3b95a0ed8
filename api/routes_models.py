"""`/v1/models`: the models this deployment may call, their accounts' limits, and usage.

Accounts and their limits are the deployment's own, shared by every user; usage is the
caller's own (their calls on each account and model), never anyone else's. No API key or
endpoint is ever shown: the response models are allow-lists.
"""

from __future__ import annotations

from fastapi import Request
from pydantic import BaseModel, Field

from api.acting import Reader
from api.openapi import AUTHENTICATED, api_router, problem_responses
from engine.llm import RedisUsageStore
from engine.llm.ledger import user_model_scope, user_scope


class RetryOut(BaseModel):
    """How a call on the account is retried."""

    max_attempts: int
    base_delay_s: float
    max_delay_s: float
    jitter: float


class AccountOut(BaseModel):
    """A provider account and its global limits (never its key or endpoint)."""

    name: str = Field(examples=["openai"])
    provider: str = Field(examples=["openai"])
    rpm: int = Field(examples=[500])
    tpm: int | None = Field(examples=[200000])
    max_concurrency: int
    timeout_s: float
    retry: RetryOut
    requires_api_key: bool


class ModelOut(BaseModel):
    """A callable model, its account and prices (USD per token; null: LiteLLM's map)."""

    name: str = Field(examples=["openai/sim-small"])
    account: str
    input_cost_per_token: float | None
    output_cost_per_token: float | None
    context_window: int | None
    skill: float | None
    tags: list[str]


class FallbackOut(BaseModel):
    """Models walked through when one keeps failing."""

    chain: list[str]
    after_attempts: int


class CatalogueOut(BaseModel):
    """Every model this deployment may call, with its account's limits."""

    accounts: list[AccountOut]
    models: list[ModelOut]
    fallbacks: list[FallbackOut]


class UsageTotals(BaseModel):
    """Counted calls, requests, tokens and cost (each usage record counted once)."""

    calls: int = 0
    ok: int = 0
    failed: int = 0
    requests: int = 0
    errors: int = 0
    rate_limited: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float = 0.0


class AccountUsageOut(BaseModel):
    """Your totals on an account since its ledger began, and per model."""

    account: str
    totals: UsageTotals
    models: dict[str, UsageTotals]


class UsageOut(BaseModel):
    """Your usage per provider account, from the gateways' durable ledger."""

    accounts: list[AccountUsageOut]


router = api_router(
    prefix="/v1/models",
    tags=["models"],
    responses={**AUTHENTICATED, **problem_responses(503)},
)


@router.get("", response_model=CatalogueOut)
def list_models(engine: Reader) -> CatalogueOut:
    """List the models you may evaluate, with prices and their accounts' limits."""
    return CatalogueOut.model_validate(engine.catalogue.to_dict())


@router.get("/usage", response_model=UsageOut)
async def model_usage(request: Request, engine: Reader) -> UsageOut:
    """Show your calls, tokens and cost per provider account and model, judge and embedding
    calls included (the gateways' ledger; other users' usage is never shown)."""
    catalogue = engine.catalogue
    accounts: list[AccountUsageOut] = []
    for account in catalogue.accounts:
        ledger = RedisUsageStore(request.app.state.redis, account.name)
        models = [model.name for model in catalogue.models if model.account == account.name]
        per_model = {}
        for name in models:
            mine = await ledger.totals(user_model_scope(engine.owner, name))
            per_model[name] = UsageTotals.model_validate(mine)
        total = await ledger.totals(user_scope(engine.owner))
        accounts.append(
            AccountUsageOut(
                account=account.name,
                totals=UsageTotals.model_validate(total),
                models=per_model,
            )
        )
    return UsageOut(accounts=accounts)
