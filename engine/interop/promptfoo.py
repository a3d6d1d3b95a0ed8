"""promptfoo configs (``promptfooconfig.yaml``) as an `ImportedSuite`.

Every prompt becomes a version of one prompt, every provider a model (via `ModelMap`), every
test (after ``defaultTest`` merging and array-vars expansion) a case carrying its own
assertions. Constructs without an equivalent are listed as `Unsupported` with their key path.
"""

from __future__ import annotations

import csv
import io
import itertools
import json
import re
from dataclasses import replace
from pathlib import Path
from typing import Any

from domain.datasets import TestCase
from domain.errors import NexusError, ValidationError
from domain.prompts.template import find_variables
from engine.evaluation.evalfile import PromptVersionSpec
from engine.interop.models import ModelMap
from engine.interop.promptfoo_assertions import (
    Graders,
    kebab,
    map_assertion,
    provider_id,
    scorer_name,
)
from engine.interop.promptfoo_text import (
    csv_test,
    is_message,
    maybe_chat,
    read_structured,
    render,
    short,
    unsupported_template,
)
from engine.interop.suite import ImportedSuite, Unsupported, register_importer

_SETTINGS = {"temperature": "temperature", "max_tokens": "max_tokens"}
_CODE_SUFFIXES = (".js", ".cjs", ".mjs", ".ts", ".py")
_IGNORED_TOP = {
    "description",
    "prompts",
    "providers",
    "tests",
    "defaultTest",
    "assertionTemplates",
    "outputPath",
    "sharing",
    "writeLatestResults",
}
_TEST_KEYS = {"description", "vars", "assert", "options", "threshold", "metadata"}


def detect(path: Path, data: Any) -> bool:
    """A mapping with ``prompts`` and ``providers`` or ``tests``, or a promptfooconfig file."""
    if not isinstance(data, dict):
        return False
    return path.name.startswith("promptfooconfig") or (
        "prompts" in data and ("providers" in data or "tests" in data)
    )


