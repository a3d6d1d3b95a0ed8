"""Value objects of the catalogue: retry and fallback policies, accounts, models."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from domain.llm._fields import field_error

_ACCOUNT_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.:-]*")
_PROVIDER = re.compile(r"[a-z0-9][a-z0-9_-]*")
_MODEL_NAME = re.compile(r"([a-z0-9][a-z0-9_-]*)/\S+")
_ENV_VAR = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


# Comparisons are written so that NaN fails them too.
def _positive(name: str, value: float | None) -> None:
    if value is not None and not value > 0:
        raise field_error(name, f"must be > 0, got {value}")


def _non_negative(name: str, value: float | None) -> None:
    if value is not None and not value >= 0:
        raise field_error(name, f"must be >= 0, got {value}")


def _matches(name: str, pattern: re.Pattern[str], value: str, what: str) -> None:
    if not pattern.fullmatch(value):
        raise field_error(name, f"must be {what}, got {value!r}")


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how patiently one call is retried on a retryable failure.

    Args:
        max_attempts: Attempts in total, the first included (1 = never retry).
        base_delay_s: Delay before the second attempt; doubles per attempt.
        max_delay_s: Cap on the exponential delay (a provider's ``Retry-After`` may exceed it).
        jitter: Fraction in [0, 1] by which a delay is randomly shortened.
    """

    max_attempts: int = 4
    base_delay_s: float = 0.5
    max_delay_s: float = 30.0
    jitter: float = 0.25

    def __post_init__(self) -> None:
        _positive("max_attempts", self.max_attempts)
        _non_negative("base_delay_s", self.base_delay_s)
        if not self.max_delay_s >= self.base_delay_s:
            raise field_error("max_delay_s", f"must be >= base_delay_s, got {self.max_delay_s}")
        if not 0.0 <= self.jitter <= 1.0:
            raise field_error("jitter", f"must be within [0, 1], got {self.jitter}")


@dataclass(frozen=True)
class ProviderAccount:
    """One account at a provider; its limits hold globally, across runs, users and nodes.

    Args:
        name: Unique account name (also names its gateway actor), e.g. ``openai-main``.
        provider: LiteLLM provider prefix, e.g. ``openai`` or ``anthropic``.
        rpm: Requests per minute the provider allows.
        tpm: Tokens per minute the provider allows; ``None`` when it sets no token limit.
        max_concurrency: Requests in flight at once.
        timeout_s: Timeout of one request.
        retry: Retry policy for calls on this account.
        api_base: Endpoint for OpenAI-compatible or self-hosted servers.
        api_key_env: Name of the environment variable holding the key, never the key itself.
        requires_api_key: False for servers that need no key (self-hosted, the simulator):
            they are sent none, unless ``api_key_env`` names a variable for this account.
    """

    name: str
    provider: str
    rpm: int
    tpm: int | None = None
    max_concurrency: int = 32
    timeout_s: float = 60.0
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    api_base: str | None = None
    api_key_env: str | None = None
    requires_api_key: bool = True

    def __post_init__(self) -> None:
        _matches("name", _ACCOUNT_NAME, self.name, "made of letters, digits and _.:-")
        _matches("provider", _PROVIDER, self.provider, "a LiteLLM provider such as 'openai'")
        _positive("rpm", self.rpm)
        _positive("tpm", self.tpm)
        _positive("max_concurrency", self.max_concurrency)
        _positive("timeout_s", self.timeout_s)
        if self.api_base is not None and not self.api_base.startswith(("http://", "https://")):
            raise field_error("api_base", f"must be an http(s) URL, got {self.api_base!r}")
        if self.api_key_env is not None and not _ENV_VAR.fullmatch(self.api_key_env):
            raise field_error("api_key_env", "must be an environment variable name, not a key")

    @property
    def key_env_var(self) -> str:
        """The variable holding the key: ``api_key_env`` or LiteLLM's ``<PROVIDER>_API_KEY``."""
        return self.api_key_env or f"{self.provider.upper().replace('-', '_')}_API_KEY"


NOT_CHAT_TAGS = frozenset({"embedding", "moderation"})
"""Tags of models that answer no chat completion."""


@dataclass(frozen=True)
class ModelSpec:
    """One callable model.

    Args:
        name: LiteLLM model name, ``provider/model`` (e.g. ``openai/sim-small``).
        account: Name of the `ProviderAccount` that serves it.
        input_cost_per_token: USD per prompt token; ``None`` defers to LiteLLM's cost map.
        output_cost_per_token: USD per completion token; ``None`` defers likewise.
        context_window: Largest prompt in tokens; ``None`` when unknown.
        skill: Relative quality in [0, 1] used by routing; ``None`` when unknown.
        tags: Free labels routing can require (``{"json", "vision"}``); ``embedding`` and
            ``moderation`` mark models that do not chat (`NOT_CHAT_TAGS`).
    """

    name: str
    account: str
    input_cost_per_token: float | None = None
    output_cost_per_token: float | None = None
    context_window: int | None = None
    skill: float | None = None
    tags: frozenset[str] = frozenset()

    def __post_init__(self) -> None:
        object.__setattr__(self, "tags", frozenset(self.tags))
        _matches("name", _MODEL_NAME, self.name, "'provider/model'")
        _matches("account", _ACCOUNT_NAME, self.account, "an account name")
        _non_negative("input_cost_per_token", self.input_cost_per_token)
        _non_negative("output_cost_per_token", self.output_cost_per_token)
        _positive("context_window", self.context_window)
        if self.skill is not None and not 0.0 <= self.skill <= 1.0:
            raise field_error("skill", f"must be within [0, 1], got {self.skill}")

    @property
    def provider(self) -> str:
        """The LiteLLM provider prefix of ``name``."""
        return self.name.split("/", 1)[0]

    @property
    def chats(self) -> bool:
        """False for embedding and moderation models: routing never picks them for a chat."""
        return not self.tags & NOT_CHAT_TAGS


@dataclass(frozen=True)
class FallbackPolicy:
    """Models to walk through when one keeps failing.

    Args:
        chain: Model names in order of preference; the first is the primary.
        after_attempts: Failed attempts on a model before moving to the next one.
    """

    chain: tuple[str, ...]
    after_attempts: int = 2

    def __post_init__(self) -> None:
        object.__setattr__(self, "chain", tuple(self.chain))
        if len(self.chain) < 2:
            raise field_error("chain", f"must name at least 2 models, got {len(self.chain)}")
        for i, name in enumerate(self.chain):
            if name in self.chain[:i]:
                raise field_error(f"chain[{i}]", f"duplicate model {name!r}")
        _positive("after_attempts", self.after_attempts)

    @property
    def primary(self) -> str:
        """The preferred model, which this policy applies to."""
        return self.chain[0]
