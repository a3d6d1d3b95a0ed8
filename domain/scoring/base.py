"""Scores, the context they are computed from, scorer specs, the protocols and the registry."""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol, TypeVar, runtime_checkable

from domain.errors import ConfigurationError, ValidationError
from domain.llm.tool_calls import ToolCall

Needs = Literal["embedding", "completion", "moderation", "sandbox"] | None
CUSTOM_TYPE = "custom"
_SCORER_NAME = re.compile(r"[a-z][a-z0-9]*(?:-[a-z0-9]+)*")
_SPEC_KEYS = ("type", "args", "weight", "threshold", "name", "negate")


def _finite(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


@dataclass(frozen=True)
class Score:
    """The verdict of one scorer on one output.

    Args:
        value: How good the output is, within [0, 1].
        passed: Whether ``value`` reached the scorer's threshold.
        reason: One human-readable sentence explaining the verdict.
        name: Display name of the scorer that gave it.
    """

    value: float
    passed: bool
    reason: str
    name: str

    def __post_init__(self) -> None:
        if not _finite(self.value) or not 0.0 <= self.value <= 1.0:
            raise ValidationError(f"score value must be within [0, 1], got {self.value!r}")
        object.__setattr__(self, "value", float(self.value))

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe form, for results and stream payloads."""
        return {
            "name": self.name,
            "value": self.value,
            "passed": self.passed,
            "reason": self.reason,
        }


@dataclass(frozen=True)
class ScoreContext:
    """Everything a scorer may look at for one evaluated cell.

    Args:
        output: The model's answer text.
        expected: The test case's expected answer, if it has one.
        variables: The template variables the prompt was rendered with.
        metadata: The test case's metadata.
        latency_ms: The provider's answer time (last attempt, waits excluded); ``None`` when
            unknown.
        cost_usd: Price of the model call; ``None`` when the model has no known price.
        tokens: Total tokens of the call; ``None`` when unknown.
        model: The model that produced ``output``.
        finish_reason: Why the model stopped (``"stop"``, ``"length"``...); ``None`` when
            the provider did not say.
        logprobs: Log-probability of each token of ``output``; ``None`` unless a scorer of
            the cell asked for them (``wants_logprobs``) and the provider gave them.
        tool_calls: The function calls in the model's answer, in its order.
        tools: The tools the call offered (its ``tools`` parameter, OpenAI format).
        messages: The whole conversation, ``{"role", "content"}`` dicts ending with the
            answer: the messages the model was sent (a case's history included) and its
            reply; for a flow, the transcript of its last ``conversation`` step (every
            turn), else of its last ``llm`` step. ``output`` is the final answer's text.
    """

    output: str
    expected: str | None = None
    variables: Mapping[str, Any] = field(default_factory=dict)
    metadata: Mapping[str, Any] = field(default_factory=dict)
    latency_ms: float | None = None
    cost_usd: float | None = None
    tokens: int | None = None
    model: str = ""
    finish_reason: str | None = None
    logprobs: tuple[float, ...] | None = None
    tool_calls: tuple[ToolCall, ...] = ()
    tools: tuple[Mapping[str, Any], ...] = ()
    messages: tuple[Mapping[str, Any], ...] = ()


def _json_safe(value: Any, path: str) -> Any:
    if value is None or isinstance(value, bool | str) or _finite(value):
        return value
    if isinstance(value, Mapping):
        if not all(isinstance(k, str) for k in value):
            raise ValidationError(f"{path}: object keys must be strings", field=path)
        return {k: _json_safe(v, f"{path}.{k}") for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_safe(v, f"{path}[{i}]") for i, v in enumerate(value)]
    raise ValidationError(f"{path}: {value!r} is not JSON-safe", field=path)


@dataclass(frozen=True)
class ScorerSpec:
    """A scorer recorded by registered name and arguments, so a run can rebuild it later.

    Args:
        type: Registered scorer name, e.g. ``"regex"`` (see `registered_scorers`).
        args: JSON-safe arguments of that scorer, e.g. ``{"pattern": "^yes"}``.
        weight: Weight in the cell's combined score, >= 0; 0 makes the scorer informational.
        threshold: Pass mark within [0, 1]; ``None`` takes the scorer's default.
        name: Display name; defaults to ``type`` (``not-<type>`` when negated).
        negate: Invert the verdict (promptfoo's ``not-`` prefix): the value becomes
            ``1 - value`` and the cell passes exactly when the scorer would have failed. A
            scorer that cannot judge (no reference, unknown latency, a failed judge call)
            still fails: inverting "cannot tell" would pass what nobody checked.

    Examples:
        >>> spec = ScorerSpec("contains", {"value": "Paris"}, weight=2)
        >>> ScorerSpec.from_dict(spec.to_dict()) == spec
        True
    """

    type: str
    args: Mapping[str, Any] = field(default_factory=dict)
    weight: float = 1.0
    threshold: float | None = None
    name: str = ""
    negate: bool = False

    def __post_init__(self) -> None:
        if not isinstance(self.type, str) or not self.type:
            raise ValidationError(f"scorer type must be a non-empty string, got {self.type!r}")
        if not isinstance(self.args, Mapping):
            raise ValidationError(f"scorer '{self.type}': args must be an object", field="args")
        object.__setattr__(self, "args", _json_safe(self.args, "args"))
        if not _finite(self.weight) or self.weight < 0:
            raise ValidationError(
                f"scorer '{self.type}': weight must be a number >= 0, got {self.weight!r}",
                field="weight",
            )
        object.__setattr__(self, "weight", float(self.weight))
        if self.threshold is not None:
            if not _finite(self.threshold) or not 0.0 <= self.threshold <= 1.0:
                raise ValidationError(
                    f"scorer '{self.type}': threshold must be within [0, 1], "
                    f"got {self.threshold!r}",
                    field="threshold",
                )
            object.__setattr__(self, "threshold", float(self.threshold))
        if not isinstance(self.name, str):
            raise ValidationError(f"scorer '{self.type}': name must be a string", field="name")
        if not isinstance(self.negate, bool):
            raise ValidationError(
                f"scorer '{self.type}': negate must be true or false, got {self.negate!r}",
                field="negate",
            )
        object.__setattr__(
            self, "name", self.name or (f"not-{self.type}" if self.negate else self.type)
        )

    def __hash__(self) -> int:
        return hash(json.dumps(self.to_dict(), sort_keys=True))

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe record: ``{"type", "args", "weight", "threshold", "name"}``, plus
        ``"negate": true`` for a negated scorer (absent otherwise, so older records match)."""
        record = {
            "type": self.type,
            "args": json.loads(json.dumps(self.args)),
            "weight": self.weight,
            "threshold": self.threshold,
            "name": self.name,
        }
        if self.negate:
            record["negate"] = True
        return record

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ScorerSpec:
        """Rebuild a spec from `to_dict` output (``args``, ``weight``... may be omitted).

        Raises:
            ValidationError: Not an object, an unknown key, a missing ``type``, a record of a
                custom scorer (those cannot be rebuilt), or any invalid field.
        """
        if not isinstance(data, Mapping):
            raise ValidationError(f"a scorer spec must be an object, got {type(data).__name__}")
        if data.get("type") == CUSTOM_TYPE:
            raise ValidationError(
                f"custom scorer {data.get('name')!r} ({data.get('qualname', '?')}) cannot be "
                "rebuilt from a record; wrap the function again with custom_scorer()"
            )
        unknown = sorted(set(data) - set(_SPEC_KEYS))
        if unknown:
            raise ValidationError(
                f"unknown scorer spec field(s) {', '.join(unknown)} (allowed: "
                f"{', '.join(_SPEC_KEYS)})"
            )
        if "type" not in data:
            raise ValidationError("a scorer spec needs a 'type'", field="type")
        weight = data.get("weight", 1.0)
        return cls(
            type=data["type"],
            args=data.get("args") or {},
            weight=1.0 if weight is None else weight,
            threshold=data.get("threshold"),
            name=data.get("name") or "",
            negate=data.get("negate", False),
        )


@runtime_checkable
class Scorer(Protocol):
    """What every scorer offers; ``needs`` says which model call, if any, it waits for."""

    @property
    def name(self) -> str: ...

    @property
    def weight(self) -> float: ...

    @property
    def threshold(self) -> float: ...

    @property
    def needs(self) -> Needs: ...

    def record(self) -> dict[str, Any]:
        """JSON-safe record of what was used (a `ScorerSpec` dict for built-ins)."""
        ...


@runtime_checkable
class PureScorer(Scorer, Protocol):
    """A scorer that needs no model call (``needs is None``)."""

    def score(self, ctx: ScoreContext) -> Score: ...


@runtime_checkable
class EmbeddingScorer(Scorer, Protocol):
    """A scorer comparing two texts by embedding (``needs == "embedding"``).

    The evaluator calls `precheck`; when it gives no verdict, embeds both `texts` with
    ``model`` through the gateway and hands the vectors to `from_vectors`.
    """

    @property
    def model(self) -> str: ...

    def precheck(self, ctx: ScoreContext) -> Score | None: ...

    def texts(self, ctx: ScoreContext) -> tuple[str, str]: ...

    def from_vectors(self, a: Sequence[float], b: Sequence[float]) -> Score: ...


@runtime_checkable
class ModerationScorer(Scorer, Protocol):
    """A scorer asking a moderation model about the output (``needs == "moderation"``).

    The evaluator moderates `text` with ``model`` through the gateway and hands the verdict
    per category and the category scores to `from_result`.
    """

    @property
    def model(self) -> str: ...

    def text(self, ctx: ScoreContext) -> str: ...

    def from_result(
        self, flagged_categories: Mapping[str, bool], scores: Mapping[str, float]
    ) -> Score: ...


@runtime_checkable
class JudgeScorer(Scorer, Protocol):
    """A scorer asking a judge model (``needs == "completion"``).

    The evaluator sends `build_messages` to ``judge_model`` and hands the reply to `parse`;
    ``system_prompt`` and ``prompt_template`` are what a run records as the judge's prompt.
    """

    @property
    def judge_model(self) -> str: ...

    @property
    def system_prompt(self) -> str: ...

    @property
    def prompt_template(self) -> str: ...

    def build_messages(self, ctx: ScoreContext) -> list[dict[str, str]]: ...

    def parse(self, text: str) -> Score: ...


@runtime_checkable
class SandboxScorer(Scorer, Protocol):
    """A scorer running a user's program (``needs == "sandbox"``, ``executes_code``).

    The evaluator runs `request`'s payload in the ``language``'s sandbox, bounded by
    ``timeout_s`` and ``memory_bytes``, and hands the program's JSON answer to `parse`, or
    the sandbox's reason (timeout, memory, missing runtime) to `failed`.
    """

    @property
    def executes_code(self) -> bool: ...

    @property
    def language(self) -> str: ...

    @property
    def timeout_s(self) -> float: ...

    @property
    def memory_bytes(self) -> int: ...

    def request(self, ctx: ScoreContext) -> dict[str, Any]: ...

    def parse(self, answer: Mapping[str, Any]) -> Score: ...

    def failed(self, reason: str) -> Score: ...


ScorerFactory = Callable[[ScorerSpec], Scorer]
F = TypeVar("F", bound=ScorerFactory)
_REGISTRY: dict[str, ScorerFactory] = {}


def register_scorer(name: str) -> Callable[[F], F]:
    """Register a scorer class (or factory taking a `ScorerSpec`) under ``name``.

    Examples:
        >>> @register_scorer("always-pass")  # doctest: +SKIP
        ... class AlwaysPass(BaseScorer):
        ...     def score(self, ctx): return self.result(1.0, "always passes")
    """
    if not _SCORER_NAME.fullmatch(name) or name == CUSTOM_TYPE:
        raise ConfigurationError(f"invalid scorer name {name!r} (lower-case kebab-case)")

    def decorate(factory: F) -> F:
        existing = _REGISTRY.get(name)
        if existing is not None and existing is not factory:
            raise ConfigurationError(f"scorer {name!r} is already registered")
        _REGISTRY[name] = factory
        return factory

    return decorate


def registered_scorers() -> list[str]:
    """Names of every registered scorer, sorted."""
    return sorted(_REGISTRY)


def executes_code(scorer_type: str) -> bool:
    """Whether the registered scorer ``scorer_type`` runs a user's program (an unknown type
    does not: building it fails anyway)."""
    return bool(getattr(_REGISTRY.get(scorer_type), "executes_code", False))


def build_scorer(spec: ScorerSpec | Mapping[str, Any]) -> Scorer:
    """Build the scorer a spec names, validating its arguments before any model call.

    Raises:
        ValidationError: Unknown type, or arguments the scorer rejects.
    """
    if not isinstance(spec, ScorerSpec):
        spec = ScorerSpec.from_dict(spec)
    factory = _REGISTRY.get(spec.type)
    if factory is None:
        known = ", ".join(registered_scorers())
        raise ValidationError(f"unknown scorer '{spec.type}' (known: {known})", field="type")
    scorer = factory(spec)
    if spec.negate and getattr(scorer, "negate", False) is not True:
        raise ValidationError(
            f"scorer '{spec.type}' cannot be negated (it does not apply ScorerSpec.negate)",
            field="negate",
        )
    return scorer


def build_scorers(specs: Iterable[ScorerSpec | Mapping[str, Any]]) -> list[Scorer]:
    """Build several scorers; display names must be unique within one set.

    Raises:
        ValidationError: Any invalid spec, or two scorers sharing a display name.
    """
    scorers = [build_scorer(spec) for spec in specs]
    seen: set[str] = set()
    for scorer in scorers:
        if scorer.name in seen:
            raise ValidationError(
                f"two scorers are named {scorer.name!r}; give one a distinct 'name'",
                field="name",
            )
        seen.add(scorer.name)
    return scorers
