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
      - type: python                # runs code: the file is read now, relative to this one
        args: {file: "file://checks.py:get_assert"}
    repeats: 1
    budget_usd: 1.0
    seed: 0
    concurrency: 64
    routing: fixed                  # or cheapest / lowest-latency among the models
    simulator: true                 # start the simulated provider for openai/sim-* models

A flow file names a flow instead of a prompt (see docs/flows.md): each version is a flow
inline or in a YAML file next to this one, and ``prompts`` holds the prompts its ``llm``
steps call (created, or committed when their text changed)::

    flow:
      name: support
      versions:
        - file: support-v1.yaml
        - file: support-v2.yaml
          message: careful triage
    prompts:
      triage: "Classify this ticket into billing, technical or account: {{ question }}"

Running a file twice is idempotent: unchanged prompt versions and dataset content are
reused (matched by content), so the second run evaluates the same versions.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from domain.datasets import TestCase
from domain.errors import NexusError, ValidationError
from domain.evaluation import ROUTINGS
from domain.flows import Flow, flow_name, prompt_name
from domain.scoring import build_scorers
from engine.evaluation.code_files import read_code_file

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
    "routing",
    "flow",
    "prompts",
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
    dataset_path: Path | None
    scorers: tuple[dict[str, Any], ...]
    repeats: int = 1
    budget_usd: float | None = None
    seed: int = 0
    concurrency: int = 64
    simulator: bool = False
    cache: bool = True
    routing: str = "fixed"
    extra: dict[str, Any] = field(default_factory=dict)
    cases: tuple[TestCase, ...] = ()
    """The cases themselves, for a suite imported from another tool (``dataset_path`` is
    then ``None``); an eval file always names its dataset file."""
    flow_name: str | None = None
    """A flow file's flow (``prompt_name`` is then its prompt's, ``flow:<name>``)."""
    flow_versions: tuple[FlowVersionSpec, ...] = ()
    prompts: dict[str, str] = field(default_factory=dict)
    """Prompts the flow's llm steps call: name → template text."""


@dataclass(frozen=True)
class FlowVersionSpec:
    """One flow version to ensure exists, in file order (its dict form)."""

    flow: dict[str, Any]
    message: str


class _Mistakes:
    """Every mistake found in one file, each with the key path it is at.

    ``kind`` names the file in the message and ``reason`` is the error's reason code (an
    optimize file says so: ``"optimize file"``, ``"bad-optimize-file"``).
    """

    def __init__(
        self, source: Path, kind: str = "eval file", reason: str = "bad-eval-file"
    ) -> None:
        self.source = source
        self.kind = kind
        self.reason = reason
        self.found: list[tuple[str, str]] = []

    def add(self, where: str, problem: str) -> None:
        self.found.append((where, problem))

    def check(self) -> None:
        if not self.found:
            return
        lines = "".join(f"\n  {where}: {problem}" for where, problem in self.found)
        count = len(self.found)
        raise ValidationError(
            f"{self.kind} {self.source} has {count} mistake{'s' if count > 1 else ''}:{lines}",
            reason=self.reason,
            field=self.found[0][0],
            mistakes=[{"field": where, "problem": problem} for where, problem in self.found],
        )


def load_eval_file(path: str | Path) -> EvalFile:
    """Read and validate an eval file, calling no service.

    Raises:
        ValidationError: ``reason="bad-eval-file"`` listing every mistake, one line each
            with its key path (``details["mistakes"]``); ``reason="not-found"``.
    """
    source = Path(path)
    try:
        data = yaml.safe_load(source.read_text())
    except FileNotFoundError:
        raise ValidationError(f"eval file {source} not found", reason="not-found") from None
    except yaml.YAMLError as exc:
        raise ValidationError(
            f"eval file {source}: invalid YAML ({exc})", reason="bad-eval-file"
        ) from None
    mistakes = _Mistakes(source)
    if not isinstance(data, dict):
        mistakes.add("(top)", "must be a mapping")
        mistakes.check()
    for key in sorted(set(data) - _TOP, key=str):
        mistakes.add(str(key), f"unknown key (known: {', '.join(sorted(_TOP))})")
    prompt = data.get("prompt")
    versions: tuple[PromptVersionSpec, ...] = ()
    flow_versions: tuple[FlowVersionSpec, ...] = ()
    flow = data.get("flow")
    if flow is not None:
        if prompt is not None:
            mistakes.add("flow", "an eval file has a prompt or a flow, not both")
        flow_versions = _flow_versions(flow, source.parent, mistakes)
        prompt = {"name": prompt_name(str(flow.get("name"))) if isinstance(flow, dict) else ""}
    prompts = data.get("prompts", {})
    if not isinstance(prompts, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in prompts.items()
    ):
        mistakes.add("prompts", "must map prompt names to template texts")
        prompts = {}
    if flow is not None:
        pass  # its versions were read above
    elif not isinstance(prompt, dict) or not isinstance(prompt.get("name"), str):
        mistakes.add("prompt", "needs a mapping with a name and versions")
    elif not isinstance(prompt.get("versions"), list) or not prompt["versions"]:
        mistakes.add("prompt.versions", "needs at least one version")
    else:
        specs = [_version(v, i, mistakes) for i, v in enumerate(prompt["versions"])]
        versions = tuple(spec for spec in specs if spec is not None)
    models = data.get("models")
    if not isinstance(models, list) or not models or not all(isinstance(m, str) for m in models):
        mistakes.add("models", "needs a list of model names")
    dataset = data.get("dataset")
    if not isinstance(dataset, str):
        mistakes.add("dataset", "needs the path of a JSONL or CSV file")
    elif not (source.parent / dataset).is_file():
        mistakes.add("dataset", f"no file {dataset!r} next to the eval file")
    scorers = data.get("scorers", [])
    if not isinstance(scorers, list) or not all(isinstance(s, dict) for s in scorers):
        mistakes.add("scorers", "must be a list of scorer mappings")
    else:
        scorers = _check_scorers(scorers, source.parent, mistakes)
    routing = data.get("routing", "fixed")
    if routing not in ROUTINGS:
        mistakes.add("routing", f"must be one of {', '.join(ROUTINGS)}, got {routing!r}")
    repeats = _int(data, "repeats", 1, mistakes)
    seed = _int(data, "seed", 0, mistakes)
    concurrency = _int(data, "concurrency", 64, mistakes)
    budget = _float_or_none(data, "budget_usd", mistakes)
    mistakes.check()
    assert isinstance(prompt, dict) and isinstance(models, list) and isinstance(dataset, str)
    return EvalFile(
        path=source,
        name=str(data.get("name", source.stem)),
        prompt_name=prompt["name"],
        versions=versions,
        models=tuple(models),
        dataset_path=(source.parent / dataset).resolve(),
        scorers=tuple(scorers),
        budget_usd=budget,
        simulator=bool(data.get("simulator", False)),
        cache=bool(data.get("cache", True)),
        routing=str(routing),
        repeats=repeats,
        seed=seed,
        concurrency=concurrency,
        flow_name=flow_name(prompt["name"]) if flow is not None else None,
        flow_versions=flow_versions,
        prompts=dict(prompts),
    )


