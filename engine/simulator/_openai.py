"""OpenAI wire format: the JSON bodies the simulator sends."""

from __future__ import annotations

import json
import re
from typing import Any

CREATED = 1_700_000_000
OWNER = "autoforge-simulator"

_SERVER_ERRORS = {
    500: "The server had an error while processing your request. Sorry about that! (injected)",
    503: "The engine is currently overloaded, please try again later. (injected)",
}


def dumps(obj: Any) -> bytes:
    """Compact JSON bytes."""
    return json.dumps(obj, separators=(",", ":")).encode()


def error(message: str, type_: str, code: str | None = None, param: str | None = None) -> bytes:
    """An OpenAI error body: ``{"error": {"message", "type", "param", "code"}}``."""
    return dumps({"error": {"message": message, "type": type_, "param": param, "code": code}})


def server_error(status: int) -> bytes:
    """The body of an injected 500 or 503."""
    return error(_SERVER_ERRORS[status], "server_error", "server_error" if status == 500 else None)


def usage(prompt: int, completion: int) -> dict[str, int]:
    """The ``usage`` object of a chat completion."""
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
    }


def chat_completion(
    id_: str,
    model: str,
    created: int,
    choices: list[tuple[str, str]],
    use: dict[str, int],
    logprobs: list[list[dict[str, Any]]] | None = None,
    tool_calls: list[list[dict[str, Any]] | None] | None = None,
) -> dict[str, Any]:
    """A ``chat.completion`` object; ``choices`` holds (content, finish_reason) pairs,
    ``logprobs`` (when asked for) each choice's ``logprobs.content`` and ``tool_calls``
    each choice's ``message.tool_calls`` (``None``: a text answer; its content is then
    sent as null, as OpenAI does)."""
    return {
        "id": id_,
        "object": "chat.completion",
        "created": created,
        "model": model,
        "system_fingerprint": "fp_simulator",
        "choices": [
            {
                "index": i,
                "message": _message(content, None if tool_calls is None else tool_calls[i]),
                "logprobs": None if logprobs is None else {"content": logprobs[i], "refusal": None},
                "finish_reason": finish,
            }
            for i, (content, finish) in enumerate(choices)
        ],
        "usage": use,
    }


def _message(content: str, calls: list[dict[str, Any]] | None) -> dict[str, Any]:
    if calls is None:
        return {"role": "assistant", "content": content, "refusal": None}
    return {"role": "assistant", "content": None, "refusal": None, "tool_calls": calls}


_PIECE = re.compile(r"\s*\S+\s*")


def chat_stream(completion: dict[str, Any], include_usage: bool) -> list[bytes]:
    """The server-sent events of a streamed completion: each choice's content a word at a
    time (a word and the space after it, as a tokenizer's pieces arrive), its tool calls
    whole in the first chunk, then its finish."""
    head = {k: completion[k] for k in ("id", "created", "model", "system_fingerprint")}
    head["object"] = "chat.completion.chunk"
    events = []
    for choice in completion["choices"]:
        index, content = choice["index"], choice["message"]["content"]
        pieces = (_PIECE.findall(content) or [content]) if content is not None else [None]
        first: dict[str, Any] = {"role": "assistant", "content": pieces[0]}
        if "tool_calls" in choice["message"]:
            first["tool_calls"] = [
                {"index": n, **call} for n, call in enumerate(choice["message"]["tool_calls"])
            ]
        deltas: list[tuple[dict[str, Any], str | None]] = [
            (first, None),
            *(({"content": piece}, None) for piece in pieces[1:]),
            ({}, choice["finish_reason"]),
        ]
        for delta, finish in deltas:
            chunk = {
                **head,
                "choices": [
                    {"index": index, "delta": delta, "logprobs": None, "finish_reason": finish}
                ],
            }
            events.append(chunk)
    if include_usage:
        events.append({**head, "choices": [], "usage": completion["usage"]})
    return [b"data: " + dumps(e) + b"\n\n" for e in events] + [b"data: [DONE]\n\n"]


def embeddings(model: str, vectors: list[Any], tokens: int) -> dict[str, Any]:
    """An embeddings ``list`` object (vectors as float lists or base64 strings)."""
    return {
        "object": "list",
        "data": [
            {"object": "embedding", "index": i, "embedding": v} for i, v in enumerate(vectors)
        ],
        "model": model,
        "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
    }


def moderation(
    id_: str, model: str, verdicts: list[tuple[dict[str, bool], dict[str, float]]]
) -> dict[str, Any]:
    """A moderation object; ``verdicts`` holds (categories, category_scores) per input."""
    return {
        "id": id_,
        "model": model,
        "results": [
            {"flagged": any(flags.values()), "categories": flags, "category_scores": scores}
            for flags, scores in verdicts
        ],
    }


def model_object(name: str) -> dict[str, Any]:
    """One entry of ``/v1/models``."""
    return {"id": name, "object": "model", "created": CREATED, "owned_by": OWNER}


def models_list(names: list[str]) -> dict[str, Any]:
    """The ``/v1/models`` list."""
    return {"object": "list", "data": [model_object(n) for n in names]}
