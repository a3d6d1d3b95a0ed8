"""Hosted OpenAI Evals API definitions (``POST /v1/evals`` bodies), read as they are.

The file is JSON: ``{"eval": {...}, "items": [...]}``, optionally with ``"run"`` (a
``POST /v1/evals/{id}/runs`` body whose ``data_source.input_messages.template`` is the prompt
and ``data_source.model`` the model), or the eval object alone with its items in
``<file stem>.items.jsonl`` next to it (or ``items_path``). The eval object has
``data_source_config`` and ``testing_criteria``; ``{{item.x}}`` becomes the case variable
``x`` and ``{{sample.output_text}}`` the model's output.

==================  ===========================================================
grader              scorer
==================  ===========================================================
``string_check``    ``eq`` ``equals``, ``ne`` negated ``equals``, ``like``
                    ``contains``, ``ilike`` ``contains`` ignoring case
``text_similarity`` ``fuzzy_match`` ``similarity``, ``bleu``, ``rouge_1..4``
                    ``rouge-n``; ``pass_threshold`` the threshold
``label_model``     ``model-graded-classify``: labels the choices, passing ones 1
``score_model``     ``llm-judge``: ``range`` rescaled to [0, 1], ``pass_threshold``
==================  ===========================================================
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from domain.errors import ValidationError
from engine.evaluation.evalfile import PromptVersionSpec
from engine.interop import _oai_common as common
from engine.interop.models import ModelMap
from engine.interop.suite import ImportedSuite, Unsupported

_REF = re.compile(r"\{\{\s*(item|sample)\.([A-Za-z_][A-Za-z0-9_.]*)\s*\}\}")
_OUTPUT = "sample.output_text"
_SIMILARITY: dict[str, tuple[str, dict[str, Any]]] = {
    "fuzzy_match": ("similarity", {}),
    "bleu": ("bleu", {}),
    **{f"rouge_{n}": ("rouge-n", {"n": n}) for n in (1, 2, 3, 4)},
}
_STRING_OPS: dict[str, tuple[str, dict[str, Any], bool]] = {
    "eq": ("equals", {"strip": False}, False),
    "ne": ("equals", {"strip": False}, True),
    "like": ("contains", {"case_sensitive": True}, False),
    "ilike": ("contains", {"case_sensitive": False}, False),
}


def detect(_path: Path, data: Any) -> bool:
    """An eval object (``data_source_config`` and ``testing_criteria``), or one wrapped in
    ``{"eval": ...}``."""
    if isinstance(data, dict) and isinstance(data.get("eval"), dict):
        data = data["eval"]
    return isinstance(data, dict) and "data_source_config" in data and "testing_criteria" in data


def load(path: Path, model_map: ModelMap) -> ImportedSuite:
    return load_openai_evals_api(path, model_map)


def load_openai_evals_api(
    path: str | Path, model_map: ModelMap | None = None, *, items_path: str | Path | None = None
) -> ImportedSuite:
    """Import a hosted Evals API definition.

    Raises:
        ValidationError: ``reason="not-found"`` or ``"bad-openai-eval"`` with the key path.
    """
    source = Path(path)
    try:
        data = json.loads(source.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ValidationError(
            f"openai-evals-api file {source} not found", reason="not-found"
        ) from None
    except ValueError as exc:
        raise _bad(source, "(top)", f"invalid JSON ({exc})") from None
    if not detect(source, data):
        raise _bad(source, "(top)", "expected an eval with data_source_config and testing_criteria")
    wrapped = isinstance(data.get("eval"), dict)
    body = data["eval"] if wrapped else data
    items = data.get("items") if wrapped else None
    if items is None:
        items_file = Path(items_path) if items_path else source.with_suffix(".items.jsonl")
        items = common.read_jsonl(items_file, "items file")
    if not isinstance(items, list):
        raise _bad(source, "items", "must be a list")
    rows = [_item(source, i, row) for i, row in enumerate(items)]
    importer = _ApiImport(source, model_map or ModelMap())
    return importer.run(body, data.get("run") if wrapped else None, rows)


def _bad(source: Path, where: str, problem: str) -> ValidationError:
    return ValidationError(
        f"openai-evals-api file {source}: {where}: {problem}", reason="bad-openai-eval", field=where
    )


def _item(source: Path, index: int, row: Any) -> dict[str, Any]:
    if isinstance(row, dict) and isinstance(row.get("item"), dict):
        row = row["item"]  # the JSONL file-content shape: {"item": {...}}
    if not isinstance(row, dict) or not row:
        raise _bad(source, f"items[{index}]", "must be a non-empty object")
    return row


def _lookup(row: dict[str, Any], dotted: str) -> Any:
    value: Any = row
    for part in dotted.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    return value


def _as_text(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


@dataclass
class _ApiImport:
    source: Path
    model_map: ModelMap
    unsupported: list[Unsupported] = field(default_factory=list)
    per_case: list[Callable[[dict[str, Any]], dict[str, Any]]] = field(default_factory=list)

    def run(self, body: dict[str, Any], run: Any, rows: list[dict[str, Any]]) -> ImportedSuite:
        template, model = self._prompt(run, rows)
        expected_field = self._expected_field(body, rows)
        scorers: list[dict[str, Any]] = []
        criteria = body.get("testing_criteria")
        if not isinstance(criteria, list):
            raise _bad(self.source, "testing_criteria", "must be a list")
        for index, grader in enumerate(criteria):
            where = f"testing_criteria[{index}]"
            if not isinstance(grader, dict):
                raise _bad(self.source, where, "must be an object")
            name = _scorer_name(grader, index)
            spec = self._grader(grader, where, expected_field, name)
            if spec is not None:
                scorers.append({**spec, "name": name})
        cases = []
        for row in rows:
            variables = dict(row)
            expected = _lookup(row, expected_field) if expected_field else None
            own = [build(row) for build in self.per_case]
            cases.append(
                common.make_case(variables, None if expected is None else _as_text(expected), own)
            )
        name = common.suite_name(str(body.get("name") or self.source.stem))
        return ImportedSuite(
            kind="openai-evals-api",
            source=self.source,
            name=name,
            description=str((body.get("metadata") or {}).get("description", "")),
            prompt_name=name,
            versions=(template,),
            models=(model,) if model else (),
            cases=tuple(cases),
            scorers=tuple(scorers),
            unsupported=tuple(self.unsupported),
        )

    def _prompt(self, run: Any, rows: list[dict[str, Any]]) -> tuple[PromptVersionSpec, str | None]:
        source = (run or {}).get("data_source", {}) if isinstance(run, dict) else {}
        model = self.model_map.resolve(f"openai:{source['model']}" if source.get("model") else None)
        template = (source.get("input_messages") or {}).get("template")
        if template is None:
            if not all("input" in r for r in rows):
                raise _bad(
                    self.source,
                    "run.data_source.input_messages",
                    "no prompt template, and not every item has an 'input' to send",
                )
            return PromptVersionSpec(
                "{{input}}", (), "imported from the OpenAI Evals API", {}
            ), model
        messages = []
        for index, message in enumerate(template):
            where = f"run.data_source.input_messages.template[{index}]"
            content = message.get("content") if isinstance(message, dict) else None
            role = message.get("role") if isinstance(message, dict) else None
            role = "system" if role == "developer" else role
            if not isinstance(content, str) or role not in ("system", "user", "assistant"):
                raise _bad(self.source, where, "a message is {role, content: text}")
            messages.append({"role": role, "content": _REF.sub(self._variable(where), content)})
        return PromptVersionSpec(
            None, tuple(messages), "imported from the OpenAI Evals API", {}
        ), model

    def _variable(self, where: str) -> Callable[[re.Match[str]], str]:
        def replace(m: re.Match[str]) -> str:
            if m.group(1) == "item" and "." not in m.group(2):
                return "{{" + m.group(2) + "}}"
            self.unsupported.append(Unsupported(where, f"reference {m.group(0)} in the prompt"))
            return m.group(0)

        return replace

    def _expected_field(self, body: dict[str, Any], rows: list[dict[str, Any]]) -> str | None:
        for grader in body.get("testing_criteria") or []:
            ref = grader.get("reference") if isinstance(grader, dict) else None
            match = _REF.fullmatch(ref.strip()) if isinstance(ref, str) else None
            if match and match.group(1) == "item":
                return match.group(2)
        return next((k for k in ("ideal", "expected", "reference") if rows and k in rows[0]), None)

    def _grader(
        self, grader: dict[str, Any], where: str, expected_field: str | None, name: str
    ) -> dict[str, Any] | None:
        kind = grader.get("type")
        if kind in ("string_check", "text_similarity"):
            if str(grader.get("input", "")).replace(" ", "") != "{{" + _OUTPUT + "}}":
                self.skip(
                    where + ".input", f"grading {grader.get('input')!r} (only {{{{{_OUTPUT}}}}})"
                )
                return None
            if kind == "string_check":
                found = _STRING_OPS.get(str(grader.get("operation")))
                if found is None:
                    self.skip(
                        where + ".operation", f"string_check operation {grader.get('operation')!r}"
                    )
                    return None
                scorer, args, negate = found
                spec: dict[str, Any] = {"type": scorer, "args": dict(args)}
                if negate:
                    spec["negate"] = True
            else:
                metric = grader.get("evaluation_metric")
                if not isinstance(metric, str) or metric not in _SIMILARITY:
                    self.skip(where + ".evaluation_metric", f"text_similarity metric {metric!r}")
                    return None
                scorer, args = _SIMILARITY[metric]
                spec = {"type": scorer, "args": dict(args)}
                if isinstance(grader.get("pass_threshold"), int | float):
                    spec["threshold"] = float(grader["pass_threshold"])
            if not common.has_scorer(scorer):
                self.skip(where, f"scorer {scorer!r} is not available")
                return None
            return self._reference(spec, grader, where, expected_field, name)
        if kind == "label_model":
            return self._label_model(grader, where)
        if kind == "score_model":
            return self._score_model(grader, where)
        self.skip(where + ".type", f"grader type {kind!r}")
        return None

    def skip(self, where: str, what: str) -> None:
        self.unsupported.append(Unsupported(where, what))

    def _reference(
        self,
        spec: dict[str, Any],
        grader: dict[str, Any],
        where: str,
        expected_field: str | None,
        name: str,
    ) -> dict[str, Any] | None:
        reference = grader.get("reference")
        if not isinstance(reference, str):
            self.skip(where + ".reference", "a reference that is not text")
            return None
        whole = _REF.fullmatch(reference.strip())
        if whole and whole.group(1) == "item" and whole.group(2) == expected_field:
            return spec  # the case's expected answer
        if not _REF.search(reference):
            spec["args"]["value"] = reference
            return spec
        if any(m.group(1) == "sample" for m in _REF.finditer(reference)):
            self.skip(where + ".reference", f"reference {reference!r} to the sample")
            return None

        def build(row: dict[str, Any]) -> dict[str, Any]:
            value = _REF.sub(lambda m: _as_text(_lookup(row, m.group(2))), reference)
            return {**spec, "args": {**spec["args"], "value": value}, "name": name}

        self.per_case.append(build)
        return None

    def _judge_text(self, grader: dict[str, Any], where: str, *, graded: bool) -> str | None:
        """The grader's messages as one prompt: for ``model-graded-classify`` (``graded``)
        with ``{completion}`` and ``{x}`` placeholders and literal braces doubled, for
        ``llm-judge`` as plain text (it appends the output itself)."""
        messages = grader.get("input")
        if isinstance(messages, str):
            messages = [{"role": "user", "content": messages}]
        if not isinstance(messages, list) or not messages:
            self.skip(where + ".input", "grader input that is not a list of messages")
            return None
        parts = []
        for message in messages:
            content = message.get("content") if isinstance(message, dict) else None
            if not isinstance(content, str):
                self.skip(where + ".input", "a message whose content is not text")
                return None
            pieces, last = [], 0
            for m in _REF.finditer(content):
                pieces.append(_literal(content[last : m.start()], graded))
                token = _judge_token(m, graded)
                if token is None:
                    self.skip(
                        where + ".input", f"reference {m.group(0)} in a {grader['type']} prompt"
                    )
                    return None
                pieces.append(token)
                last = m.end()
            pieces.append(_literal(content[last:], graded))
            parts.append("".join(pieces))
        return "\n\n".join(parts)

    def _label_model(self, grader: dict[str, Any], where: str) -> dict[str, Any] | None:
        if not common.has_scorer("model-graded-classify"):
            self.skip(where, "scorer 'model-graded-classify' is not available")
            return None
        labels, passing = grader.get("labels"), grader.get("passing_labels")
        if not isinstance(labels, list) or not labels or not isinstance(passing, list):
            raise _bad(self.source, where, "label_model needs labels and passing_labels lists")
        prompt = self._judge_text(grader, where, graded=True)
        if prompt is None:
            return None
        if "{completion}" not in prompt:
            prompt += "\n\n[Output]: {completion}"
        judge = self.model_map.resolve(f"openai:{grader['model']}" if grader.get("model") else None)
        return {
            "type": "model-graded-classify",
            "args": {
                "prompt": prompt,
                "choice_strings": [str(label) for label in labels],
                "choice_scores": {str(label): 1.0 if label in passing else 0.0 for label in labels},
                "eval_type": "classify",
                "model": judge or "",
            },
        }

    def _score_model(self, grader: dict[str, Any], where: str) -> dict[str, Any] | None:
        if not common.has_scorer("llm-judge"):
            self.skip(where, "scorer 'llm-judge' is not available")
            return None
        rubric = self._judge_text(grader, where, graded=False)
        if rubric is None:
            return None
        low, high = grader.get("range") or [0, 1]
        args: dict[str, Any] = {
            "model": self.model_map.resolve(
                f"openai:{grader['model']}" if grader.get("model") else None
            )
            or "",
            "rubric": rubric,
        }
        if isinstance(grader.get("pass_threshold"), int | float) and high > low:
            args["pass_threshold"] = min(
                1.0, max(0.0, (grader["pass_threshold"] - low) / (high - low))
            )
        return {"type": "llm-judge", "args": args}


def _literal(text: str, graded: bool) -> str:
    return text.replace("{", "{{").replace("}", "}}") if graded else text


def _judge_token(m: re.Match[str], graded: bool) -> str | None:
    scope, name = m.group(1), m.group(2)
    if scope == "sample":
        if name != "output_text":
            return None
        return "{completion}" if graded else "the answer"
    return "{" + name + "}" if graded and "." not in name else None


def _scorer_name(grader: dict[str, Any], index: int) -> str:
    raw = str(grader.get("name") or grader.get("type") or "grader")
    return f"{common.kebab(raw)}-{index + 1}"
