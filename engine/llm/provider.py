"""The only module that calls LiteLLM: one request in, plain data (or its exception) out.

LiteLLM is imported on first use (~2.5 s, ~200 MB): only processes that call models pay.
"""

from __future__ import annotations

import os
import weakref
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from domain.llm import ModelSpec, ProviderAccount, ToolCall, Usage
from engine.llm import openai_http
from engine.llm.failures import plain_headers

_configured = False
NO_KEY = "unused"
"""Sent to local servers that need no key (the OpenAI SDK refuses an empty one)."""


def litellm_module() -> Any:
    """LiteLLM, imported and configured once (quiet: no debug banners on stdout)."""
    global _configured
    # Without it, importing LiteLLM fetches its cost map over the network.
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    import litellm

    if not _configured:
        litellm.suppress_debug_info = True
        litellm.telemetry = False
        _configured = True
    return litellm


def register_prices(specs: Iterable[ModelSpec], mode: str = "chat") -> None:
    """Teach LiteLLM the catalogue's own prices, so its cost figures agree with ours."""
    entries = {
        spec.name: {
            "input_cost_per_token": spec.input_cost_per_token,
            "output_cost_per_token": spec.output_cost_per_token,
            "cache_creation_input_token_cost": 0.0,
            "cache_read_input_token_cost": 0.0,
            "litellm_provider": spec.provider,
            "mode": _mode(spec, mode),
            **({"max_input_tokens": spec.context_window} if spec.context_window else {}),
        }
        for spec in specs
        if spec.input_cost_per_token is not None and spec.output_cost_per_token is not None
    }
    if entries:
        litellm_module().register_model(entries)


def _mode(spec: ModelSpec, chat: str) -> str:
    return next((tag for tag in ("embedding", "moderation") if tag in spec.tags), chat)


async def warm_up(spec: ModelSpec, account: ProviderAccount) -> None:
    """Pay LiteLLM's one-time lazy set-up (~0.3 s) with a mocked call: no network, no cost.

    Done before the first permit is taken, so a permit is never held through it (a permit
    spent late lets the provider's window see more requests than the gateway granted).
    """
    if openai_http.applies_to(account):
        return
    await litellm_module().acompletion(
        model=spec.name,
        messages=[{"role": "user", "content": "warm-up"}],
        mock_response="ok",
        **_endpoint(account, None),
    )


@dataclass(frozen=True)
class Answer:
    """A provider's successful answer, as plain data."""

    usage: Usage
    content: str | None = None
    finish_reason: str | None = None
    logprobs: tuple[float, ...] | None = None
    """Log-probability of each answer token, when the request asked for ``logprobs``."""
    tool_calls: tuple[ToolCall, ...] = ()
    vectors: list[list[float]] = field(default_factory=list)
    flagged: bool = False
    categories: dict[str, bool] = field(default_factory=dict)
    category_scores: dict[str, float] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)


def _usage(raw: Any) -> Usage:
    prompt = getattr(raw, "prompt_tokens", None) or 0
    completion = getattr(raw, "completion_tokens", None) or 0
    return Usage(int(prompt), int(completion))


def _headers(response: Any) -> dict[str, str]:
    hidden = getattr(response, "_hidden_params", None) or {}
    return plain_headers(hidden.get("additional_headers"))


def _endpoint(account: ProviderAccount, api_key: str | None) -> dict[str, Any]:
    endpoint: dict[str, Any] = {"api_key": api_key or NO_KEY, "timeout": account.timeout_s}
    if account.api_base:
        endpoint["api_base"] = account.api_base
    return endpoint


async def complete(
    spec: ModelSpec,
    account: ProviderAccount,
    api_key: str | None,
    messages: Sequence[Mapping[str, Any]],
    params: Mapping[str, Any],
    on_delta: openai_http.Deltas | None = None,
) -> Answer:
    """One chat completion request, no retries (the client retries, with permits); with
    ``on_delta`` the answer is streamed and each piece of text handed to it on arrival."""
    if openai_http.applies_to(account):
        body = openai_http.chat_body(spec.name, messages, params)
        if on_delta is None:
            data, headers = await openai_http.post(account, api_key, "/chat/completions", body)
        else:
            data, headers = await openai_http.stream_chat(account, api_key, body, on_delta)
        choice = data["choices"][0]
        usage = data.get("usage") or {}
        message = choice.get("message") or {}
        return Answer(
            usage=Usage(
                int(usage.get("prompt_tokens") or 0), int(usage.get("completion_tokens") or 0)
            ),
            content=message.get("content"),
            finish_reason=choice.get("finish_reason"),
            logprobs=_logprobs(choice.get("logprobs")),
            tool_calls=tool_calls_of(message.get("tool_calls")),
            headers=headers,
        )
    litellm = litellm_module()
    if on_delta is not None:
        return await _litellm_streamed(litellm, spec, account, api_key, messages, params, on_delta)
    response = await litellm.acompletion(
        model=spec.name,
        messages=list(messages),
        num_retries=0,
        **_endpoint(account, api_key),
        **params,
    )
    choice = response.choices[0]
    return Answer(
        usage=_usage(getattr(response, "usage", None)),
        content=getattr(choice.message, "content", None),
        finish_reason=getattr(choice, "finish_reason", None),
        logprobs=_logprobs(getattr(choice, "logprobs", None)),
        tool_calls=tool_calls_of(getattr(choice.message, "tool_calls", None)),
        headers=_headers(response),
    )


