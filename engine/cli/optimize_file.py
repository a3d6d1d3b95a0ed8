"""Declarative optimize files (`autoforge optimize optimize.yaml`): the keywords of
`Engine.optimize`, in YAML.

    name: arithmetic-gepa
    prompt:                          # a prompt's name, or its content to start from
      name: calculator
      system: ""
      template: "What is {{a}} {{op}} {{b}}?"
    dataset: cases.jsonl             # JSONL or CSV relative to this file, or a dataset's name
    models: [openai/sim-small]
    scorers: [equals]                # names or {type, args, ...} mappings
    optimizer: gepa                  # or fewshot, random
    reflection_model: openai/sim-reflector
    max_metric_calls: 300
    budget: 0.50                     # USD
    split: [0.5, 0.25, 0.25]         # train, validation, test
    minibatch: 8
    seed: 0
    concurrency: 32
    options: {merge: true}
    patience: 3                      # stop after 3 generations without a new best
    simulator: true                  # start the simulated provider for openai/sim-* models

With the prompt's content in the file, that content is the baseline (committed on `main`
when it is new); with a bare name, `base` (default `main`) is. The file is only read and
checked here; the engine validates the values again before any call.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from domain.errors import NexusError, ValidationError
from domain.scoring import build_scorers
from engine.evaluation.code_files import read_code_file
from engine.evaluation.evalfile import PromptVersionSpec, _float_or_none, _int, _Mistakes

KIND, REASON = "optimize file", "bad-optimize-file"
DATASET_SUFFIXES = (".jsonl", ".csv")
_TOP = {
    "name",
    "prompt",
    "dataset",
    "dataset_version",
    "models",
    "scorers",
    "optimizer",
    "reflection_model",
    "max_metric_calls",
    "budget",
    "split",
    "minibatch",
    "seed",
    "concurrency",
    "parallel",
    "base",
    "options",
    "patience",
    "simulator",
}
_PROMPT = {"name", "template", "system"}


@dataclass(frozen=True)
class OptimizeFile:
    """A parsed optimize file.

    Attributes:
        prompt_name: The prompt to optimize.
        baseline: The content to start from (``None``: the prompt exists; start at ``base``).
        dataset_name: The dataset (for a file: ``<name>-cases``, created or updated).
        dataset_path: The JSONL/CSV file whose rows are the cases, if the file names one.
    """

    path: Path
    name: str
    prompt_name: str
    baseline: PromptVersionSpec | None
    dataset_name: str
    dataset_path: Path | None
    models: tuple[str, ...]
    scorers: tuple[str | dict[str, Any], ...]
    dataset_version: int | None = None
    optimizer: str = "gepa"
    reflection_model: str | None = None
    max_metric_calls: int = 500
    budget: float | None = None
    split: tuple[float, float, float] = (0.5, 0.25, 0.25)
    minibatch: int = 8
    seed: int = 0
    concurrency: int = 32
    parallel: int | None = None
    base: str = "main"
    options: dict[str, Any] = field(default_factory=dict)
    simulator: bool = False
    patience: int | None = None


def load_optimize_file(path: str | Path) -> OptimizeFile:
    """Read and check an optimize file, calling no service.

    Raises:
        ValidationError: ``reason="bad-optimize-file"`` listing every mistake, one line each
            with its key path (``details["mistakes"]``); ``reason="not-found"``.
    """
    source = Path(path)
    try:
        data = yaml.safe_load(source.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ValidationError(f"{KIND} {source} not found", reason="not-found") from None
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        raise ValidationError(f"{KIND} {source}: invalid YAML ({exc})", reason=REASON) from None
    mistakes = _Mistakes(source, KIND, REASON)
    if not isinstance(data, dict):
        mistakes.add("(top)", "must be a mapping")
        mistakes.check()
    for key in sorted(set(data) - _TOP, key=str):
        mistakes.add(str(key), f"unknown key (known: {', '.join(sorted(_TOP))})")
    name = str(data.get("name", source.stem))
    prompt_name, baseline = _prompt(data.get("prompt"), mistakes)
    if baseline is not None and "base" in data:
        mistakes.add("base", "give either the prompt's content or a base ref, not both")
    dataset_name, dataset_path = _dataset(data.get("dataset"), source, name, mistakes)
    models = data.get("models")
    if not isinstance(models, list) or not models or not all(isinstance(m, str) for m in models):
        mistakes.add("models", "needs a list of model names")
    scorers = _scorers(data.get("scorers", []), source.parent, mistakes)
    spec = OptimizeFile(
        path=source,
        name=name,
        prompt_name=prompt_name,
        baseline=baseline,
        dataset_name=dataset_name,
        dataset_path=dataset_path,
        models=tuple(models) if isinstance(models, list) else (),
        scorers=scorers,
        dataset_version=_int_or_none(data, "dataset_version", mistakes),
        optimizer=_text(data, "optimizer", "gepa", mistakes),
        reflection_model=_text_or_none(data, "reflection_model", mistakes),
        max_metric_calls=_int(data, "max_metric_calls", 500, mistakes),
        budget=_float_or_none(data, "budget", mistakes),
        split=_split(data.get("split", [0.5, 0.25, 0.25]), mistakes),
        minibatch=_int(data, "minibatch", 8, mistakes),
        seed=_int(data, "seed", 0, mistakes),
        concurrency=_int(data, "concurrency", 32, mistakes),
        parallel=_int_or_none(data, "parallel", mistakes),
        base=_text(data, "base", "main", mistakes),
        options=_options(data.get("options", {}), mistakes),
        simulator=_bool(data, "simulator", mistakes),
        patience=_int_or_none(data, "patience", mistakes),
    )
    mistakes.check()
    return spec


def _prompt(raw: Any, mistakes: _Mistakes) -> tuple[str, PromptVersionSpec | None]:
    if isinstance(raw, str) and raw.strip():
        return raw, None
    if not isinstance(raw, dict) or not isinstance(raw.get("name"), str):
        mistakes.add("prompt", "needs a prompt's name, or a mapping with name and template")
        return "", None
    for key in sorted(set(raw) - _PROMPT, key=str):
        mistakes.add(f"prompt.{key}", f"unknown key (known: {', '.join(sorted(_PROMPT))})")
    template, system = raw.get("template"), raw.get("system", "")
    if template is None and "system" not in raw:
        return raw["name"], None
    if not isinstance(template, str) or not isinstance(system, str):
        mistakes.add("prompt.template", "needs a template text (and an optional system text)")
        return raw["name"], None
    messages: tuple[dict[str, str], ...] = ()
    if system:
        messages = ({"role": "system", "content": system}, {"role": "user", "content": template})
    return raw["name"], PromptVersionSpec(
        template=None if messages else template,
        messages=messages,
        message="baseline from optimize file",
        settings={},
    )


def _dataset(raw: Any, source: Path, name: str, mistakes: _Mistakes) -> tuple[str, Path | None]:
    if not isinstance(raw, str) or not raw.strip():
        mistakes.add("dataset", "needs a dataset's name or the path of a JSONL or CSV file")
        return "", None
    if not raw.lower().endswith(DATASET_SUFFIXES):
        return raw, None
    path = source.parent / raw
    if not path.is_file():
        mistakes.add("dataset", f"no file {raw!r} next to the {KIND}")
        return "", None
    return f"{name}-cases", path.resolve()


def _scorers(raw: Any, base: Path, mistakes: _Mistakes) -> tuple[str | dict[str, Any], ...]:
    """The scorers, each code assertion's ``file`` read (relative to the optimize file)."""
    if not isinstance(raw, list) or not all(isinstance(s, str | dict) for s in raw):
        mistakes.add("scorers", "must be a list of scorer names or mappings")
        return ()
    read: list[str | dict[str, Any]] = []
    for index, item in enumerate(raw):
        try:
            spec = {"type": item} if isinstance(item, str) else read_code_file(item, base)
            build_scorers([spec])
            read.append(item if isinstance(item, str) else spec)
        except NexusError as exc:
            mistakes.add(f"scorers[{index}]", exc.message)
            read.append(item)
    return tuple(read)


