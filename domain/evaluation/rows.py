"""`ResultRow`: what one worked cell produced, as it crosses from the evaluator to the store.

The one definition of a result's fields: the cell runner builds it, the evaluator sums it,
the run's Redis stream carries `to_dict()`, the recorder reads it back with `from_dict` and
the store writes it; `domain.reports.ResultRecord` (what is read back) extends it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields
from typing import Any

from domain.llm.tool_calls import ToolCall, tool_calls_from_dicts

CELL_KEY_FIELDS = ("run_id", "prompt_version", "model", "case_id", "repeat")


@dataclass(frozen=True, kw_only=True)
class ResultRow:
    """One cell of a run: a prompt version × model × case × repeat, as worked.

    Attributes:
        run_id: The run the cell belongs to.
        prompt_version: The prompt version id.
        model: The model that was asked (see ``fallback_model`` for who answered).
        case_id: The test case id.
        repeat: The repeat index, from 0.
        output: The model's text, ``None`` when the call failed.
        passed: The pass/fail verdict of the scorers; ``None`` when errored or when no
            scorer gives a verdict.
        score: The overall score, usually in [0, 1]; ``None`` when errored or unscored.
        scores: Score per scorer name.
        latency_ms: How long the provider took to answer the last attempt (a cache hit:
            the lookup); waits for permits, the budget and retries are in ``queue_ms``.
        queue_ms: How long the call waited before and between attempts (permits, budget
            reservation, retry backoff, failed attempts).
        prompt_tokens: Prompt tokens used.
        completion_tokens: Completion tokens used.
        cost_usd: Cost of the call, ``None`` when unknown.
        error: Why the cell failed, ``None`` when it did not.
        fallback_model: The model that answered instead of ``model``, if any.
        cached: Whether the answer came from the response cache.
        reasons: Why each scorer (judges included) that did not pass said so, by name.
        attempts: Provider requests made for the cell's call.
        model_used: The model that answered, ``None`` when none did.
        scoring_cost_usd: What judge and embedding calls cost to score the cell.
        finish_reason: Why the model stopped (``"stop"``, ``"length"``, ``"tool_calls"``...),
            ``None`` when it did not say or did not answer.
        tool_calls: The function calls in the model's answer, in its order; the output is
            then its text, often empty.
        trace: A flow cell's steps as run, in order (``domain.flows`` trace entries:
            step, kind, inputs, output, latency, tokens, cost, error); ``None`` for a
            single-prompt cell.
    """

    run_id: str
    prompt_version: str
    model: str
    case_id: str
    repeat: int = 0
    output: str | None = None
    passed: bool | None = None
    score: float | None = None
    scores: Mapping[str, float] = field(default_factory=dict, hash=False)
    latency_ms: float | None = None
    queue_ms: float | None = None
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float | None = None
    error: str | None = None
    fallback_model: str | None = None
    cached: bool = False
    reasons: Mapping[str, str] = field(default_factory=dict, hash=False)
    attempts: int = 0
    model_used: str | None = None
    scoring_cost_usd: float = 0.0
    finish_reason: str | None = None
    tool_calls: tuple[ToolCall, ...] = field(default=(), hash=False)
    trace: tuple[Mapping[str, Any], ...] | None = field(default=None, hash=False)

    @property
    def key(self) -> tuple[str, str, str, int]:
        """The cell's key within its run (as `Cell.key`)."""
        return (self.prompt_version, self.model, self.case_id, self.repeat)

    @property
    def errored(self) -> bool:
        """Whether the cell failed (``error`` is set)."""
        return self.error is not None

    @property
    def verdict(self) -> bool | None:
        """Pass/fail as reports count it: an errored cell fails; ``None`` means ungraded."""
        return False if self.errored else self.passed

    @property
    def spent_usd(self) -> float:
        """What the cell cost, scoring included (an unknown call cost counts 0)."""
        return (self.cost_usd or 0.0) + self.scoring_cost_usd

    def to_dict(self) -> dict[str, Any]:
        """The row as JSON-ready values (the stream payload)."""
        if type(self) is not ResultRow:  # a subclass may hold nested values: copy them deep
            values = asdict(self)
            values["tool_calls"] = [call.to_dict() for call in self.tool_calls]
            return values
        # Not `dataclasses.asdict`: its recursive deep copy was ~3% of an evaluator's CPU
        # per cell; a row's only containers are its two flat mappings and its tool calls.
        values = {name: getattr(self, name) for name in _ROW_FIELDS}
        values["scores"] = dict(self.scores)
        values["reasons"] = dict(self.reasons)
        values["tool_calls"] = [call.to_dict() for call in self.tool_calls]
        if self.trace is not None:
            values["trace"] = [dict(step) for step in self.trace]
        return values

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ResultRow:
        """The row of a stream payload; unknown keys are ignored.

        Raises:
            ValueError: the payload has no complete cell key, or a field of the wrong type.
        """
        missing = [
            n for n in CELL_KEY_FIELDS[:4] if not isinstance(data.get(n), str) or not data[n]
        ]
        repeat = data.get("repeat")
        if missing or not isinstance(repeat, int) or isinstance(repeat, bool):
            raise ValueError(
                f"result without a complete cell key ({', '.join(missing) or 'repeat'})"
            )
        values = {name: data[name] for name in _field_names(cls) if data.get(name) is not None}
        try:
            values["scores"] = {str(k): float(v) for k, v in dict(values.get("scores", {})).items()}
            values["reasons"] = {str(k): str(v) for k, v in dict(values.get("reasons", {})).items()}
            for name in ("prompt_tokens", "completion_tokens", "attempts"):
                values[name] = int(values.get(name, 0))
            for name in ("latency_ms", "queue_ms", "cost_usd", "score"):
                if name in values:
                    values[name] = float(values[name])
            values["scoring_cost_usd"] = float(values.get("scoring_cost_usd", 0.0))
            values["tool_calls"] = tool_calls_from_dicts(values.get("tool_calls"))
            if "finish_reason" in values:
                values["finish_reason"] = str(values["finish_reason"])
        except (TypeError, ValueError) as exc:
            raise ValueError(f"result with a malformed field: {exc}") from None
        values["cached"] = bool(values.get("cached", False))
        trace = values.get("trace")
        if trace is not None:
            if not isinstance(trace, list | tuple) or not all(
                isinstance(t, Mapping) for t in trace
            ):
                raise ValueError("result with a malformed trace")
            values["trace"] = tuple(dict(t) for t in trace)
        return cls(**values)


_ROW_FIELDS = tuple(f.name for f in fields(ResultRow))
_FIELDS_OF: dict[type, tuple[str, ...]] = {ResultRow: _ROW_FIELDS}


def _field_names(cls: type[ResultRow]) -> tuple[str, ...]:
    names = _FIELDS_OF.get(cls)
    if names is None:
        names = _FIELDS_OF[cls] = tuple(f.name for f in fields(cls))
    return names
