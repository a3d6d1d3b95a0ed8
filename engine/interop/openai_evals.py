"""OpenAI Evals registry suites (``evals/registry/evals/*.yaml``), read as they are.

A registry YAML names an eval (``<name>: {id: <name>.<split>.<v>, ...}``) and its
implementation (``<name>.<split>.<v>: {class, args}``); ``args.samples_jsonl`` is relative
to the registry's data directory. Each sample becomes a case; the prompt is ONE version:
``{{input}}`` for text samples, or for chat samples the leading system message(s) in
``{{system}}``, the few-shot turns as a transcript in ``{{history}}`` and the final user turn
in ``{{input}}`` (our templates substitute text, they cannot splice a list of messages).

=================================================  ==============================================
class                                              scorer
=================================================  ==============================================
``evals.elsuite.basic.match:Match``                ``starts-with`` the ideal; several ideals: a
                                                   per-case ``regex`` ``\\A\\s*(?:i1|i2)``
``evals.elsuite.basic.includes:Includes``          ``contains`` (``contains-any`` per case for
                                                   several ideals); ``ignore_case``
``evals.elsuite.basic.fuzzy_match:FuzzyMatch``     ``f-score`` (token F1, the eval's f1 metric)
``evals.elsuite.basic.json_match:JsonMatch``       per-case ``json-schema`` ``{"const": ideal}``
``evals.elsuite.modelgraded.classify:              ``model-graded-classify`` from the
ModelBasedClassify``                               ``modelgraded_spec`` YAML, one per criterion
=================================================  ==============================================

The ``modelgraded_spec`` files are read at import time from ``../modelgraded/`` next to the
registry YAML (or ``modelgraded_dir``). The judge is the model OpenAI Evals hard-codes,
``gpt-3.5-turbo``, after the model map; the suite's own model is the map's ``*`` entry.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import yaml

from domain.datasets import TestCase
from domain.errors import ValidationError
from engine.evaluation.evalfile import PromptVersionSpec
from engine.interop import _oai_common as common
from engine.interop import openai_evals_api
from engine.interop._oai_basic import BASIC, FUZZY, INCLUDES, JSON_MATCH, MATCH, basic_scoring
from engine.interop._oai_modelgraded import modelgraded_scorers
from engine.interop.models import ModelMap
from engine.interop.suite import ImportedSuite, Unsupported, register_importer

CLASSIFY = "evals.elsuite.modelgraded.classify:ModelBasedClassify"
_FEW_SHOT = {"few_shot_jsonl", "num_few_shot"}
_KNOWN_ARGS = {
    MATCH: {"samples_jsonl", "max_tokens", *_FEW_SHOT},
    INCLUDES: {"samples_jsonl", "max_tokens", "ignore_case", *_FEW_SHOT},
    FUZZY: {"samples_jsonl", "max_tokens", *_FEW_SHOT},
    JSON_MATCH: {"samples_jsonl", "max_tokens"},
    CLASSIFY: {
        "samples_jsonl",
        "max_tokens",
        "modelgraded_spec",
        "modelgraded_spec_args",
        "eval_type",
        "modelgraded_spec_file",
        "samples_renamings",
        "match_fn",
        "multicomp_n",
        "multicomp_temperature",
        "metaeval",
    },
}
_DEFAULT_ARGS: dict[str, Any] = {
    "match_fn": "starts_or_endswith",
    "multicomp_n": 1,
    "metaeval": False,
}


def detect(_path: Path, data: Any) -> bool:
    """A mapping whose entries include one with an ``id`` naming another that has a
    ``class``: the registry's shape."""
    if not isinstance(data, dict):
        return False
    return any(
        isinstance(entry, dict)
        and isinstance(entry.get("id"), str)
        and isinstance(data.get(entry["id"]), dict)
        and "class" in data[entry["id"]]
        for entry in data.values()
    )


def load(path: Path, model_map: ModelMap) -> ImportedSuite:
    return load_openai_evals(path, model_map)