class _Importer:
    def __init__(self, path: Path, model_map: ModelMap) -> None:
        self.path = path
        self.base = path.parent
        self.model_map = model_map
        self.unsupported: list[Unsupported] = []

    def skip(self, where: str, what: str) -> None:
        self.report(Unsupported(where, what))

    def report(self, item: Unsupported) -> None:
        # defaultTest constructs meet every test: list each once
        if item not in self.unsupported:
            self.unsupported.append(item)

    def load(self) -> ImportedSuite:
        data = read_structured(self.path)
        if not isinstance(data, dict):
            raise ValidationError(
                f"promptfoo config {self.path} is not a mapping", reason="bad-suite"
            )
        for key in sorted(set(data) - _IGNORED_TOP, key=str):
            self.skip(str(key), f"top-level key '{key}'")
        description = str(data.get("description") or "")
        name = kebab(description)[:60].strip("-") or self._file_name()
        settings, models = self.providers(data.get("providers", []))
        versions = self.prompts(data.get("prompts", []), settings)
        cases = _fill_missing(self.tests(data), versions)
        return ImportedSuite(
            kind="promptfoo",
            source=self.path,
            name=name,
            description=description,
            prompt_name=name,
            versions=tuple(versions),
            models=tuple(models),
            cases=tuple(cases),
            unsupported=tuple(self.unsupported),
        )

    def _file_name(self) -> str:
        stem = self.path.stem
        folder = self.path.resolve().parent.name
        return kebab(folder if stem.startswith("promptfooconfig") else stem) or "promptfoo"

    # prompts ---------------------------------------------------------------------------

    def prompts(self, raw: Any, settings: dict[str, Any]) -> list[PromptVersionSpec]:
        if isinstance(raw, dict):  # {prompt or file: label}
            raw = [{"id": key, "label": value} for key, value in raw.items()]
        items = raw if isinstance(raw, list) else [raw]
        specs: list[PromptVersionSpec] = []
        for index, item in enumerate(items):
            where = f"prompts[{index}]"
            label: str | None = None
            if isinstance(item, dict):
                for key in sorted(set(item) - {"raw", "id", "label"}):
                    self.skip(f"{where}.{key}", f"prompt key '{key}'")
                label = item.get("label")
                item = item.get("raw", item.get("id"))
            if not isinstance(item, str):
                self.skip(where, "a prompt that is neither text nor a file")
                continue
            for text_label, body in self._prompt_bodies(item, where):
                spec = self._version(body, label or text_label, settings, where)
                if spec is not None:
                    specs.append(spec)
        return specs

    def _prompt_bodies(self, item: str, where: str) -> list[tuple[str, Any]]:
        if not item.startswith("file://"):
            return [(short(item), maybe_chat(item))]
        target = item[len("file://") :]
        paths = sorted(self.base.glob(target)) if "*" in target else [self.base / target]
        bodies: list[tuple[str, Any]] = []
        for path in paths:
            if path.suffix in _CODE_SUFFIXES or ":" in path.name:
                self.skip(where, f"prompt function file '{target}'")
            elif not path.is_file():
                self.skip(where, f"prompt file '{target}' not found")
            elif path.suffix in (".json", ".yaml", ".yml"):
                bodies.append((path.name, self._chat_file(path, where)))
            else:
                parts = re.split(r"^---$", path.read_text(encoding="utf-8"), flags=re.MULTILINE)
                named = [p.strip("\n") for p in parts if p.strip()]
                bodies += [
                    (f"{path.name}[{i}]" if len(named) > 1 else path.name, p)
                    for i, p in enumerate(named)
                ]
        return bodies

    def _chat_file(self, path: Path, where: str) -> Any:
        text = path.read_text(encoding="utf-8")
        construct = unsupported_template(text)
        if construct is not None:
            return text  # reported by _version with the construct
        try:
            return read_structured(path)
        except ValidationError:
            self.skip(where, f"prompt file '{path.name}' is not valid JSON/YAML")
            return None

    def _version(
        self, body: Any, label: str, settings: dict[str, Any], where: str
    ) -> PromptVersionSpec | None:
        message = f"promptfoo prompt '{label}'"
        if body is None:
            return None
        if isinstance(body, str):
            construct = unsupported_template(body)
            if construct is not None:
                self.skip(
                    where,
                    f"Nunjucks {short(construct)} (our templates substitute {{{{ name }}}} only)",
                )
                return None
            return PromptVersionSpec(
                template=body, messages=(), message=message, settings=dict(settings)
            )
        if not isinstance(body, list) or not all(is_message(m) for m in body):
            self.skip(where, "chat prompt that is not a list of {role, content} messages")
            return None
        messages = tuple({"role": m["role"], "content": m["content"]} for m in body)
        for m in messages:
            construct = unsupported_template(m["content"])
            if construct is not None:
                self.skip(where, f"Nunjucks {short(construct)} in a chat message")
                return None
        return PromptVersionSpec(
            template=None, messages=messages, message=message, settings=dict(settings)
        )

    # providers -------------------------------------------------------------------------

    def providers(self, raw: Any) -> tuple[dict[str, Any], list[str]]:
        items = raw if isinstance(raw, list) else [raw]
        models: list[str] = []
        configs: list[dict[str, Any]] = []
        for index, item in enumerate(items):
            where = f"providers[{index}]"
            pid = provider_id(item)
            if pid is None:
                self.skip(where, "a provider without an id")
                continue
            if pid.startswith(("file://", "exec:", "python:", "http", "ws", "webhook:")):
                self.skip(where, f"provider '{pid}' (custom code or a remote service)")
                continue
            config: dict[str, Any] = {}
            if isinstance(item, dict):
                for key in sorted(set(item) - {"id", "label", "config"}):
                    self.skip(f"{where}.{key}", f"provider key '{key}'")
                for key, value in (item.get("config") or {}).items():
                    if key in _SETTINGS:
                        config[_SETTINGS[key]] = value
                    else:
                        self.skip(f"{where}.config.{key}", f"provider setting '{key}'")
            model = self.model_map.resolve(pid)
            if model is not None and model not in models:
                models.append(model)
            configs.append(config)
        if not models:
            fallback = self.model_map.resolve(None)
            models = [fallback] if fallback else []
        distinct = {json.dumps(c, sort_keys=True) for c in configs}
        if len(distinct) > 1:
            self.skip(
                "providers",
                "providers with different settings (a version's settings "
                "apply to every model); none were applied",
            )
            return {}, models
        return (configs[0] if configs else {}), models

    # tests -----------------------------------------------------------------------------

    def tests(self, data: dict[str, Any]) -> list[TestCase]:
        default = data.get("defaultTest") or {}
        if isinstance(default, str):
            self.skip("defaultTest", "defaultTest from a file")
            default = {}
        templates = data.get("assertionTemplates") or {}
        raw_tests = self._test_list(data.get("tests", []), "tests")
        cases: list[TestCase] = []
        for where, raw in raw_tests:
            cases += self._cases(raw, where, default, templates)
        return cases

    def _test_list(self, raw: Any, where: str) -> list[tuple[str, dict[str, Any]]]:
        items = raw if isinstance(raw, list) else [raw]
        found: list[tuple[str, dict[str, Any]]] = []
        for index, item in enumerate(items):
            at = f"{where}[{index}]" if isinstance(raw, list) else where
            if isinstance(item, dict):
                found.append((at, item))
            elif isinstance(item, str) and item.startswith("file://"):
                found += self._test_file(item[len("file://") :], at)
            elif item is not None:
                self.skip(at, "a test that is neither a mapping nor a file")
        return found

    def _test_file(self, target: str, where: str) -> list[tuple[str, dict[str, Any]]]:
        if "*" in target:
            matches = sorted(self.base.glob(target))
            if not matches:
                self.skip(where, f"tests files '{target}' match nothing")
            found: list[tuple[str, dict[str, Any]]] = []
            for match in matches:
                found += self._test_file(str(match.relative_to(self.base)), where)
            return found
        path = self.base / target
        if path.suffix in _CODE_SUFFIXES or not path.is_file():
            what = "generated by code" if path.suffix in _CODE_SUFFIXES else "not found"
            self.skip(where, f"tests file '{target}' {what}")
            return []
        text = path.read_text(encoding="utf-8-sig")
        if path.suffix == ".csv":
            found = []
            for i, row in enumerate(csv.DictReader(io.StringIO(text))):
                test, unread = csv_test(row)
                for column in unread:
                    self.skip(f"{target}[{i}].{column}", f"CSV column '{column}'")
                found.append((f"{target}[{i}]", test))
            return found
        if path.suffix == ".jsonl":
            lines = [line for line in text.splitlines() if line.strip()]
            return [(f"{target}[{i}]", json.loads(line)) for i, line in enumerate(lines)]
        loaded = read_structured(path)
        return self._test_list(loaded, target)

    def _cases(
        self, raw: dict[str, Any], where: str, default: dict[str, Any], templates: dict[str, Any]
    ) -> list[TestCase]:
        for key in sorted(set(raw) - _TEST_KEYS - {"provider"}, key=str):
            self.skip(f"{where}.{key}", f"test key '{key}'")
        options = {**(default.get("options") or {}), **(raw.get("options") or {})}
        for key in sorted(set(options) - {"provider"}):
            self.skip(f"{where}.options.{key}", f"test option '{key}'")
        graders = Graders(self.model_map, provider_id(options.get("provider")))
        own_vars, default_vars = raw.get("vars") or {}, default.get("vars") or {}
        if not isinstance(own_vars, dict) or not isinstance(default_vars, dict):
            self.skip(f"{where}.vars", "variables from a file (not a mapping)")
            return []
        variables = {**default_vars, **own_vars}
        if not self._load_var_files(variables, where):
            return []
        asserts = [
            (f"defaultTest.assert[{i}]", a) for i, a in enumerate(default.get("assert") or [])
        ]
        asserts += [(f"{where}.assert[{i}]", a) for i, a in enumerate(raw.get("assert") or [])]
        threshold = raw.get("threshold", default.get("threshold"))
        metadata = {**(default.get("metadata") or {}), **(raw.get("metadata") or {})}
        if raw.get("description"):
            metadata["description"] = str(raw["description"])
        cases = []
        for number, combo in enumerate(_expand(variables)):
            scorers = self._scorers(asserts, combo, graders, templates)
            suffix = f"-{number + 1}" if number else ""
            cases.append(
                TestCase(
                    id=f"{kebab(where) or 'test'}{suffix}",
                    variables=combo,
                    expected=None if combo else "",
                    metadata=metadata,
                    scorers=tuple(scorers),
                    threshold=None if threshold is None else float(threshold),
                )
            )
        return cases

    def _load_var_files(self, variables: dict[str, Any], where: str) -> bool:
        for key, value in list(variables.items()):
            if not (isinstance(value, str) and value.startswith("file://")):
                continue
            target = value[len("file://") :]
            path = self.base / target
            if path.suffix in _CODE_SUFFIXES:
                self.skip(f"{where}.vars.{key}", f"variable from code file '{target}'")
                return False
            if not path.is_file():
                self.skip(f"{where}.vars.{key}", f"variable file '{target}' not found")
                return False
            variables[key] = path.read_text(encoding="utf-8")
        return True

    def _scorers(
        self,
        asserts: list[tuple[str, Any]],
        variables: dict[str, Any],
        graders: Graders,
        templates: dict[str, Any],
    ) -> list[dict[str, Any]]:
        specs: list[dict[str, Any]] = []
        used: set[str] = set()
        for where, item in asserts:
            raw = self._resolve_ref(item, templates)
            if raw is None or not isinstance(raw.get("type"), str):
                self.skip(where, f"assertion {short(json.dumps(item, default=str))}")
                continue
            rendered = _rendered(raw, variables)
            spec = (
                Unsupported(where, rendered.what)
                if isinstance(rendered, Unsupported)
                else map_assertion(rendered, where, graders, self.base)
            )
            if isinstance(spec, Unsupported):
                self.report(spec)
                continue
            name = scorer_name(raw)
            if name in used:
                name = f"{name}-{len(specs) + 1}"
            used.add(name)
            specs.append({**spec, "name": name})
        return specs

    @staticmethod
    def _resolve_ref(item: Any, templates: dict[str, Any]) -> dict[str, Any] | None:
        if not isinstance(item, dict):
            return None
        if "$ref" not in item:
            return item
        ref = str(item["$ref"])
        prefix = "#/assertionTemplates/"
        found = templates.get(ref[len(prefix) :]) if ref.startswith(prefix) else None
        if not isinstance(found, dict):
            return None
        return {**found, **{k: v for k, v in item.items() if k != "$ref"}}