def _flow_versions(raw: Any, base: Path, mistakes: _Mistakes) -> tuple[FlowVersionSpec, ...]:
    """A flow file's versions, each read (``file:``, relative to the eval file) and its shape
    checked; the checks against prompts and tools are the commit's."""
    if not isinstance(raw, dict) or not isinstance(raw.get("name"), str) or not raw["name"]:
        mistakes.add("flow", "needs a mapping with a name and versions")
        return ()
    versions = raw.get("versions")
    if not isinstance(versions, list) or not versions:
        mistakes.add("flow.versions", "needs at least one version")
        return ()
    found: list[FlowVersionSpec] = []
    for index, item in enumerate(versions):
        where = f"flow.versions[{index}]"
        if not isinstance(item, dict):
            mistakes.add(where, "must be a mapping (a flow, or file: and message:)")
            continue
        item = dict(item)
        message = str(item.pop("message", f"version {index + 1} from eval file"))
        if "file" in item:
            name = item.pop("file")
            path = base / str(name)
            if item or not path.is_file():
                mistakes.add(f"{where}.file", f"no flow file {name!r} next to the eval file")
                continue
            try:
                item = yaml.safe_load(path.read_text(encoding="utf-8"))
            except yaml.YAMLError as exc:
                mistakes.add(f"{where}.file", f"invalid YAML ({str(exc)[:200]})")
                continue
        try:
            flow = Flow.from_dict(item)
        except NexusError as exc:
            mistakes.add(where, exc.message)
            continue
        found.append(FlowVersionSpec(flow.to_dict(), message))
    return tuple(found)


def _check_scorers(
    scorers: list[dict[str, Any]], base: Path, mistakes: _Mistakes
) -> list[dict[str, Any]]:
    """The scorers, each code assertion's ``file`` read (relative to the eval file)."""
    read: list[dict[str, Any]] = []
    for index, raw in enumerate(scorers):
        try:
            spec = read_code_file(raw, base)
            build_scorers([spec])
        except NexusError as exc:
            mistakes.add(f"scorers[{index}]", exc.message)
            spec = raw
        read.append(spec)
    return read


def _version(raw: Any, index: int, mistakes: _Mistakes) -> PromptVersionSpec | None:
    where = f"prompt.versions[{index}]"
    if not isinstance(raw, dict):
        mistakes.add(where, "must be a mapping")
        return None
    for key in sorted(set(raw) - _VERSION, key=str):
        mistakes.add(f"{where}.{key}", f"unknown key (known: {', '.join(sorted(_VERSION))})")
    messages: list[dict[str, str]] = []
    if "messages" in raw:
        if not isinstance(raw["messages"], list) or not all(
            isinstance(m, dict) for m in raw["messages"]
        ):
            mistakes.add(f"{where}.messages", "must be a list of {role, content}")
            return None
        messages = [dict(m) for m in raw["messages"]]
    elif "system" in raw:
        messages = [
            {"role": "system", "content": str(raw["system"])},
            {"role": "user", "content": str(raw.get("template", ""))},
        ]
    template = raw.get("template")
    if not messages and not isinstance(template, str):
        mistakes.add(f"{where}.template", "needs a template text or messages")
        return None
    settings = {k: raw[k] for k in ("model", "temperature", "max_tokens") if k in raw}
    return PromptVersionSpec(
        template=None if messages else template,
        messages=tuple(messages),
        message=str(raw.get("message", f"version {index + 1} from eval file")),
        settings=settings,
    )


def _int(data: dict[str, Any], key: str, default: int, mistakes: _Mistakes) -> int:
    value = data.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int):
        mistakes.add(key, f"must be an integer, got {value!r}")
        return default
    return value


def _float_or_none(data: dict[str, Any], key: str, mistakes: _Mistakes) -> float | None:
    value = data.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        mistakes.add(key, f"must be a number, got {value!r}")
        return None
    return float(value)
