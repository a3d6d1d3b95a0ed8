"""promptfoo assertions in our terms: each becomes a `ScorerSpec` dict, or an `Unsupported`.

``not-<type>`` negates any type. A value that is a template is rendered with the case's
variables when the case is built (promptfoo renders assertion values the same way).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from domain.errors import NexusError
from domain.scoring import build_scorers, registered_scorers
from engine.interop.models import ModelMap
from engine.interop.suite import Unsupported

DEFAULT_GRADER = "openai:gpt-4.1-2025-04-14"
"""promptfoo's default grading provider, used when a config names none (then mapped)."""
DEFAULT_EMBEDDER = "openai:embedding:text-embedding-3-large"
DEFAULT_MODERATOR = "openai:moderation:omni-moderation-latest"

_CSV_PREFIX = re.compile(r"^(not-)?([a-z][a-z-]*)(?:\(([0-9.]+)\))?:(.*)$", re.DOTALL)
_CSV_ALIASES = {"fn": "javascript", "eval": "javascript", "grade": "llm-rubric"}
_BARE_CSV_TYPES = {"is-json", "contains-json", "is-xml", "is-sql", "answer-relevance"}
_LIST_TYPES = {"contains-any", "contains-all", "icontains-any", "icontains-all"}


@dataclass(frozen=True)
class Graders:
    """Which judge and embedding models the assertions of one test use."""

    model_map: ModelMap
    provider: str | None = None

    def judge(self, raw: dict[str, Any]) -> str:
        provider = self._provider(raw, DEFAULT_GRADER)
        return self.model_map.resolve_grader(provider) or provider

    def embedder(self, raw: dict[str, Any]) -> str:
        provider = self._provider(raw, DEFAULT_EMBEDDER)
        return self.model_map.resolve_embedder(provider) or provider

    def _provider(self, raw: dict[str, Any], default: str) -> str:
        return provider_id(raw.get("provider")) or self.provider or default


