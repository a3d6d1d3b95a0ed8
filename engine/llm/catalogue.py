"""Where catalogues come from: a YAML/JSON file, the built-in default, or a simulator.

The document format is `domain.llm.Catalogue.from_dict`'s::

    accounts:
      - {name: openai, provider: openai, rpm: 500, tpm: 200000, max_concurrency: 32}
    models:
      - {name: openai/gpt-4o-mini, account: openai}   # prices from LiteLLM's cost map
    fallbacks:
      - {chain: [openai/gpt-4o-mini, openai/gpt-4o], after_attempts: 2}
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from domain.errors import ConfigurationError
from domain.llm import Catalogue, FallbackPolicy, ModelSpec, ProviderAccount, RetryPolicy

SIMULATOR_ACCOUNT = "simulator"
UNLIMITED_RPM = 60_000_000
"""RPM given to a simulator account that sets no limit (the simulator then has none).

A million requests a second: far beyond what one machine sends, so the limiter never binds.
It was 60,000 (1,000/s), which capped every benchmark at ~1,000 cells/s and was mistaken for
a CPU limit."""

_REAL_ACCOUNTS = (
    ProviderAccount("openai", "openai", rpm=500, tpm=200_000, max_concurrency=32),
    ProviderAccount("anthropic", "anthropic", rpm=50, tpm=40_000, max_concurrency=8),
)
# Prices left to LiteLLM's cost map; skill is a rough ranking for routing.
_REAL_MODELS = (
    ModelSpec("openai/gpt-4o-mini", "openai", context_window=128_000, skill=0.75),
    ModelSpec("openai/gpt-4o", "openai", context_window=128_000, skill=0.9),
    ModelSpec("openai/text-embedding-3-small", "openai", tags=frozenset({"embedding"})),
    ModelSpec("openai/omni-moderation-latest", "openai", tags=frozenset({"moderation"})),
    ModelSpec("anthropic/claude-haiku-4-5", "anthropic", context_window=200_000, skill=0.8),
    ModelSpec("anthropic/claude-sonnet-4-5", "anthropic", context_window=200_000, skill=0.95),
)


def simulator_models(account: str = SIMULATOR_ACCOUNT) -> tuple[ModelSpec, ...]:
    """The simulated chat models, ``openai/sim-embed`` and ``openai/sim-moderation``, priced
    like the simulator."""
    from engine.simulator import SIMULATED_MODELS
    from engine.simulator._models import (
        EMBEDDING_COST_PER_TOKEN,
        EMBEDDING_MODEL,
        MODERATION_MODEL,
    )

    chat = tuple(
        ModelSpec(
            f"openai/{p.name}",
            account,
            input_cost_per_token=p.input_cost_per_token,
            output_cost_per_token=p.output_cost_per_token,
            context_window=p.context_window,
            skill=p.skill,
        )
        for p in SIMULATED_MODELS.values()
    )
    embedding = ModelSpec(
        f"openai/{EMBEDDING_MODEL}",
        account,
        input_cost_per_token=EMBEDDING_COST_PER_TOKEN,
        output_cost_per_token=0.0,
        tags=frozenset({"embedding"}),
    )
    moderation = ModelSpec(
        f"openai/{MODERATION_MODEL}",
        account,
        input_cost_per_token=0.0,
        output_cost_per_token=0.0,
        tags=frozenset({"moderation"}),
    )
    return (*chat, embedding, moderation)


def simulator_account(
    api_base: str,
    *,
    name: str = SIMULATOR_ACCOUNT,
    rpm: int | None = None,
    tpm: int | None = None,
    max_concurrency: int = 64,
    timeout_s: float = 30.0,
    retry: RetryPolicy | None = None,
) -> ProviderAccount:
    """An account on a simulator (or any OpenAI-compatible server that needs no key)."""
    return ProviderAccount(
        name,
        "openai",
        rpm=UNLIMITED_RPM if rpm is None else rpm,
        tpm=tpm,
        max_concurrency=max_concurrency,
        timeout_s=timeout_s,
        retry=retry or RetryPolicy(),
        api_base=api_base,
        requires_api_key=False,
    )


def simulator_catalogue(
    api_base: str,
    rpm: int | None = None,
    tpm: int | None = None,
    *,
    name: str = SIMULATOR_ACCOUNT,
    max_concurrency: int = 64,
    timeout_s: float = 30.0,
    retry: RetryPolicy | None = None,
    fallbacks: tuple[FallbackPolicy, ...] = (),
) -> Catalogue:
    """A catalogue of one simulator account and every simulated model.

    Args:
        api_base: The simulator's ``/v1`` URL (``Simulator.api_base``).
        rpm: The account's requests per minute (match the simulator's; ``None``: unlimited).
        tpm: Tokens per minute; ``None`` for no token limit.
        name: Account name (and so the gateway's); give concurrent setups distinct names.
        max_concurrency: Requests in flight at once.
        timeout_s: Timeout of one request.
        retry: Retry policy; the default retries 3 times from 0.5 s.
        fallbacks: Fallback chains among ``openai/sim-*``.

    Examples:
        >>> cat = simulator_catalogue("http://127.0.0.1:8100/v1", rpm=1200)
        >>> cat.account_for("openai/sim-small").rpm
        1200
    """
    account = simulator_account(
        api_base,
        name=name,
        rpm=rpm,
        tpm=tpm,
        max_concurrency=max_concurrency,
        timeout_s=timeout_s,
        retry=retry,
    )
    return Catalogue((account,), simulator_models(name), fallbacks)


def default_catalogue(simulator_api_base: str | None = None) -> Catalogue:
    """Well-known real models (keys from ``OPENAI_API_KEY``, ``ANTHROPIC_API_KEY``), plus the
    simulator's when ``simulator_api_base`` is given.

    A real model can be listed without its key; calling it raises `ConfigurationError`.
    """
    real = Catalogue(_REAL_ACCOUNTS, _REAL_MODELS)
    return with_simulator(real, simulator_api_base) if simulator_api_base else real


def with_simulator(catalogue: Catalogue, api_base: str) -> Catalogue:
    """``catalogue`` with the simulator's account and its ``openai/sim-*`` models added.

    Raises:
        ValidationError: ``catalogue`` already has an account or model of that name.
    """
    return Catalogue(
        (simulator_account(api_base), *catalogue.accounts),
        (*simulator_models(), *catalogue.models),
        catalogue.fallbacks,
    )


def _read(path: Path) -> Any:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigurationError(f"cannot read catalogue {path}: {exc.strerror}") from None
    import yaml

    try:
        if path.suffix.lower() == ".json":
            return json.loads(text)
        return yaml.safe_load(text)
    except (ValueError, yaml.YAMLError) as exc:
        raise ConfigurationError(f"catalogue {path} is not valid: {exc}") from None


def load_catalogue(path: str | Path | None = None) -> Catalogue:
    """Read and validate a catalogue file (``.yaml``, ``.yml`` or ``.json``).

    Args:
        path: The file; ``None`` gives `default_catalogue()`.

    Raises:
        ConfigurationError: The file cannot be read or parsed.
        ValidationError: The document is invalid, naming the field
            (``accounts[0].rpm: must be > 0, got -5``).
    """
    if path is None:
        return default_catalogue()
    return Catalogue.from_dict(_read(Path(path)) or {})
