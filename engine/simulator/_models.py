"""Profiles of the simulated models and their registration with LiteLLM."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class ModelProfile:
    """One simulated chat model.

    Args:
        name: Model id as sent in requests (``sim-small``); LiteLLM calls it ``openai/sim-small``.
        skill: Probability of answering a recognised task correctly, before prompt bonuses.
        latency_factor: Multiplier applied to the configured ``latency_ms``.
        input_cost_per_token: USD per prompt token.
        output_cost_per_token: USD per completion token.
        context_window: Largest prompt (estimated tokens) accepted.
    """

    name: str
    skill: float
    latency_factor: float
    input_cost_per_token: float
    output_cost_per_token: float
    context_window: int


SIMULATED_MODELS: dict[str, ModelProfile] = {
    p.name: p
    for p in (
        ModelProfile("sim-small", 0.60, 0.5, 0.15e-6, 0.60e-6, 16_384),
        ModelProfile("sim-medium", 0.80, 1.0, 1.00e-6, 4.00e-6, 32_768),
        ModelProfile("sim-large", 0.95, 2.0, 5.00e-6, 15.00e-6, 128_000),
        ModelProfile("sim-judge", 0.90, 1.0, 0.50e-6, 1.50e-6, 32_768),
        # Skill 0: it solves no task, so routing by skill never picks it for one.
        ModelProfile("sim-reflector", 0.0, 0.5, 0.15e-6, 0.60e-6, 32_768),
    )
}
"""Every simulated chat model by name."""

REFLECTOR = "sim-reflector"
"""The model that answers reflection requests with prompt edits (``_reflector``)."""

EMBEDDING_MODEL = "sim-embed"
"""Name listed for ``/v1/embeddings``; the endpoint accepts any model name."""
EMBEDDING_COST_PER_TOKEN = 0.02e-6
MODERATION_MODEL = "sim-moderation"
"""Name listed for ``/v1/moderations`` (free, like OpenAI's); the endpoint accepts any name."""
MAX_OUTPUT_TOKENS = 4096


def litellm_model_entries() -> dict[str, dict[str, Any]]:
    """Return the LiteLLM cost-map entries for every simulated model.

    Each model is listed both bare and with the ``openai/`` prefix, since LiteLLM looks
    cost up under either depending on the call path.
    """
    entries: dict[str, dict[str, Any]] = {}
    for p in SIMULATED_MODELS.values():
        entry = {
            "max_tokens": MAX_OUTPUT_TOKENS,
            "max_input_tokens": p.context_window,
            "max_output_tokens": MAX_OUTPUT_TOKENS,
            "input_cost_per_token": p.input_cost_per_token,
            "output_cost_per_token": p.output_cost_per_token,
            "cache_creation_input_token_cost": 0.0,
            "cache_read_input_token_cost": 0.0,
            "litellm_provider": "openai",
            "mode": "chat",
        }
        entries[p.name] = entry
        entries[f"openai/{p.name}"] = dict(entry)
    embed = {
        "max_tokens": 8191,
        "max_input_tokens": 8191,
        "input_cost_per_token": EMBEDDING_COST_PER_TOKEN,
        "output_cost_per_token": 0.0,
        "cache_creation_input_token_cost": 0.0,
        "cache_read_input_token_cost": 0.0,
        "litellm_provider": "openai",
        "mode": "embedding",
    }
    entries[EMBEDDING_MODEL] = embed
    entries[f"openai/{EMBEDDING_MODEL}"] = dict(embed)
    moderation = {**embed, "input_cost_per_token": 0.0, "mode": "moderation"}
    entries[MODERATION_MODEL] = moderation
    entries[f"openai/{MODERATION_MODEL}"] = dict(moderation)
    return entries


def register_with_litellm() -> None:
    """Teach LiteLLM the prices of the simulated models so ``completion_cost`` is not None.

    Imports LiteLLM (slow); set ``LITELLM_LOCAL_MODEL_COST_MAP=True`` beforehand.
    Safe to call more than once.

    Examples:
        >>> register_with_litellm()  # doctest: +SKIP
        >>> litellm.completion_cost(completion_response=response)  # doctest: +SKIP
        1.2e-05
    """
    import litellm

    # Naming the provider keeps LiteLLM from printing "Provider List" for the bare names.
    litellm.register_model(litellm_model_entries(), custom_llm_provider="openai")