def load_openai_evals(
    path: str | Path,
    model_map: ModelMap | None = None,
    *,
    name: str | None = None,
    data_dir: str | Path | None = None,
    modelgraded_dir: str | Path | None = None,
) -> ImportedSuite:
    """Import one eval of an OpenAI Evals registry YAML.

    Args:
        path: The YAML; a ``#name`` suffix picks the eval (else ``name``, else the first).
        model_map: ``FROM=TO`` replacements; the suite runs on the ``*`` entry.
        name: The eval to import, when the YAML holds several.
        data_dir: Where ``samples_jsonl`` paths start (default: next to the YAML, then
            ``../data/`` from it, then the path as given).
        modelgraded_dir: Where ``modelgraded_spec`` YAMLs are (default ``../modelgraded``).

    Raises:
        ValidationError: ``reason="not-found"``, ``"bad-openai-eval"`` (with the key path),
            ``"lfs-pointer"`` (the samples are a Git LFS pointer), ``"bad-samples"``.
    """
    source = Path(path)
    if not source.exists() and "#" in source.name:
        stem, _, picked = source.name.rpartition("#")
        source, name = source.with_name(stem), name or picked
    data = _read_yaml(source, "openai-evals file")
    eval_name, spec_id, impl = _pick(source, data, name)
    importer = _Import(
        source=source,
        model_map=model_map or ModelMap(),
        where=spec_id,
        data_dir=Path(data_dir) if data_dir else None,
        modelgraded_dir=Path(modelgraded_dir) if modelgraded_dir else None,
    )
    return importer.run(eval_name, data[eval_name], impl)


def _read_yaml(source: Path, what: str) -> Any:
    try:
        text = source.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ValidationError(f"{what} {source} not found", reason="not-found") from None
    if text.startswith(common.LFS_POINTER):
        raise ValidationError(
            f"{what} {source} is a Git LFS pointer, not the file: fetch it with `git lfs pull`",
            reason="lfs-pointer",
        )
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ValidationError(
            f"{what} {source}: invalid YAML ({exc})", reason="bad-openai-eval"
        ) from None


def _bad(source: Path, where: str, problem: str) -> ValidationError:
    return ValidationError(
        f"openai-evals file {source}: {where}: {problem}", reason="bad-openai-eval", field=where
    )


def _pick(source: Path, data: Any, name: str | None) -> tuple[str, str, dict[str, Any]]:
    if not isinstance(data, dict):
        raise _bad(source, "(top)", "must be a mapping of eval names")
    evals = [
        key
        for key, entry in data.items()
        if isinstance(entry, dict) and isinstance(entry.get("id"), str)
    ]
    if not evals:
        raise _bad(source, "(top)", "names no eval (an entry with an 'id')")
    if name is None:
        name = evals[0]
    if name not in evals:
        raise _bad(source, name, f"no such eval (the file has: {', '.join(evals)})")
    spec_id = data[name]["id"]
    impl = data.get(spec_id)
    if not isinstance(impl, dict) or not isinstance(impl.get("class"), str):
        raise _bad(source, spec_id, "the eval's id names no entry with a 'class'")
    if not isinstance(impl.get("args", {}), dict):
        raise _bad(source, f"{spec_id}.args", "must be a mapping")
    return name, spec_id, impl


