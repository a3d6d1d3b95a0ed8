"""Parsing and validating OpenAI request bodies into small frozen specs."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from engine.simulator._embeddings import DIMENSIONS
from engine.simulator._models import (
    EMBEDDING_MODEL,
    MODERATION_MODEL,
    SIMULATED_MODELS,
    ModelProfile,
)
from engine.simulator._reply import text_of

DEFAULT_MAX_TOKENS = 256
"""Completion tokens assumed by the TPM limiter when a request sets no ``max_tokens``."""
_INVALID = "invalid_request_error"


class BadRequest(Exception):
    """A request the OpenAI API would answer with a 4xx error body."""

    def __init__(self, status: int, message: str, code: str | None = None) -> None:
        super().__init__(message)
        self.status, self.type, self.code = status, _INVALID, code


def estimate_tokens(text: str) -> int:
    """The simulator's token estimate: one token per four characters, plus one."""
    return len(text) // 4 + 1


def parse_body(raw: bytes) -> dict[str, Any]:
    """Decode a JSON object body."""
    try:
        body = json.loads(raw)
    except ValueError as exc:
        raise BadRequest(400, f"Invalid JSON body: {exc}") from exc
    if not isinstance(body, dict):
        raise BadRequest(400, "The body must be a JSON object")
    return body


@dataclass(frozen=True)
class ChatRequest:
    """A validated ``/v1/chat/completions`` request."""

    profile: ModelProfile
    messages: list[Mapping[str, Any]]
    n: int
    max_tokens: int | None
    temperature: float | None
    seed: int | None
    stream: bool
    include_usage: bool
    prompt_tokens: int
    logprobs: bool = False

    @property
    def token_budget(self) -> int:
        """Tokens charged to the TPM window: prompt plus ``max_tokens`` (or 256) per choice."""
        return self.prompt_tokens + (self.max_tokens or DEFAULT_MAX_TOKENS) * self.n


def parse_chat(body: dict[str, Any]) -> ChatRequest:
    """Validate a chat body like the OpenAI API would (404 for unknown models)."""
    model, messages = body.get("model"), body.get("messages")
    if not isinstance(messages, list) or not messages:
        raise BadRequest(400, "'messages' must be a non-empty list", "invalid_messages")
    if not all(isinstance(m, dict) for m in messages):
        raise BadRequest(400, "every message must be an object", "invalid_messages")
    profile = SIMULATED_MODELS.get(model) if isinstance(model, str) else None
    if profile is None:
        known = ", ".join(SIMULATED_MODELS)
        raise BadRequest(404, f"The model `{model}` does not exist ({known})", "model_not_found")
    n = body.get("n") or 1
    if not isinstance(n, int) or not 1 <= n <= 16:
        raise BadRequest(400, "'n' must be an integer in [1, 16]")
    max_tokens = body.get("max_completion_tokens") or body.get("max_tokens")
    if max_tokens is not None and (not isinstance(max_tokens, int) or max_tokens < 1):
        raise BadRequest(400, "'max_tokens' must be a positive integer")
    temperature = body.get("temperature")
    if temperature is not None and (
        isinstance(temperature, bool) or not isinstance(temperature, int | float)
    ):
        raise BadRequest(400, "'temperature' must be a number")
    seed = body.get("seed")
    prompt_tokens = estimate_tokens("".join(text_of(m.get("content")) for m in messages))
    if prompt_tokens > profile.context_window:
        raise BadRequest(
            400,
            f"This model's maximum context length is {profile.context_window} tokens; "
            f"the messages hold {prompt_tokens}.",
            "context_length_exceeded",
        )
    options = body.get("stream_options") or {}
    return ChatRequest(
        profile=profile,
        messages=messages,
        n=n,
        max_tokens=max_tokens,
        temperature=temperature,
        seed=seed if isinstance(seed, int) else None,
        stream=bool(body.get("stream")),
        include_usage=isinstance(options, dict) and bool(options.get("include_usage")),
        prompt_tokens=prompt_tokens,
        logprobs=body.get("logprobs") is True,
    )


@dataclass(frozen=True)
class EmbeddingsRequest:
    """A validated ``/v1/embeddings`` request."""

    model: str
    texts: list[str]
    dimensions: int
    base64: bool
    tokens: int


def parse_embeddings(body: dict[str, Any]) -> EmbeddingsRequest:
    """Accept a string, a list of strings, or token-id lists (embedded as their digits)."""
    raw = body.get("input")
    items = raw if isinstance(raw, list) and raw and not isinstance(raw[0], int) else [raw]
    if raw is None or raw == [] or not all(isinstance(x, str | list) for x in items):
        raise BadRequest(400, "'input' must be a string or a list of strings")
    texts = [x if isinstance(x, str) else " ".join(str(t) for t in x or ()) for x in items]
    dimensions = body.get("dimensions") or DIMENSIONS
    if not isinstance(dimensions, int) or not 1 <= dimensions <= 4096:
        raise BadRequest(400, "'dimensions' must be an integer in [1, 4096]")
    return EmbeddingsRequest(
        model=str(body.get("model") or EMBEDDING_MODEL),
        texts=texts,
        dimensions=dimensions,
        base64=body.get("encoding_format") == "base64",
        tokens=sum(estimate_tokens(t) for t in texts),
    )


@dataclass(frozen=True)
class ModerationRequest:
    """A validated ``/v1/moderations`` request."""

    model: str
    texts: list[str]
    tokens: int


def parse_moderations(body: dict[str, Any]) -> ModerationRequest:
    """Accept a string or a non-empty list of strings, as OpenAI does."""
    raw = body.get("input")
    items: list[Any] = raw if isinstance(raw, list) else [raw]
    if not items or not all(isinstance(t, str) for t in items):
        raise BadRequest(400, "'input' must be a string or a list of strings")
    texts = [str(t) for t in items]
    return ModerationRequest(
        model=str(body.get("model") or MODERATION_MODEL),
        texts=texts,
        tokens=sum(estimate_tokens(t) for t in texts),
    )
