"""A lean HTTP path for OpenAI-compatible servers (vLLM, Ollama, LM Studio, the simulator).

LiteLLM costs about 3–4 ms of CPU per call here, which caps one process at ~250 calls/s:
at 100 ms latency and concurrency 256 a run is CPU-bound at a tenth of the speed the
provider allows. For accounts that speak the OpenAI wire format at their own `api_base`
we post the JSON ourselves (~0.3 ms); every other provider still goes through LiteLLM.
Set `AUTOFORGE_LITELLM_ONLY=1` to route everything through LiteLLM.

Failures are raised as exceptions `engine.llm.failures` classifies like LiteLLM's: by HTTP
status, `TimeoutError`, or `ConnectionError`.
"""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any

from domain.llm import ProviderAccount

_sessions: dict[int, Any] = {}
# Parameters LiteLLM accepts that are not part of the wire format.
_LOCAL_ONLY = frozenset({"num_retries", "timeout", "api_key", "api_base", "drop_params"})


class ProviderHTTPError(Exception):
    """A non-2xx answer; `status_code` and headers drive the classification."""

    def __init__(self, status_code: int, message: str, headers: Mapping[str, str]) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.message = message
        self.litellm_response_headers = dict(headers)


class ProviderConnectionError(ConnectionError):
    """The server could not be reached or dropped the connection."""


def applies_to(account: ProviderAccount) -> bool:
    """Whether calls on `account` take this path instead of LiteLLM."""
    if os.environ.get("AUTOFORGE_LITELLM_ONLY", "").lower() in ("1", "true", "yes"):
        return False
    return account.provider == "openai" and bool(account.api_base)


def _session() -> Any:
    import aiohttp

    loop = asyncio.get_running_loop()
    session = _sessions.get(id(loop))
    if session is None or session.closed:
        connector = aiohttp.TCPConnector(limit=0, ttl_dns_cache=300)
        session = aiohttp.ClientSession(connector=connector, json_serialize=json.dumps)
        _sessions[id(loop)] = session
    return session


async def close_session() -> None:
    """Close this event loop's HTTP session (its connections), if it has one."""
    session = _sessions.pop(id(asyncio.get_running_loop()), None)
    if session is not None and not session.closed:
        await session.close()


async def post(
    account: ProviderAccount, api_key: str | None, path: str, body: dict[str, Any]
) -> tuple[dict[str, Any], dict[str, str]]:
    """POST `body` to `{api_base}{path}`; returns (JSON answer, lower-case headers)."""
    import aiohttp

    url, timeout = _target(str(account.api_base), path, account.timeout_s)
    headers = {"Authorization": f"Bearer {api_key}"} if api_key else None
    try:
        async with _session().post(url, json=body, headers=headers, timeout=timeout) as reply:
            raw = await reply.read()
            got = {k.lower(): v for k, v in reply.headers.items()}
            if reply.status >= 400:
                raise ProviderHTTPError(reply.status, _error_message(raw, reply.status), got)
            return json.loads(raw), got
    except TimeoutError:
        raise TimeoutError(f"no answer from {url} within {account.timeout_s} s") from None
    except aiohttp.ClientError as exc:
        raise ProviderConnectionError(f"Connection error: {exc}") from None


Deltas = Callable[[str | None], Awaitable[None]]
"""Hears each piece of a streamed answer's text; None: an attempt starts over (a retry)."""


async def stream_chat(
    account: ProviderAccount, api_key: str | None, body: dict[str, Any], on_delta: Deltas
) -> tuple[dict[str, Any], dict[str, str]]:
    """POST a chat completion with ``stream: true``, hand each text delta to ``on_delta``
    as it arrives, and return the whole answer shaped like a non-streamed one."""
    import aiohttp

    url, timeout = _target(str(account.api_base), "/chat/completions", account.timeout_s)
    headers = {"Authorization": f"Bearer {api_key}"} if api_key else None
    body = {**body, "stream": True, "stream_options": {"include_usage": True}}
    try:
        async with _session().post(url, json=body, headers=headers, timeout=timeout) as reply:
            got = {k.lower(): v for k, v in reply.headers.items()}
            if reply.status >= 400:
                raw = await reply.read()
                raise ProviderHTTPError(reply.status, _error_message(raw, reply.status), got)
            answer = _Streamed()
            async for line in reply.content:
                if line.startswith(b"data:"):
                    text = answer.take(line[5:].strip())
                    if text:
                        await on_delta(text)
            return answer.whole(), got
    except TimeoutError:
        raise TimeoutError(f"no answer from {url} within {account.timeout_s} s") from None
    except aiohttp.ClientError as exc:
        raise ProviderConnectionError(f"Connection error: {exc}") from None