def _split(raw: Any, mistakes: _Mistakes) -> tuple[float, float, float]:
    if (
        not isinstance(raw, list)
        or len(raw) != 3
        or not all(isinstance(x, int | float) and not isinstance(x, bool) for x in raw)
    ):
        mistakes.add("split", f"must be three fractions [train, validation, test], got {raw!r}")
        return (0.5, 0.25, 0.25)
    return (float(raw[0]), float(raw[1]), float(raw[2]))


def _options(raw: Any, mistakes: _Mistakes) -> dict[str, Any]:
    if not isinstance(raw, dict) or not all(isinstance(k, str) for k in raw):
        mistakes.add("options", "must be a mapping of option names to values")
        return {}
    return dict(raw)


def _text(data: dict[str, Any], key: str, default: str, mistakes: _Mistakes) -> str:
    value = data.get(key, default)
    if not isinstance(value, str) or not value.strip():
        mistakes.add(key, f"must be a non-empty text, got {value!r}")
        return default
    return value


def _text_or_none(data: dict[str, Any], key: str, mistakes: _Mistakes) -> str | None:
    return None if data.get(key) is None else _text(data, key, "", mistakes)


def _int_or_none(data: dict[str, Any], key: str, mistakes: _Mistakes) -> int | None:
    return None if data.get(key) is None else _int(data, key, 0, mistakes)


def _bool(data: dict[str, Any], key: str, mistakes: _Mistakes) -> bool:
    value = data.get(key, False)
    if not isinstance(value, bool):
        mistakes.add(key, f"must be true or false, got {value!r}")
        return False
    return value
