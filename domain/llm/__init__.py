"""LLM integration rules: catalogue, limits, retries, routing, cost and cache keys.

Pure and stdlib-only: the `ProviderGateway` actor and the LiteLLM adapter hold the state
and do the I/O; every rule they apply lives here.
"""

from domain.llm.bucket import TokenBucket
from domain.llm.cache_key import IGNORED_PARAMS, cache_key
from domain.llm.catalogue import Catalogue
from domain.llm.cost import (
    Budget,
    BudgetLedger,
    Usage,
    cost_of,
    estimate_messages_tokens,
    estimate_tokens,
)
from domain.llm.forecast import DEFAULT_COMPLETION_TOKENS, CompletionForecast
from domain.llm.headers import exhausted_reset, parse_duration, provider_pause, retry_after
from domain.llm.limiter import AimdPolicy, Lease, RateLimiter, Wait
from domain.llm.params import (
    EMBEDDING_PARAMS,
    GENERATION_PARAMS,
    check_embedding_params,
    check_generation_params,
)
from domain.llm.retry import KINDS, Outcome, backoff_delay, classify, should_retry
from domain.llm.routing import (
    cheapest_that_qualifies,
    fixed,
    lowest_latency,
    next_model,
    qualifies,
)
from domain.llm.specs import FallbackPolicy, ModelSpec, ProviderAccount, RetryPolicy
from domain.llm.tool_calls import ToolCall, parse_arguments, tool_calls_from_dicts

__all__ = [
    "DEFAULT_COMPLETION_TOKENS",
    "EMBEDDING_PARAMS",
    "GENERATION_PARAMS",
    "check_embedding_params",
    "check_generation_params",
    "IGNORED_PARAMS",
    "KINDS",
    "AimdPolicy",
    "Budget",
    "BudgetLedger",
    "Catalogue",
    "CompletionForecast",
    "FallbackPolicy",
    "Lease",
    "ModelSpec",
    "Outcome",
    "ProviderAccount",
    "RateLimiter",
    "RetryPolicy",
    "TokenBucket",
    "ToolCall",
    "Usage",
    "Wait",
    "backoff_delay",
    "cache_key",
    "cheapest_that_qualifies",
    "classify",
    "cost_of",
    "estimate_messages_tokens",
    "estimate_tokens",
    "exhausted_reset",
    "fixed",
    "lowest_latency",
    "next_model",
    "parse_arguments",
    "parse_duration",
    "provider_pause",
    "qualifies",
    "retry_after",
    "should_retry",
    "tool_calls_from_dicts",
]
