"""One playground turn: the prompt rendered once, sent to every model at once, each answer
streamed to the session's events as it arrives.

Events (JSON in the stream's ``d`` field, like a run's): ``turn.started`` {turn, models,
prompt_version}; ``delta`` {turn, model, text}; ``restart`` {turn, model} (a retry or a
fallback starts that model's answer afresh); ``answer`` {turn, model, content, error,
latency_ms, tokens, cost_usd, cached}; ``turn.done`` {turn} once the turn is stored
(`announce_done`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from domain.errors import NexusError
from domain.playground import Answer, PlaygroundSession, Turn
from domain.prompts import Template
from engine.evaluation import streams
from engine.llm import CompletionRequest, LLMClient
from engine.logs import get_logger
from engine.playground import events_key

log = get_logger(__name__)
EVENTS_MAXLEN = 20_000
Listener = Callable[[str, str | None], None]
"""Hears ``(model, text)`` as pieces arrive (``None``: that model starts afresh)."""


async def work_turn(
    client: LLMClient,
    redis: Any,
    session: PlaygroundSession,
    turn: Turn,
    template: Template,
    params: Mapping[str, Any],
    *,
    cache: bool = False,
    listener: Listener | None = None,
) -> list[Answer]:
    """Every model's answer to ``turn``, in the session's model order, each asked with
    ``params`` (the version's settings and the session's own)."""
    publish = _publisher(redis, session.id)
    try:
        messages = template.render(turn.variables).as_dicts()
    except NexusError as exc:
        return [Answer(model=m, error=f"render: {exc.message}") for m in session.models]
    await publish(
        "turn.started",
        turn=turn.number,
        models=list(session.models),
        prompt_version=turn.prompt_version,
    )

    async def answer(model: str) -> Answer:
        async def on_delta(text: str | None) -> None:
            if listener is not None:
                listener(model, text)
            if text is None:
                await publish("restart", turn=turn.number, model=model)
            else:
                await publish("delta", turn=turn.number, model=model, text=text)

        try:
            result = await client.complete(
                CompletionRequest(
                    model,
                    messages,
                    params=dict(params),
                    cache=cache,
                    user_id=session.owner,
                    on_delta=on_delta,
                )
            )
        except NexusError as exc:  # refused before any call (a key missing): says what to set
            done = Answer(model=model, error=f"{exc.code}: {exc.message}")
            await publish("answer", turn=turn.number, **done.to_dict())
            return done
        if result.cached and result.content:  # a cached answer is not streamed: say it whole
            await on_delta(result.content)
        done = Answer(
            model=model,
            content=result.content if result.error is None else None,
            error=None if result.error is None else f"{result.error.kind}: {result.error.message}",
            latency_ms=result.latency_ms,
            prompt_tokens=result.usage.prompt_tokens,
            completion_tokens=result.usage.completion_tokens,
            cost_usd=result.cost_usd,
            cached=result.cached,
            model_used=result.model_used,
        )
        await publish("answer", turn=turn.number, **done.to_dict())
        return done

    return list(await asyncio.gather(*(answer(m) for m in session.models)))


def announce_done(redis: Any, turn: Turn) -> None:
    """Say on the session's stream that ``turn`` is over: sent once its answers are stored,
    so a follower that reads the turn on `turn.done` finds it done."""
    entry = streams.encode({"type": "turn.done", "turn": turn.number})
    try:
        redis.xadd(events_key(turn.session_id), entry, maxlen=EVENTS_MAXLEN, approximate=True)
    except Exception as exc:  # best effort, like every event
        log.warning("playground event not sent", session=turn.session_id, error=repr(exc))


def _publisher(redis: Any, session_id: str) -> Callable[..., Awaitable[None]]:
    key = events_key(session_id)

    async def publish(kind: str, **fields: Any) -> None:
        try:
            await redis.xadd(
                key,
                streams.encode({"type": kind, **fields}),
                maxlen=EVENTS_MAXLEN,
                approximate=True,
            )
        except Exception as exc:  # the turn's answers are in the DB; events are best effort
            log.warning("playground event not sent", session=session_id, type=kind, error=repr(exc))

    return publish


def params_of(settings: Mapping[str, Any], own: Mapping[str, Any]) -> dict[str, Any]:
    """A prompt version's model settings as call parameters (no model, no unset values),
    under the session's ``own``."""
    kept = {k: v for k, v in settings.items() if k != "model" and v is not None}
    return {**kept, **own}
