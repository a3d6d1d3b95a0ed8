"""OpenAI Evals ``modelgraded_spec`` YAMLs as ``model-graded-classify`` scorer specs."""

from __future__ import annotations

import itertools
import re
from pathlib import Path
from typing import Any

import yaml

from domain.errors import ValidationError
from engine.interop import _oai_common as common
from engine.interop.suite import Unsupported

_EVAL_TYPES = ("classify", "cot_classify", "classify_cot")
_SPEC_KEYS = {"prompt", "choice_strings", "choice_scores", "input_outputs", "eval_type", "args"}
_FIELD = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")


def modelgraded_scorers(
    args: dict[str, Any],
    *,
    where: str,
    registry_dir: Path,
    modelgraded_dir: Path | None,
    judge: str,
    chat: bool,
) -> tuple[list[dict[str, Any]], list[Unsupported]]:
    """One scorer per combination of the spec's ``args`` (OpenAI Evals records one metric per
    combination, e.g. per ``criteria`` key), and what could not be brought over.

    Raises:
        ValidationError: ``reason="not-found"`` for a missing spec file,
            ``"bad-openai-eval"`` for a malformed one.
    """
    name = args.get("modelgraded_spec") or args.get("modelgraded_spec_file")
    if not isinstance(name, str):
        raise ValidationError(
            f"{where}.args.modelgraded_spec must name a spec", reason="bad-openai-eval"
        )
    path = _spec_path(name, registry_dir, modelgraded_dir)
    spec = _read_spec(path)
    if isinstance(spec.get(name), dict) and "prompt" not in spec:
        spec = spec[name]  # the registry's newer layout: ``<name>: {prompt: ...}``
    skipped = [
        Unsupported(f"{path.name}.{key}", f"modelgraded spec key {key!r}")
        for key in sorted(set(spec) - _SPEC_KEYS)
    ]
    if not common.has_scorer("model-graded-classify"):
        return [], [
            Unsupported(f"{where}.class", "scorer 'model-graded-classify' is not available")
        ]
    prompt = spec.get("prompt")
    if isinstance(prompt, list):
        users = [m for m in prompt if isinstance(m, dict) and m.get("role") == "user"]
        if len(prompt) != 1 or len(users) != 1:
            return [], [
                *skipped,
                Unsupported(f"{path.name}.prompt", "a chat prompt of several messages"),
            ]
        prompt = users[0].get("content")
    if not isinstance(prompt, str):
        raise ValidationError(
            f"modelgraded spec {path}: prompt must be text", reason="bad-openai-eval"
        )
    pairs = spec.get("input_outputs") or {"input": "completion"}
    if not isinstance(pairs, dict) or len(pairs) != 1:
        return [], [
            *skipped,
            Unsupported(f"{path.name}.input_outputs", "several completions per sample"),
        ]
    ((source_key, output_key),) = pairs.items()
    prompt = _rename(prompt, output_key, "completion")
    prompt = _rename(prompt, source_key, "transcript" if chat else "input")
    choices = spec.get("choice_strings")
    if isinstance(choices, str):
        choices = list(choices)
    if not isinstance(choices, list) or not choices:
        raise ValidationError(
            f"modelgraded spec {path}: choice_strings must be a list or a string of letters",
            reason="bad-openai-eval",
        )
    base: dict[str, Any] = {
        "model": judge,
        "choice_strings": [str(c) for c in choices],
        "eval_type": args.get("eval_type") or spec.get("eval_type") or "classify",
    }
    if base["eval_type"] not in _EVAL_TYPES:
        return [], [
            *skipped,
            Unsupported(f"{where}.args.eval_type", f"eval_type {base['eval_type']!r}"),
        ]
    scores = spec.get("choice_scores")
    if scores == "from_strings":
        scores = {c: float(c) for c in base["choice_strings"]}
        top = max(scores.values())
        scores = {c: v / top for c, v in scores.items()} if top > 1 else scores
    if isinstance(scores, dict):
        base["choice_scores"] = {str(k): float(v) for k, v in scores.items()}
    given = args.get("modelgraded_spec_args")
    combos = _combinations(given or spec.get("args") or {})
    fields = set(_FIELD.findall(prompt))
    odd = sorted(k for k in given or {} if k not in fields) if isinstance(given, dict) else []
    skipped += [
        Unsupported(f"{where}.args.modelgraded_spec_args.{key}", f"{key!r} is not in the prompt")
        for key in odd
    ]
    if "criteria" in fields and any("criteria" not in values for _, values in combos):
        return [], [*skipped, Unsupported(f"{path.name}.prompt", "{criteria} is given no value")]
    specs = []
    for label, values in combos:
        text = prompt
        scorer_args = dict(base)
        for key, value in values.items():
            if key == "criteria":
                scorer_args["criteria"] = value
            else:
                text = text.replace("{" + key + "}", value.replace("{", "{{").replace("}", "}}"))
        scorer_args["prompt"] = text
        name = "model-graded" if label is None else f"model-graded-{common.kebab(label, 'x')}"
        specs.append({"type": "model-graded-classify", "args": scorer_args, "name": name})
    return specs, skipped


def _rename(prompt: str, old: str, new: str) -> str:
    if old == new:
        return prompt
    return _FIELD.sub(lambda m: "{" + new + "}" if m.group(1) == old else m.group(0), prompt)


def _combinations(spec_args: Any) -> list[tuple[str | None, dict[str, str]]]:
    """``{criteria: {relevance: ..., conciseness: ...}}`` to one labelled combination each
    (a single combination is unlabelled, as OpenAI Evals names its metric then)."""
    if not isinstance(spec_args, dict) or not spec_args:
        return [(None, {})]
    names = sorted(spec_args)
    options = [
        sorted(spec_args[n].items()) if isinstance(spec_args[n], dict) else [(n, str(spec_args[n]))]
        for n in names
    ]
    combos: list[tuple[str | None, dict[str, str]]] = []
    for chosen in itertools.product(*options):
        label = "_".join(key for key, _ in chosen)
        combos.append((label, {n: str(v) for n, (_, v) in zip(names, chosen, strict=True)}))
    if len(combos) == 1:
        return [(None, combos[0][1])]
    return combos


def _spec_path(name: str, registry_dir: Path, modelgraded_dir: Path | None) -> Path:
    places = [modelgraded_dir] if modelgraded_dir else []
    places += [registry_dir.parent / "modelgraded", registry_dir / "modelgraded"]
    for place in places:
        for suffix in (".yaml", ".yml"):
            if (place / f"{name}{suffix}").exists():
                return place / f"{name}{suffix}"
    looked = ", ".join(str(p) for p in places)
    raise ValidationError(
        f"modelgraded spec {name!r} not found (looked in {looked}); copy it from "
        "openai/evals evals/registry/modelgraded/",
        reason="not-found",
    )


def _read_spec(path: Path) -> dict[str, Any]:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        raise ValidationError(
            f"modelgraded spec {path}: invalid YAML ({exc})", reason="bad-openai-eval"
        ) from None
    if not isinstance(data, dict):
        raise ValidationError(
            f"modelgraded spec {path} must be a mapping", reason="bad-openai-eval"
        )
    return data