def _rendered(raw: dict[str, Any], variables: dict[str, Any]) -> dict[str, Any] | Unsupported:
    value = raw.get("value")
    if isinstance(value, str):
        construct = unsupported_template(value)
        if construct is not None:
            return Unsupported("", f"Nunjucks {short(construct)} in an assertion value")
        if raw["type"].removeprefix("not-") not in ("javascript", "python"):
            return {**raw, "value": render(value, variables)}
    return raw


def _fill_missing(cases: list[TestCase], versions: list[PromptVersionSpec]) -> list[TestCase]:
    """Give every case every prompt variable: promptfoo renders an undefined one empty."""
    names: dict[str, None] = {}
    for spec in versions:
        parts = [spec.template or ""] + [m["content"] for m in spec.messages]
        names.update((name, None) for part in parts for name in find_variables(part))
    filled = []
    for case in cases:
        missing = {name: "" for name in names if name not in case.variables}
        if missing:
            case = replace(case, variables={**case.variables, **missing}, expected=None)
        filled.append(case)
    return filled


def _expand(variables: dict[str, Any]) -> list[dict[str, Any]]:
    """promptfoo runs every combination of the values of array-valued variables."""
    keys = list(variables)
    choices = [v if isinstance(v, list) else [v] for v in variables.values()]
    return [dict(zip(keys, combo, strict=True)) for combo in itertools.product(*choices)]


def load(path: Path, model_map: ModelMap) -> ImportedSuite:
    """Import the promptfoo config at ``path`` (calls no service).

    Raises:
        ValidationError: an unreadable config, or a case our datasets refuse.
    """
    try:
        return _Importer(path, model_map).load()
    except NexusError:
        raise
    except (ValueError, TypeError, KeyError) as exc:
        raise ValidationError(f"promptfoo config {path}: {exc}", reason="bad-suite") from None


register_importer("promptfoo", detect, load)
__all__ = ["detect", "load"]