async def _litellm_streamed(
    litellm: Any,
    spec: ModelSpec,
    account: ProviderAccount,
    api_key: str | None,
    messages: Sequence[Mapping[str, Any]],
    params: Mapping[str, Any],
    on_delta: openai_http.Deltas,
) -> Answer:
    stream = await litellm.acompletion(
        model=spec.name,
        messages=list(messages),
        num_retries=0,
        stream=True,
        stream_options={"include_usage": True},
        **_endpoint(account, api_key),
        **params,
    )
    parts: list[str] = []
    calls = openai_http.ToolCallParts()
    usage: Any = None
    finish_reason = None
    async for chunk in stream:
        usage = getattr(chunk, "usage", None) or usage
        if not chunk.choices:
            continue
        choice = chunk.choices[0]
        finish_reason = getattr(choice, "finish_reason", None) or finish_reason
        calls.take(getattr(choice.delta, "tool_calls", None))
        text = getattr(choice.delta, "content", None)
        if text:
            parts.append(text)
            await on_delta(text)
    return Answer(
        usage=_usage(usage),
        content="".join(parts),
        finish_reason=finish_reason,
        tool_calls=tool_calls_of(calls.whole()),
    )


def _field(item: Any, name: str) -> Any:
    return item.get(name) if isinstance(item, Mapping) else getattr(item, name, None)


def tool_calls_of(raw: Any) -> tuple[ToolCall, ...]:
    """The ``message.tool_calls`` of a choice (dicts, or LiteLLM's objects) as plain
    `ToolCall`s: LiteLLM's objects stay in this process."""
    if not raw:
        return ()
    calls = []
    for item in raw:
        function = _field(item, "function")
        name = _field(function, "name") if function is not None else None
        arguments = _field(function, "arguments") if function is not None else None
        calls.append(ToolCall.of(_field(item, "id"), name, arguments))
    return tuple(calls)


def _logprobs(raw: Any) -> tuple[float, ...] | None:
    """The token log-probabilities of a choice's ``logprobs`` (a dict or LiteLLM's object)."""
    if raw is None:
        return None
    tokens = raw.get("content") if isinstance(raw, Mapping) else getattr(raw, "content", None)
    if tokens is None:
        return None
    return tuple(float(t["logprob"] if isinstance(t, Mapping) else t.logprob) for t in tokens)


async def embed(
    spec: ModelSpec,
    account: ProviderAccount,
    api_key: str | None,
    texts: Sequence[str],
    params: Mapping[str, Any],
) -> Answer:
    """One embeddings request, no retries."""
    litellm = litellm_module()
    response = await litellm.aembedding(
        model=spec.name, input=list(texts), num_retries=0, **_endpoint(account, api_key), **params
    )
    items = sorted(response.data, key=lambda d: d["index"] if isinstance(d, dict) else d.index)
    vectors = [
        list(item["embedding"] if isinstance(item, dict) else item.embedding) for item in items
    ]
    return Answer(usage=_usage(response.usage), vectors=vectors, headers=_headers(response))


async def moderate(
    spec: ModelSpec, account: ProviderAccount, api_key: str | None, text: str
) -> Answer:
    """One moderation request, no retries; moderation reports no token usage (it is free)."""
    litellm = litellm_module()
    response = await litellm.amoderation(
        input=text, model=spec.name, client=_openai_client(account, api_key)
    )
    verdict = response.results[0]
    return Answer(
        usage=Usage(),
        flagged=bool(verdict.flagged),
        categories={k: bool(v) for k, v in _by_wire_name(verdict.categories).items()},
        category_scores={k: float(v) for k, v in _by_wire_name(verdict.category_scores).items()},
        headers=_headers(response),
    )


# Per event loop, so a client never outlives its loop (nor a new loop reuses its id).
_clients: weakref.WeakKeyDictionary[Any, dict[tuple[str | None, str, float], Any]] = (
    weakref.WeakKeyDictionary()
)
# The API's category names; LiteLLM hands the OpenAI SDK's field names (``self_harm``) too.
_WIRE_NAMES = {
    name.replace("-", "_").replace("/", "_"): name
    for name in (
        "harassment", "harassment/threatening", "hate", "hate/threatening", "illicit",
        "illicit/violent", "self-harm", "self-harm/intent", "self-harm/instructions", "sexual",
        "sexual/minors", "violence", "violence/graphic",
    )
}  # fmt: skip


def _openai_client(account: ProviderAccount, api_key: str | None) -> Any:
    """An OpenAI SDK client of ``account`` for this event loop, built once.

    `litellm.amoderation` builds its own otherwise, with no timeout and two retries of its
    own that no permit covers; an explicit client is the only way to set either.
    """
    import asyncio

    clients = _clients.setdefault(asyncio.get_running_loop(), {})
    key = (account.api_base, api_key or NO_KEY, account.timeout_s)
    client = clients.get(key)
    if client is None:
        from openai import AsyncOpenAI

        client = clients[key] = AsyncOpenAI(
            api_key=api_key or NO_KEY,
            base_url=account.api_base,
            timeout=account.timeout_s,
            max_retries=0,
        )
    return client


async def close_clients() -> None:
    """Close this event loop's OpenAI SDK clients (their connections)."""
    import asyncio

    for client in _clients.pop(asyncio.get_running_loop(), {}).values():
        await client.close()


def _by_wire_name(raw: Any) -> dict[str, Any]:
    """Categories under the API's names (``self-harm``, ``violence/graphic``), unset ones
    (None) left out."""
    data = raw.model_dump() if hasattr(raw, "model_dump") else dict(raw or {})
    return {_WIRE_NAMES.get(k, k): v for k, v in data.items() if v is not None}
