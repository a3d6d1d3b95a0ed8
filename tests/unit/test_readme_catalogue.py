"""The README's example catalogue is one the engine loads, as documented."""

from __future__ import annotations

import re
from pathlib import Path

from engine.llm import load_catalogue

README = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")


def _example() -> str:
    section = README.split("## The model catalogue", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```yaml\n(.*?)```", section, re.DOTALL)
    assert len(blocks) == 1
    return str(blocks[0])


def test_the_readme_catalogue_loads_with_local_servers_that_get_no_key(tmp_path: Path) -> None:
    path = tmp_path / "catalogue.yaml"
    path.write_text(_example(), encoding="utf-8")
    catalogue = load_catalogue(path)
    local = [a for a in catalogue.accounts if a.api_base and "127.0.0.1" in a.api_base]
    assert {a.name for a in local} == {"vllm", "ollama"}
    assert not any(a.requires_api_key for a in local)
    assert catalogue.account("openai").key_env_var == "OPENAI_API_KEY"
    assert catalogue.account("ollama").retry.max_attempts == 2
    assert catalogue.model("openai/gpt-4o-mini").output_cost_per_token == 0.0000006
    policy = catalogue.fallback_for("openai/Qwen/Qwen2.5-7B-Instruct")
    assert policy is not None and policy.chain[1] == "openai/llama3.1:8b"


def test_every_field_the_readme_names_is_a_catalogue_field() -> None:
    from dataclasses import fields

    from domain.llm.specs import FallbackPolicy, ModelSpec, ProviderAccount, RetryPolicy

    section = README.split("## The model catalogue", 1)[1].split("```", 1)[0]
    named = set(re.findall(r"`([a-z_]+)`", section))
    known = {
        f.name
        for cls in (ProviderAccount, ModelSpec, FallbackPolicy, RetryPolicy)
        for f in fields(cls)
    } | {"accounts", "models", "fallbacks", "openai", "false"}
    assert named - known == set()
