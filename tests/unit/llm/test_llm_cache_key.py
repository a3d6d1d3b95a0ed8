from __future__ import annotations

import re

import pytest

from domain.errors import ValidationError
from domain.llm import cache_key

MESSAGES = [{"role": "system", "content": "be brief"}, {"role": "user", "content": "hi"}]
PARAMS = {"temperature": 0.7, "max_tokens": 64}


def key(**changes: object) -> str:
    args: dict[str, object] = {
        "model": "openai/sim-small",
        "messages": MESSAGES,
        "params": PARAMS,
        "repeat_index": 0,
    }
    args.update(changes)
    return cache_key(**args)  # type: ignore[arg-type]


def test_key_is_a_stable_sha256_hex_digest() -> None:
    assert re.fullmatch(r"[0-9a-f]{64}", key())
    assert key() == key()


def test_dict_key_order_does_not_matter() -> None:
    reordered = [{"content": m["content"], "role": m["role"]} for m in MESSAGES]
    assert key(messages=reordered, params={"max_tokens": 64, "temperature": 0.7}) == key()


def test_repeat_index_matters() -> None:
    assert key(repeat_index=1) != key()


def test_credentials_endpoints_and_transport_settings_do_not_matter() -> None:
    noisy = {**PARAMS, "api_key": "sk-1", "api_base": "http://x", "timeout": 5, "metadata": {}}
    assert key(params=noisy) == key()


def test_answer_shaping_params_model_and_messages_matter() -> None:
    assert key(params={**PARAMS, "temperature": 0.0}) != key()
    assert key(params={**PARAMS, "seed": 1}) != key()
    assert key(model="openai/sim-large") != key()
    assert key(messages=MESSAGES[::-1]) != key()


def test_none_params_and_integral_floats_normalise() -> None:
    assert key(params={**PARAMS, "top_p": None}) == key()
    assert key(params={"temperature": 1, "max_tokens": 64}) == key(
        params={"temperature": 1.0, "max_tokens": 64.0}
    )


def test_unhashable_values_are_rejected() -> None:
    with pytest.raises(ValidationError, match=r"params\.temperature"):
        key(params={"temperature": float("nan")})
