from __future__ import annotations

import copy
import json
import re
from typing import Any

import pytest

from domain.errors import NotFoundError, ValidationError
from domain.llm import Catalogue, FallbackPolicy, ModelSpec, ProviderAccount, RetryPolicy


def document() -> dict[str, Any]:
    return {
        "accounts": [
            {
                "name": "sim",
                "provider": "openai",
                "rpm": 600,
                "tpm": 100_000,
                "api_base": "http://127.0.0.1:8001/v1",
                "requires_api_key": False,
            },
            {
                "name": "claude",
                "provider": "anthropic",
                "rpm": 50,
                "api_key_env": "ANTHROPIC_KEY",
                "retry": {"max_attempts": 3, "base_delay_s": 1},
            },
        ],
        "models": [
            {
                "name": "openai/sim-small",
                "account": "sim",
                "input_cost_per_token": 0.15e-6,
                "output_cost_per_token": 0.6e-6,
                "context_window": 16_384,
                "skill": 0.6,
                "tags": ["json"],
            },
            {"name": "openai/sim-large", "account": "sim", "context_window": 128_000},
            {"name": "anthropic/claude-x", "account": "claude"},
        ],
        "fallbacks": [{"chain": ["openai/sim-small", "openai/sim-large"], "after_attempts": 2}],
    }


def with_change(path: str, value: Any) -> dict[str, Any]:
    """The document with the value at ``path`` (``models[0].tags[1]``) set, or deleted if DEL."""
    doc = copy.deepcopy(document())
    keys: list[Any] = [int(i) if i else k for k, i in re.findall(r"(\w+)|\[(\d+)\]", path)]
    target: Any = doc
    for key in keys[:-1]:
        target = target[key]
    if value is DEL:
        del target[keys[-1]]
    else:
        target[keys[-1]] = value
    return doc


DEL = object()


def test_a_valid_document_parses() -> None:
    cat = Catalogue.from_dict(document())
    assert cat.model("openai/sim-small").tags == frozenset({"json"})
    assert cat.account("claude").retry == RetryPolicy(max_attempts=3, base_delay_s=1.0)


@pytest.mark.parametrize(
    ("path", "value", "message"),
    [
        ("accounts[0].rpm", -5, "accounts[0].rpm: must be > 0, got -5"),
        ("accounts[1].tpm", 0, "accounts[1].tpm: must be > 0, got 0"),
        ("accounts[0].max_concurrency", 0, "accounts[0].max_concurrency: must be > 0, got 0"),
        ("accounts[0].timeout_s", -1, "accounts[0].timeout_s: must be > 0, got -1.0"),
        ("accounts[0].rpm", "60", "accounts[0].rpm: must be an integer, got str"),
        ("accounts[0].rpm", True, "accounts[0].rpm: must be an integer, got bool"),
        ("accounts[0].rpm", DEL, "accounts[0].rpm: is required"),
        ("accounts[0].tpm", "x", "accounts[0].tpm: must be an integer or null, got str"),
        ("accounts[0].rmp", 60, "accounts[0].rmp: unknown field"),
        ("accounts[1].retry.max_attempts", 0, "accounts[1].retry.max_attempts: must be > 0, got 0"),
        ("accounts[1].retry.jitter", 2, "accounts[1].retry.jitter: must be within [0, 1], got 2"),
        ("accounts[1].retry", [], "accounts[1].retry: must be a mapping, got list"),
        ("accounts[1].api_key_env", "sk-abc123", "accounts[1].api_key_env: must be an environment"),
        ("accounts[0].api_base", "127.0.0.1:8001", "accounts[0].api_base: must be an http(s) URL"),
        ("accounts[1].name", "sim", "accounts[1].name: duplicate account 'sim'"),
        ("models[1].name", "sim-large", "models[1].name: must be 'provider/model', got 'sim-"),
        ("models[1].name", "openai/sim-small", "models[1].name: duplicate model 'openai/sim-sm"),
        ("models[2].name", "openai/claude-x", "models[2].name: provider prefix 'openai' differs"),
        ("models[2].account", "nope", "models[2].account: unknown account 'nope' (known: sim, cl"),
        ("models[0].skill", 1.5, "models[0].skill: must be within [0, 1], got 1.5"),
        ("models[0].tags", ["json", 3], "models[0].tags[1]: must be a string, got int"),
        ("models[0].input_cost_per_token", -1e-6, "models[0].input_cost_per_token: must be >= 0"),
        ("models[1].context_window", 0, "models[1].context_window: must be > 0, got 0"),
        ("fallbacks[0].chain[1]", "openai/ghost", "fallbacks[0].chain[1]: unknown model 'openai/"),
        ("fallbacks[0].chain", ["openai/sim-small"], "fallbacks[0].chain: must name at least 2"),
        ("fallbacks[0].after_attempts", 0, "fallbacks[0].after_attempts: must be > 0, got 0"),
        ("models", {}, "models: must be a list, got dict"),
        ("extras", 1, "extras: unknown field"),
    ],
)
def test_each_invalid_field_is_named(path: str, value: Any, message: str) -> None:
    with pytest.raises(ValidationError) as caught:
        Catalogue.from_dict(with_change(path, value))
    assert caught.value.message.startswith(message)
    assert caught.value.details["field"] == message.split(":")[0]


def test_a_second_fallback_policy_for_the_same_model_is_rejected() -> None:
    doc = document()
    doc["fallbacks"].append({"chain": ["openai/sim-small", "anthropic/claude-x"]})
    with pytest.raises(ValidationError, match=r"^fallbacks\[1\]\.chain\[0\]: second policy"):
        Catalogue.from_dict(doc)


def test_direct_construction_validates_too() -> None:
    with pytest.raises(ValidationError, match="^rpm: must be > 0, got 0"):
        ProviderAccount(name="a", provider="openai", rpm=0)


def test_to_dict_round_trips_through_json() -> None:
    cat = Catalogue.from_dict(document())
    assert Catalogue.from_dict(json.loads(json.dumps(cat.to_dict()))) == cat


def test_unknown_model_lists_the_known_ones() -> None:
    cat = Catalogue.from_dict(document())
    with pytest.raises(NotFoundError) as caught:
        cat.model("openai/nope")
    known = "openai/sim-small, openai/sim-large, anthropic/claude-x"
    assert caught.value.message == f"unknown model 'openai/nope' (known: {known})"


def test_account_for_follows_the_model() -> None:
    cat = Catalogue.from_dict(document())
    assert cat.account_for("anthropic/claude-x").name == "claude"
    assert cat.account_for(cat.model("openai/sim-large")).name == "sim"


def test_fallback_for_finds_the_policy_by_primary() -> None:
    cat = Catalogue.from_dict(document())
    assert cat.fallback_for("openai/sim-small") == FallbackPolicy(
        ("openai/sim-small", "openai/sim-large"), after_attempts=2
    )
    assert cat.fallback_for("openai/sim-large") is None


def test_missing_api_keys_names_accounts_needing_an_unset_key() -> None:
    doc = document()
    doc["accounts"].append({"name": "oai", "provider": "openai", "rpm": 10})
    cat = Catalogue.from_dict(doc)
    assert cat.missing_api_keys({}) == ["claude", "oai"]
    assert cat.missing_api_keys({"ANTHROPIC_KEY": "k", "OPENAI_API_KEY": ""}) == ["oai"]
    assert cat.missing_api_keys({"ANTHROPIC_KEY": "k", "OPENAI_API_KEY": "k"}) == []


def test_model_provider_is_its_name_prefix() -> None:
    assert ModelSpec("openrouter/meta/llama-3", "acc").provider == "openrouter"
