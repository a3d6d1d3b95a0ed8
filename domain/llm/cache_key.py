"""The response-cache key: a hash of exactly what decides a model's answer.

Two requests share a key iff they send the same model, messages and answer-shaping
parameters for the same repeat. Left out on purpose:

* credentials and endpoints (``api_key``, ``api_base``...): the model name is the identity,
  and a key must never depend on, or leak, a secret;
* transport and bookkeeping (timeouts, retries, ``metadata``, ``user``, ``stream``...):
  they change how an answer travels, not what it says;
* parameters set to ``None``, which mean "provider default" just as absence does.

Any other parameter is kept, so an unknown new one causes a miss, never a wrong hit.
Numbers are normalised (``1`` and ``1.0`` hash alike) and keys sorted, so dict order and
integral floats do not matter. The repeat index keeps repeats of a sampled call distinct.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Mapping, Sequence
from typing import Any

from domain.errors import ValidationError

KEY_VERSION = 1
"""Bumped whenever the canonical form changes, so old entries simply stop matching."""

IGNORED_PARAMS = frozenset(
    {
        "api_key",
        "api_base",
        "base_url",
        "api_version",
        "organization",
        "extra_headers",
        "headers",
        "timeout",
        "request_timeout",
        "num_retries",
        "max_retries",
        "metadata",
        "user",
        "stream",
        "stream_options",
        "caching",
        "no-log",
    }
)
"""Parameters that never change the answer and are left out of the key."""


def _canonical(value: Any, where: str) -> Any:
    if value is None or isinstance(value, bool | str):
        return value
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValidationError(f"{where}: non-finite number {value!r} in a cache key")
        return int(value) if value.is_integer() else value
    if isinstance(value, Mapping):
        return {str(k): _canonical(v, f"{where}.{k}") for k, v in value.items()}
    if isinstance(value, Sequence) and not isinstance(value, bytes | bytearray):
        return [_canonical(v, f"{where}[{i}]") for i, v in enumerate(value)]
    raise ValidationError(f"{where}: {type(value).__name__} cannot be part of a cache key")


def cache_key(
    model: str,
    messages: Sequence[Mapping[str, Any]],
    params: Mapping[str, Any],
    repeat_index: int,
) -> str:
    """SHA-256 hex digest of the canonical JSON of one request.

    Args:
        model: LiteLLM model name, e.g. ``openai/sim-small``.
        messages: Chat messages as sent.
        params: Call parameters (``temperature``, ``max_tokens``...); see `IGNORED_PARAMS`.
        repeat_index: Which repeat of the same request this is (0-based).

    Examples:
        >>> a = cache_key("openai/m", [{"role": "user", "content": "hi"}], {"temperature": 0}, 0)
        >>> a == cache_key("openai/m", [{"content": "hi", "role": "user"}], {"temperature": 0.0}, 0)
        True
    """
    if repeat_index < 0:
        raise ValidationError(f"repeat_index must be >= 0, got {repeat_index}")
    kept = {k: v for k, v in params.items() if k not in IGNORED_PARAMS and v is not None}
    document = {
        "v": KEY_VERSION,
        "model": model,
        "messages": _canonical(messages, "messages"),
        "params": _canonical(kept, "params"),
        "repeat": repeat_index,
    }
    text = json.dumps(document, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()
