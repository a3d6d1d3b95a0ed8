"""Declarative eval files (`autoforge eval eval.yaml`): prompts, models, dataset, scorers.

    name: arithmetic
    prompt:
      name: calc
      versions:
        - template: "What is {{a}} + {{b}}?"
          message: plain question
        - system: "You are careful."
          template: "What is {{a}} + {{b}}? Answer with only the number."
    models: [openai/sim-small, openai/sim-large]
    dataset: cases.jsonl            # JSONL or CSV, relative to this file
    scorers:
      - type: numeric
    repeats: 1
    budget_usd: 1.0
    seed: 0
    concurrency: 64
    simulator: true                 # start the simulated provider for openai/sim-* models

Running a file twice is idempotent: unchanged prompt versions and dataset content are
reused (matched by content), so the second run evaluates the same versions.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from domain.errors import ValidationError

_TOP = {
    "name",
    "prompt",
    "models",
    "dataset",
    "scorers",
    "repeats",
    "budget_usd",
    "seed",
    "concurrency",
    "simulator",
    "cache",
}
_VERSION = {"template", "system", "messages", "message", "model", "temperature", "max_tokens"}


@dataclass(frozen=True)
class PromptVersionSpec:
    """One prompt version to ensure exists, in file order."""

    template: str | None
    messages: tuple[dict[str, str], ...]
    message: str
    settings: dict[str, Any]

    def as_messages(self) -> list[dict[str, str]] | None:
        if self.messages:
            return [dict(m) for m in self.messages]
        return None


@dataclass(frozen=True)
class EvalFile:
    """A parsed, validated eval file."""

    path: Path
    name: str
    prompt_name: str
    versions: tuple[PromptVersionSpec, ...]
    models: tuple[str, ...]
    dataset_path: Path
    scorers: tuple[dict[str, Any], ...]
    repeats: int = 1
    budget_usd: float | None = None
    seed: int = 0
    concurrency: int = 64
    simulator: bool = False
    cache: bool = True
    extra: dict[str, Any] = field(default_factory=dict)


def _fail(where: str, problem: str) -> ValidationError:
    return ValidationError(f"eval file {where}: {problem}", reason="bad-eval-file", field=where)


def load_eval_file(path: str | Path) -> EvalFile:
    """Read and validate an eval file; every problem names the field it is in."""
    source = Path(path)
    try:
        data = yaml.safe_load(source.read_text())
    except FileNotFoundError:
        raise ValidationError(f"eval file {source} not found", reason="not-found") from None
    except yaml.YAMLError as exc:
        raise _fail(str(source), f"invalid YAML ({exc})") from None
    if not isinstance(data, dict):
        raise _fail(str(source), "must be a mapping")
    unknown = sorted(set(data) - _TOP)
    if unknown:
        raise _fail(unknown[0], f"unknown key (known: {', '.join(sorted(_TOP))})")
    prompt = data.get("prompt")
    if not isinstance(prompt, dict) or not isinstance(prompt.get("name"), str):
        raise _fail("prompt", "needs a mapping with a name and versions")
    raw_versions = prompt.get("versions")
    if not isinstance(raw_versions, list) or not raw_versions:
        raise _fail("prompt.versions", "needs at least one version")
    models = data.get("models")
    if not isinstance(models, list) or not models or not all(isinstance(m, str) for m in models):
        raise _fail("models", "needs a list of model names")
    dataset = data.get("dataset")
    if not isinstance(dataset, str):
        raise _fail("dataset", "needs the path of a JSONL or CSV file")
    scorers = data.get("scorers", [])
    if not isinstance(scorers, list) or not all(isinstance(s, dict) for s in scorers):
        raise _fail("scorers", "must be a list of scorer mappings")
    return EvalFile(
        path=source,
        name=str(data.get("name", source.stem)),
        prompt_name=prompt["name"],
        versions=tuple(_version(v, i) for i, v in enumerate(raw_versions)),
        models=tuple(models),
        dataset_path=(source.parent / dataset).resolve(),
        scorers=tuple(scorers),
        repeats=_int(data, "repeats", 1),
        budget_usd=_float_or_none(data, "budget_usd"),
        seed=_int(data, "seed", 0),
        concurrency=_int(data, "concurrency", 64),
        simulator=bool(data.get("simulator", False)),
        cache=bool(data.get("cache", True)),
    )


def _version(raw: Any, index: int) -> PromptVersionSpec:
    where = f"prompt.versions[{index}]"
    if not isinstance(raw, dict):
        raise _fail(where, "must be a mapping")
    unknown = sorted(set(raw) - _VERSION)
    if unknown:
        raise _fail(f"{where}.{unknown[0]}", f"unknown key (known: {', '.join(sorted(_VERSION))})")
    messages: list[dict[str, str]] = []
    if "messages" in raw:
        if not isinstance(raw["messages"], list):
            raise _fail(f"{where}.messages", "must be a list of {role, content}")
        messages = [dict(m) for m in raw["messages"]]
    elif "system" in raw:
        messages = [
            {"role": "system", "content": str(raw["system"])},
            {"role": "user", "content": str(raw.get("template", ""))},
        ]
    template = raw.get("template")
    if not messages and not isinstance(template, str):
        raise _fail(f"{where}.template", "needs a template text or messages")
    settings = {k: raw[k] for k in ("model", "temperature", "max_tokens") if k in raw}
    return PromptVersionSpec(
        template=None if messages else template,
        messages=tuple(messages),
        message=str(raw.get("message", f"version {index + 1} from eval file")),
        settings=settings,
    )


def _int(data: dict[str, Any], key: str, default: int) -> int:
    value = data.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int):
        raise _fail(key, f"must be an integer, got {value!r}")
    return value


def _float_or_none(data: dict[str, Any], key: str) -> float | None:
    value = data.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _fail(key, f"must be a number, got {value!r}")
    return float(value)
