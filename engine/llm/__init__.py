"""Model calls under global limits: catalogue, gateway links, client, cache and budgets.

Examples:
    >>> from engine.llm import CompletionRequest, LLMClient, simulator_catalogue
    >>> client = LLMClient(catalogue, redis_url=url, links=ray_links(url))  # doctest: +SKIP
    >>> await client.complete(CompletionRequest("openai/sim-small", messages))  # doctest: +SKIP
"""

from engine.llm.budget import BudgetStatus, BudgetStore
from engine.llm.cache import DEFAULT_TTL_S, CacheStats, ResponseCache
from engine.llm.catalogue import (
    default_catalogue,
    load_catalogue,
    simulator_account,
    simulator_catalogue,
    simulator_models,
)
from engine.llm.client import LLMClient, budget_scopes
from engine.llm.gateways import GatewayLink, LinkFactory
from engine.llm.ledger import RedisUsageStore, UsageLedger
from engine.llm.types import (
    CallError,
    CompletionRequest,
    CompletionResult,
    EmbeddingResult,
    ModerationResult,
    UsageRecord,
    new_call_id,
)

__all__ = [
    "DEFAULT_TTL_S",
    "BudgetStatus",
    "BudgetStore",
    "CacheStats",
    "CallError",
    "CompletionRequest",
    "CompletionResult",
    "EmbeddingResult",
    "GatewayLink",
    "LinkFactory",
    "LLMClient",
    "ModerationResult",
    "RedisUsageStore",
    "ResponseCache",
    "UsageLedger",
    "UsageRecord",
    "budget_scopes",
    "default_catalogue",
    "load_catalogue",
    "new_call_id",
    "simulator_account",
    "simulator_catalogue",
    "simulator_models",
]