@dataclass
class _Import:
    source: Path
    model_map: ModelMap
    where: str
    data_dir: Path | None
    modelgraded_dir: Path | None
    unsupported: list[Unsupported] = field(default_factory=list)

    def skip(self, where: str, what: str) -> None:
        self.unsupported.append(Unsupported(where, what))

    def run(self, eval_name: str, entry: dict[str, Any], impl: dict[str, Any]) -> ImportedSuite:
        cls, args = impl["class"], dict(impl.get("args") or {})
        for key in sorted(set(args) - _KNOWN_ARGS.get(cls, set(args))):
            self.skip(f"{self.where}.args.{key}", f"argument {key!r} of {cls}")
        for key, default in _DEFAULT_ARGS.items():
            if key in args and args[key] != default and key in _KNOWN_ARGS.get(cls, set()):
                self.skip(f"{self.where}.args.{key}", f"{key}={args[key]!r}")
        samples_arg = args.get("samples_jsonl")
        if not isinstance(samples_arg, str):
            raise _bad(self.source, f"{self.where}.args.samples_jsonl", "must name a file")
        rows = common.read_jsonl(self._data_path(samples_arg), "samples file")
        renamings = args.get("samples_renamings") or {}
        if renamings:
            rows = [{renamings.get(k, k): v for k, v in row.items()} for row in rows]
        samples = self._samples(rows, legacy=cls != CLASSIFY)
        self._add_few_shot(samples, args)
        chat = any(isinstance(s.input, list) for s in samples)
        scorers, per_case = self._scorers(cls, args, samples, chat)
        cases = self._cases(samples, chat, per_case)
        version = self._version(samples, chat, args)
        model = self.model_map.resolve(None)
        name = common.suite_name(eval_name)
        return ImportedSuite(
            kind="openai-evals",
            source=self.source,
            name=name,
            description=str(entry.get("description") or ""),
            prompt_name=name,
            versions=(version,),
            models=(model,) if model else (),
            cases=tuple(cases),
            scorers=tuple(scorers),
            unsupported=tuple(self.unsupported),
        )

    def _data_path(self, relative: str) -> Path:
        here = self.source.parent
        candidates = [self.data_dir / relative] if self.data_dir else []
        candidates += [here / relative, here.parent / "data" / relative, Path(relative)]
        found = next((c for c in candidates if c.exists()), None)
        if found is None:
            looked = ", ".join(str(c) for c in dict.fromkeys(candidates))
            raise ValidationError(
                f"samples file {relative!r} of {self.source} not found (looked at {looked}); "
                "keep the registry's data/ beside evals/, or pass data_dir= to "
                "load_openai_evals",
                reason="not-found",
            )
        return found

    def _samples(self, rows: Sequence[dict[str, Any]], *, legacy: bool) -> list[_Sample]:
        # A model-graded sample's "completion" is the answer being graded, never the ideal.
        samples = []
        for index, row in enumerate(rows):
            where = f"samples[{index}]"
            prompt = row.get("input", row.get("prompt"))
            ideal = row.get("ideal", row.get("completion") if legacy else None)
            if prompt is None:
                raise _bad(self.source, where, "has no 'input' (or legacy 'prompt')")
            if isinstance(ideal, str):
                ideals = [ideal]
            elif isinstance(ideal, list) and all(isinstance(i, str) for i in ideal):
                ideals = list(ideal)
            elif ideal is None:
                ideals = []
            else:
                ideals = [json.dumps(ideal)]
            rest = {
                k: v for k, v in row.items() if k not in {"input", "prompt", "ideal", "completion"}
            }
            samples.append(_Sample(index, prompt, ideals, rest))
        return samples

    def _add_few_shot(self, samples: Sequence[_Sample], args: dict[str, Any]) -> None:
        """Splice the first ``num_few_shot`` few-shot chats before each chat's last message,
        as the eval classes do (they require chat inputs for it)."""
        count = args.get("num_few_shot", 0)
        if not count:
            return
        where = f"{self.where}.args"
        if (
            not isinstance(count, int)
            or count < 0
            or not isinstance(args.get("few_shot_jsonl"), str)
        ):
            raise _bad(self.source, where, "num_few_shot needs a count and a few_shot_jsonl file")
        shots = common.read_jsonl(self._data_path(args["few_shot_jsonl"]), "few-shot file")[:count]
        turns: list[Any] = []
        for index, shot in enumerate(shots):
            if not isinstance(shot.get("sample"), list):
                raise _bad(self.source, f"few_shot[{index}]", "needs a 'sample' list of messages")
            turns += shot["sample"]
        for sample in samples:
            if not isinstance(sample.input, list):
                self.skip(f"samples[{sample.index}].input", "few-shot turns for a text input")
                continue
            sample.input = [*sample.input[:-1], *turns, *sample.input[-1:]]

    def _version(
        self, samples: Sequence[_Sample], chat: bool, args: dict[str, Any]
    ) -> PromptVersionSpec:
        settings: dict[str, Any] = {"temperature": 0.0}
        if isinstance(args.get("max_tokens"), int):
            settings["max_tokens"] = args["max_tokens"]
        if not chat:
            return PromptVersionSpec("{{input}}", (), "imported from OpenAI Evals", settings)
        parts = [s.parts for s in samples if s.parts is not None]
        messages = common.chat_messages(
            system=any(p.system is not None for p in parts),
            history=any(p.history for p in parts),
            user=any(p.input is not None for p in parts),
        )
        return PromptVersionSpec(None, messages, "imported from OpenAI Evals", settings)

    def _cases(
        self, samples: Sequence[_Sample], chat: bool, per_case: dict[int, list[dict[str, Any]]]
    ) -> list[TestCase]:
        cases: list[TestCase] = []
        ids: set[str] = set()
        mixed = chat and _mixes_system_only_chats(samples)
        for sample in samples:
            variables: dict[str, Any] = dict(sample.rest)
            if chat:
                try:
                    sample.parts = common.split_chat(sample.chat, f"samples[{sample.index}].input")
                except ValueError as exc:
                    where, _, what = str(exc).partition(": ")
                    self.skip(where, what)
                    continue
                if mixed and sample.parts.input is None:
                    self.skip(f"samples[{sample.index}].input", _SYSTEM_ONLY_AMONG_USER_CHATS)
                    sample.parts = None
                    continue
                variables.update(
                    system=sample.parts.system or "",
                    history=sample.parts.history,
                    input=sample.parts.input or "",
                    transcript=common.chat_as_text(sample.chat),
                )
            else:
                variables["input"] = sample.input
            expected = sample.ideals[0] if len(sample.ideals) == 1 else _joined(sample.ideals)
            case = common.make_case(
                variables,
                expected,
                per_case.get(sample.index, ()),
                {"source": f"samples[{sample.index}]", "ideal": sample.ideals},
            )
            if case.id in ids:  # a repeated sample runs again, as it does in OpenAI Evals
                case = replace(case, id=f"{case.id}-{sample.index}")
            ids.add(case.id)
            cases.append(case)
        return cases

    def _scorers(
        self, cls: str, args: dict[str, Any], samples: Sequence[_Sample], chat: bool
    ) -> tuple[list[dict[str, Any]], dict[int, list[dict[str, Any]]]]:
        if cls == CLASSIFY:
            specs, skipped = modelgraded_scorers(
                args,
                where=self.where,
                registry_dir=self.source.parent,
                modelgraded_dir=self.modelgraded_dir,
                judge=self.model_map.resolve_grader("openai:gpt-3.5-turbo") or "",
                chat=chat,
            )
            self.unsupported.extend(skipped)
            return specs, {}
        if cls not in BASIC:
            self.skip(f"{self.where}.class", f"eval class {cls!r}")
            return [], {}
        scoring = basic_scoring(cls, args, [(s.index, s.ideals) for s in samples], self.where)
        self.unsupported.extend(scoring.unsupported)
        return scoring.run_wide, scoring.per_case


_SYSTEM_ONLY_AMONG_USER_CHATS = (
    "a chat of system messages only, where other samples end with a user message"
)


def _mixes_system_only_chats(samples: Sequence[_Sample]) -> bool:
    ends = {
        isinstance(s.input, list)
        and bool(s.input)
        and all(
            isinstance(m, dict) and m.get("role") == "system" and not m.get("name") for m in s.input
        )
        for s in samples
    }
    return len(ends) > 1


@dataclass
class _Sample:
    index: int
    input: Any
    ideals: list[str]
    rest: dict[str, Any]
    parts: common.ChatParts | None = None

    @property
    def chat(self) -> list[Any]:
        if isinstance(self.input, str):
            return [{"role": "user", "content": self.input}]
        return list(self.input)


def _joined(ideals: list[str]) -> str | None:
    return None if not ideals else json.dumps(ideals, ensure_ascii=False)


register_importer("openai-evals", detect, load)
register_importer("openai-evals-api", openai_evals_api.detect, openai_evals_api.load)
