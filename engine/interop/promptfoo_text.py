"""Text and files as promptfoo reads them: templates, YAML 1.2, chat prompts, CSV test rows."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import yaml

from domain.errors import ValidationError
from engine.interop.promptfoo_assertions import parse_csv_expected

_BRACES = re.compile(r"\{\{.*?\}\}|\{%.*?%\}|\{#.*?#\}", re.DOTALL)
_SIMPLE = re.compile(r"\{\{[ \t]*[A-Za-z_][A-Za-z0-9_]*[ \t]*\}\}")


def unsupported_template(text: str) -> str | None:
    """The first Nunjucks construct our ``{{ name }}`` templates cannot render, if any."""
    for match in _BRACES.finditer(text):
        if not _SIMPLE.fullmatch(match.group(0)):
            return match.group(0)
    return None


def render(text: str, variables: dict[str, Any]) -> str:
    """``{{ name }}`` replaced by the variable's value; unknown names render empty, as in
    promptfoo."""

    def fill(match: re.Match[str]) -> str:
        value = variables.get(match.group(0).strip("{} \t"), "")
        return value if isinstance(value, str) else json.dumps(value)

    return _SIMPLE.sub(fill, text)


def csv_test(row: dict[str, str]) -> tuple[dict[str, Any], list[str]]:
    """One row of a promptfoo CSV as a test mapping, and the ``__`` columns it cannot read."""
    test: dict[str, Any] = {"vars": {}, "assert": [], "metadata": {}}
    thresholds: dict[str, float] = {}
    unread: list[str] = []
    for column, value in row.items():
        value = value or ""
        if not column.startswith("__"):
            test["vars"][column] = value
        elif column.startswith("__expected"):
            if value.strip():
                test["assert"].append({**parse_csv_expected(value), "_column": column})
        elif column == "__description":
            test["description"] = value
        elif column == "__threshold":
            if value.strip():
                test["threshold"] = float(value)
        elif column.startswith("__metadata:"):
            key = column[len("__metadata:") :]
            if key.endswith("[]"):
                parts = re.split(r"(?<!\\),", value)
                test["metadata"][key[:-2]] = [p.replace("\\,", ",").strip() for p in parts]
            else:
                test["metadata"][key] = value
        elif column.startswith("__config:") and column.endswith(":threshold"):
            if value.strip():
                thresholds[column.split(":")[1]] = float(value)
        elif value.strip():
            unread.append(column)
    for assertion in test["assert"]:
        column = assertion.pop("_column")
        key = (
            "__expected" if column == "__expected1" and "__expected1" not in thresholds else column
        )
        if key in thresholds:
            assertion["threshold"] = thresholds[key]
    return test, unread


def is_message(item: Any) -> bool:
    return (
        isinstance(item, dict)
        and set(item) == {"role", "content"}
        and item["role"] in ("system", "user", "assistant")
        and isinstance(item["content"], str)
    )


def maybe_chat(text: str) -> Any:
    """An inline prompt that is a JSON list of messages is a chat prompt, as in promptfoo."""
    if text.lstrip().startswith("["):
        try:
            parsed = json.loads(text)
        except json.JSONDecodeError:
            return text
        if isinstance(parsed, list) and parsed and all(is_message(m) for m in parsed):
            return parsed
    return text


def short(text: str, limit: int = 60) -> str:
    one_line = " ".join(text.split())
    return one_line if len(one_line) <= limit else one_line[: limit - 1] + "…"


class _Yaml12Loader(yaml.SafeLoader):
    """YAML as promptfoo (js-yaml, YAML 1.2) reads it: ``Yes``/``No``/``on`` stay text."""


_Yaml12Loader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:bool"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_Yaml12Loader.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)


def read_structured(path: Path) -> Any:
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise ValidationError(f"{path} not found", reason="not-found") from None
    try:
        return json.loads(text) if path.suffix == ".json" else yaml.load(text, _Yaml12Loader)  # noqa: S506 - a SafeLoader
    except (json.JSONDecodeError, yaml.YAMLError) as exc:
        raise ValidationError(f"{path}: not valid JSON/YAML ({exc})", reason="bad-suite") from None