def provider_id(value: Any) -> str | None:
    """The id of a provider written as a string or as ``{id: ...}``."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and isinstance(value.get("id"), str):
        return str(value["id"])
    return None


def parse_csv_expected(text: str) -> dict[str, Any]:
    """A CSV ``__expected`` cell as an assertion: ``contains: Paris``, ``grade: ...``,
    ``similar(0.8): ...``, ``not-icontains: x``, ``is-json``; anything else is ``equals``."""
    stripped = text.strip()
    bare = stripped.removeprefix("not-")
    if bare in _BARE_CSV_TYPES:
        return {"type": stripped}
    if stripped.startswith("file://"):
        return {
            "type": "javascript" if stripped.endswith((".js", ".ts")) else "python",
            "value": stripped,
        }
    match = _CSV_PREFIX.match(stripped)
    if match is None:
        return {"type": "equals", "value": text}
    negate, kind, threshold, value = match.groups()
    kind = _CSV_ALIASES.get(kind, kind)
    raw: dict[str, Any] = {"type": f"{negate or ''}{kind}", "value": value.strip()}
    if threshold:
        raw["threshold"] = float(threshold)
    if kind in _LIST_TYPES:
        raw["value"] = [part.strip() for part in value.split(",") if part.strip()]
    return raw


Builder = Callable[[dict[str, Any], Graders, Path], dict[str, Any]]


def _value(raw: dict[str, Any]) -> Any:
    return raw.get("value")


def _text(key: str = "value") -> Builder:
    def build(raw: dict[str, Any], _g: Graders, _base: Path) -> dict[str, Any]:
        value = _value(raw)
        return {key: str(value)} if value is not None else {}

    return build


def _values(case_sensitive: bool) -> Builder:
    def build(raw: dict[str, Any], _g: Graders, _base: Path) -> dict[str, Any]:
        value = _value(raw)
        values = value if isinstance(value, list) else str(value).split(",")
        return {"values": [str(v).strip() for v in values], "case_sensitive": case_sensitive}

    return build


def _code(language: str) -> Builder:
    def build(raw: dict[str, Any], _g: Graders, base: Path) -> dict[str, Any]:
        value = str(_value(raw) or "")
        if not value.startswith("file://"):
            return {"expression": value}
        target, _, function = value[len("file://") :].partition(":")
        path = base / target
        if not path.is_file():
            raise _Skip(f"{language} assertion file {target!r} not found")
        if language == "javascript" and path.suffix not in (".js", ".cjs", ".mjs"):
            raise _Skip(f"{language} assertion file {target!r} ({path.suffix} is not JavaScript)")
        args = {"source": path.read_text(encoding="utf-8")}
        return {**args, "function": function} if function else args

    return build


class _Skip(Exception):  # noqa: N818 - a control-flow signal, never leaves this module
    pass


def _judge(key: str | None) -> Builder:
    def build(raw: dict[str, Any], graders: Graders, _base: Path) -> dict[str, Any]:
        args: dict[str, Any] = {"model": graders.judge(raw)}
        if key is not None and _value(raw) is not None:
            args[key] = str(_value(raw))
        return args

    return build


def _rubric(raw: dict[str, Any], graders: Graders, _base: Path) -> dict[str, Any]:
    args: dict[str, Any] = {"model": graders.judge(raw), "rubric": str(_value(raw) or "")}
    if raw.get("threshold") is not None:
        args["pass_threshold"] = float(raw["threshold"])
    return args


def _similar(raw: dict[str, Any], graders: Graders, _base: Path) -> dict[str, Any]:
    threshold = raw.get("threshold")
    return {
        "model": graders.embedder(raw),
        "value": str(_value(raw)),
        "threshold": 0.75 if threshold is None else float(threshold),
    }


def _json(raw: dict[str, Any], extract: bool) -> tuple[str, dict[str, Any]]:
    schema = _value(raw)
    if isinstance(schema, dict):
        return "json-schema", {"schema": schema, "extract": extract}
    return "is-json", {"extract": extract}


def _ceiling(key: str) -> Builder:
    def build(raw: dict[str, Any], _g: Graders, _base: Path) -> dict[str, Any]:
        if raw.get("threshold") is None:
            raise _Skip(f"assertion type '{raw['type']}' without a threshold")
        return {key: float(raw["threshold"])}

    return build


def _moderation(raw: dict[str, Any], graders: Graders, _base: Path) -> dict[str, Any]:
    # promptfoo's value is the categories that count (a list, or one name); its provider the
    # moderation model (default OpenAI's), through the model map like any model.
    provider = provider_id(raw.get("provider")) or DEFAULT_MODERATOR
    args: dict[str, Any] = {"model": graders.model_map.resolve(provider) or provider}
    value = _value(raw)
    if value is not None:
        args["categories"] = [str(v) for v in value] if isinstance(value, list) else [str(value)]
    return args


def _tool_f1(raw: dict[str, Any], _g: Graders, _base: Path) -> dict[str, Any]:
    # promptfoo's value: the expected tool names, a list or a comma-separated string.
    value = _value(raw)
    if value is None:
        raise _Skip("tool-call-f1 assertion without a value (the expected tools)")
    names = value if isinstance(value, list) else str(value).split(",")
    return {"expected": [str(n).strip() for n in names if str(n).strip()]}


def _levenshtein(raw: dict[str, Any], _g: Graders, _base: Path) -> dict[str, Any]:
    args: dict[str, Any] = {"value": str(_value(raw))}
    args["max_distance"] = int(raw.get("threshold", 5))
    return args


_BUILDERS: dict[str, tuple[str, Builder]] = {
    "equals": ("equals", lambda raw, _g, _b: {"value": str(_value(raw)), "strip": False}),
    "contains": ("contains", _text()),
    "icontains": ("icontains", _text()),
    "starts-with": ("starts-with", _text()),
    "regex": ("regex", lambda raw, _g, _b: {"pattern": str(_value(raw))}),
    "contains-any": ("contains-any", _values(True)),
    "contains-all": ("contains-all", _values(True)),
    "icontains-any": ("contains-any", _values(False)),
    "icontains-all": ("contains-all", _values(False)),
    "is-xml": ("is-xml", lambda _r, _g, _b: {}),
    "is-sql": ("is-sql", lambda _r, _g, _b: {}),
    "levenshtein": ("levenshtein", _levenshtein),
    "similar": ("embedding-cosine", _similar),
    "llm-rubric": ("llm-judge", _rubric),
    "factuality": ("factuality", _judge("value")),
    "model-graded-factuality": ("factuality", _judge("value")),
    "model-graded-closedqa": ("model-graded-closedqa", _judge("criteria")),
    "answer-relevance": ("answer-relevance", _judge(None)),
    "context-faithfulness": ("context-faithfulness", _judge(None)),
    "context-recall": ("context-recall", _judge("value")),
    "rouge-n": ("rouge-n", _text()),
    "bleu": ("bleu", _text()),
    "latency": ("latency", _ceiling("max_ms")),
    "cost": ("cost", _ceiling("max_usd")),
    "finish-reason": ("finish-reason", _text()),
    "python": ("python", _code("python")),
    "javascript": ("javascript", _code("javascript")),
    "perplexity": ("perplexity", _ceiling("max")),
    "moderation": ("moderation", _moderation),
    "is-valid-openai-tools-call": ("is-valid-openai-tools-call", lambda _r, _g, _b: {}),
    "tool-call-f1": ("tool-call-f1", _tool_f1),
}
_OWN_THRESHOLD = {"levenshtein", "similar", "llm-rubric", "latency", "cost", "perplexity"}


def map_assertion(
    raw: dict[str, Any], where: str, graders: Graders, base: Path
) -> dict[str, Any] | Unsupported:
    """The scorer spec for one promptfoo assertion, or why there is none."""
    kind = str(raw.get("type", ""))
    negate = kind.startswith("not-")
    base_kind = kind.removeprefix("not-")
    unknown_keys = sorted(set(raw) - {"type", "value", "threshold", "weight", "metric", "provider"})
    if unknown_keys:
        return Unsupported(where, f"assertion key(s) {', '.join(unknown_keys)} on '{kind}'")
    try:
        if base_kind in ("is-json", "contains-json"):
            scorer, args = _json(raw, extract=base_kind == "contains-json")
        elif base_kind in _BUILDERS:
            scorer, builder = _BUILDERS[base_kind]
            args = builder(raw, graders, base)
        else:
            return Unsupported(where, f"assertion type '{kind}'")
    except _Skip as exc:
        return Unsupported(where, str(exc))
    if scorer not in registered_scorers():
        return Unsupported(where, f"assertion type '{kind}' (no '{scorer}' scorer registered)")
    spec: dict[str, Any] = {"type": scorer, "args": args}
    if raw.get("weight") is not None:
        spec["weight"] = float(raw["weight"])
    threshold = raw.get("threshold")
    if threshold is not None and base_kind not in _OWN_THRESHOLD:
        spec["threshold"] = float(threshold)
    if negate:
        spec["negate"] = True
    try:
        build_scorers([spec])
    except NexusError as exc:
        return Unsupported(where, f"assertion '{kind}': {exc.message}")
    return spec


def scorer_name(raw: dict[str, Any]) -> str:
    """A valid scorer name: the assertion's ``metric`` kebab-cased, else its type."""
    return kebab(str(raw.get("metric") or raw.get("type") or "assertion")) or "assertion"


def kebab(text: str) -> str:
    """``"Language_fit v2"`` -> ``"language-fit-v2"``; starts with a letter."""
    name = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
    if name and not name[0].isalpha():
        name = f"m-{name}"
    return name