class ToolCallParts:
    """A streamed answer's tool calls, put back together: each delta names its call by
    ``index`` and carries pieces (the id, type and name once, the arguments' JSON in parts).
    Deltas are dicts (our HTTP path) or LiteLLM's objects."""

    def __init__(self) -> None:
        self.calls: dict[int, dict[str, Any]] = {}

    def take(self, deltas: Any) -> None:
        for delta in deltas or ():
            index = _part(delta, "index")
            call = self.calls.setdefault(
                int(index or 0), {"id": None, "type": "function", "name": "", "arguments": ""}
            )
            for name in ("id", "type"):
                call[name] = _part(delta, name) or call[name]
            function = _part(delta, "function")
            if function is not None:
                call["name"] += _part(function, "name") or ""
                call["arguments"] += _part(function, "arguments") or ""

    def whole(self) -> list[dict[str, Any]]:
        """The calls as a non-streamed message lists them, in index order."""
        return [
            {"id": c["id"], "type": c["type"],
             "function": {"name": c["name"], "arguments": c["arguments"]}}
            for _, c in sorted(self.calls.items())
        ]  # fmt: skip


def _part(item: Any, name: str) -> Any:
    return item.get(name) if isinstance(item, dict) else getattr(item, name, None)


class _Streamed:
    """A streamed completion's chunks, summed into one answer."""

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.finish_reason: str | None = None
        self.usage: dict[str, Any] = {}
        self.tool_calls = ToolCallParts()

    def take(self, data: bytes) -> str | None:
        if data == b"[DONE]":
            return None
        chunk = json.loads(data)
        self.usage = chunk.get("usage") or self.usage
        choices = chunk.get("choices") or []
        if not choices:
            return None
        self.finish_reason = choices[0].get("finish_reason") or self.finish_reason
        delta = choices[0].get("delta") or {}
        self.tool_calls.take(delta.get("tool_calls"))
        text = delta.get("content")
        if text:
            self.parts.append(text)
        return text or None

    def whole(self) -> dict[str, Any]:
        message: dict[str, Any] = {"role": "assistant", "content": "".join(self.parts)}
        if self.tool_calls.calls:
            message["tool_calls"] = self.tool_calls.whole()
        choice = {"message": message, "finish_reason": self.finish_reason}
        return {"choices": [choice], "usage": self.usage}


_targets: dict[tuple[str, str, float], tuple[Any, Any]] = {}


def _target(api_base: str, path: str, timeout_s: float) -> tuple[Any, Any]:
    """The parsed URL and the timeout of an endpoint, built once: parsing the URL string
    and a new `ClientTimeout` per call were ~2% of a call's CPU."""
    key = (api_base, path, timeout_s)
    target = _targets.get(key)
    if target is None:
        import aiohttp
        import yarl

        target = _targets[key] = (
            yarl.URL(f"{api_base.rstrip('/')}{path}"),
            aiohttp.ClientTimeout(total=timeout_s),
        )
    return target


def _error_message(raw: bytes, status: int) -> str:
    try:
        error = json.loads(raw).get("error", {})
        return str(error.get("message") or error)[:2000]
    except (ValueError, AttributeError):
        return raw[:500].decode(errors="replace") or f"HTTP {status}"


def chat_body(
    model: str, messages: Sequence[Mapping[str, Any]], params: Mapping[str, Any]
) -> dict[str, Any]:
    """The request body: the model name without LiteLLM's `openai/` prefix."""
    body = {k: v for k, v in params.items() if k not in _LOCAL_ONLY and v is not None}
    body.update(model=model.split("/", 1)[1] if "/" in model else model, messages=list(messages))
    return body
