"""Checking a request against the catalogue and choosing its model, before any call.

Everything that can be wrong without asking a provider is raised here: unknown models,
parameters outside the allow-list (`domain.llm.params`), missing API keys. Choosing the
model is `domain.llm.routing`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from domain.errors import ConfigurationError, NotFoundError, ValidationError
from domain.llm import (
    Catalogue,
    FallbackPolicy,
    ModelSpec,
    ProviderAccount,
    cheapest_that_qualifies,
    check_embedding_params,
    check_generation_params,
    lowest_latency,
)
from engine.llm.prices import Prices
from engine.llm.types import ROUTINGS, CompletionRequest

RESERVED_PARAMS = frozenset(
    {"model", "messages", "input", "api_key", "api_base", "base_url", "num_retries", "timeout"}
)
"""Set by the client from the catalogue; a request may not override them."""


@dataclass(frozen=True)
class Plan:
    """What to call: the chosen model and the fallback chain that applies to it."""

    primary: ModelSpec
    fallback: FallbackPolicy | None
    models: tuple[ModelSpec, ...]

    @property
    def chain(self) -> tuple[str, ...]:
        """Model names that may be called, primary first."""
        return tuple(spec.name for spec in self.models)


def known_model(catalogue: Catalogue, name: str, what: str = "model") -> ModelSpec:
    """The catalogue's model ``name``; `ValidationError` naming the known ones otherwise."""
    try:
        return catalogue.model(name)
    except NotFoundError as exc:
        raise ValidationError(exc.message.replace("model", what, 1), field="model") from None


def check_params(params: Mapping[str, Any], *, embedding: bool = False) -> None:
    """Refuse parameters the client owns (endpoint, key...) and any outside the allow-list."""
    clash = sorted(RESERVED_PARAMS & set(params))
    if clash:
        raise ValidationError(
            f"params may not set {', '.join(clash)}: they come from the catalogue",
            field="params",
        )
    if embedding:
        check_embedding_params(params)
    else:
        check_generation_params(params)


def check_keys(accounts: Sequence[ProviderAccount], env: Mapping[str, str]) -> None:
    """`ConfigurationError` when an account that needs an API key has none in ``env``."""
    for account in accounts:
        if account.requires_api_key and not env.get(account.key_env_var):
            raise ConfigurationError(
                f"account {account.name!r} needs an API key: set {account.key_env_var}",
                account=account.name,
                variable=account.key_env_var,
            )


def _candidates(catalogue: Catalogue, request: CompletionRequest) -> list[ModelSpec]:
    if request.candidates:
        return [known_model(catalogue, name, "candidate") for name in request.candidates]
    return [m for m in catalogue.models if m.chats]


def choose(
    catalogue: Catalogue,
    request: CompletionRequest,
    prompt_tokens: int,
    latencies: Mapping[str, float],
    prices: Prices,
) -> ModelSpec:
    """The model ``request.routing`` picks."""
    if request.routing == "fixed":
        return known_model(catalogue, request.model)
    known_model(catalogue, request.model)
    candidates = _candidates(catalogue, request)
    if request.routing == "lowest-latency":
        return lowest_latency(candidates, latencies, unknown_ms=0.0)
    try:
        return cheapest_that_qualifies(
            candidates,
            min_skill=request.min_skill,
            tags=request.tags,
            min_context=prompt_tokens,
            price=prices.reference,
        )
    except NotFoundError as exc:
        raise ValidationError(exc.message, field="candidates") from None


def check_request(request: CompletionRequest) -> None:
    """Refuse a malformed request: routing, repeat index, messages and parameters."""
    if request.routing not in ROUTINGS:
        raise ValidationError(
            f"routing must be one of {', '.join(ROUTINGS)}, got {request.routing!r}",
            field="routing",
        )
    if request.repeat_index < 0:
        raise ValidationError(f"repeat_index must be >= 0, got {request.repeat_index}")
    if not request.messages or not all(isinstance(m, Mapping) for m in request.messages):
        raise ValidationError("messages must be a non-empty list of mappings", field="messages")
    check_params(request.params)


def plan(
    catalogue: Catalogue,
    primary: ModelSpec,
    fallback: FallbackPolicy | None,
    env: Mapping[str, str],
) -> Plan:
    """The models a call on ``primary`` may reach, every one checked; raises before any call.

    Args:
        catalogue: Models and accounts.
        primary: The model chosen by routing.
        fallback: A chain overriding the catalogue's for ``primary``.
        env: Where API keys are looked up.

    Raises:
        ValidationError: Unknown model or a chain that does not hold ``primary``.
        ConfigurationError: A model that may be called lacks its API key.
    """
    policy = fallback or catalogue.fallback_for(primary.name)
    if policy is not None and primary.name not in policy.chain:
        raise ValidationError(
            f"model {primary.name!r} is not in its fallback chain {list(policy.chain)}",
            field="fallback",
        )
    names = policy.chain[policy.chain.index(primary.name) :] if policy else (primary.name,)
    models = tuple(known_model(catalogue, name, "fallback model") for name in names)
    check_keys([catalogue.account_for(spec) for spec in models], env)
    return Plan(primary, policy, models)


def embedding_plan(
    catalogue: Catalogue,
    model: str,
    texts: Sequence[str],
    params: Mapping[str, Any],
    env: Mapping[str, str],
) -> Plan:
    """Validate an embeddings call; raises before any call like `plan`."""
    chosen = single_model_plan(catalogue, model, env)
    if not texts or isinstance(texts, str) or not all(isinstance(t, str) for t in texts):
        raise ValidationError("texts must be a non-empty list of strings", field="texts")
    check_params(params, embedding=True)
    return chosen


def moderation_plan(catalogue: Catalogue, model: str, text: str, env: Mapping[str, str]) -> Plan:
    """Validate a moderation call; raises before any call like `plan`."""
    chosen = single_model_plan(catalogue, model, env)
    if not isinstance(text, str):
        raise ValidationError(f"text must be a string, got {type(text).__name__}", field="text")
    return chosen


def single_model_plan(catalogue: Catalogue, model: str, env: Mapping[str, str]) -> Plan:
    """The plan of a call without fallback (embeddings, moderation) on the catalogue's
    ``model``, whose key must be set."""
    spec = known_model(catalogue, model)
    check_keys([catalogue.account_for(spec)], env)
    return Plan(spec, None, (spec,))
