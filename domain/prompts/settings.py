"""Model settings: the call parameters versioned together with a template."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields
from typing import Any

from domain.canonical import canonical_json
from domain.errors import ValidationError
from domain.llm.params import check_generation_params
from domain.prompts.jsonutil import FrozenMap, freeze_json, thaw_json
from domain.prompts.names import validate_single_line

DEFAULT_MAX_SETTINGS_BYTES = 64 * 1024
MAX_STOP_SEQUENCES = 16
MAX_MAX_TOKENS = 10_000_000
_RANGES: dict[str, tuple[float, float]] = {
    "temperature": (0.0, 2.0),
    "top_p": (0.0, 1.0),
    "presence_penalty": (-2.0, 2.0),
    "frequency_penalty": (-2.0, 2.0),
}
_RESERVED_EXTRA = frozenset({"messages", "prompt"})


def _invalid(name: str, message: str) -> ValidationError:
    return ValidationError(message, reason="invalid-setting", field=name)


def _number(name: str, value: object) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise _invalid(name, f"{name} must be a number")
    low, high = _RANGES[name]
    if not low <= value <= high:
        raise _invalid(name, f"{name} must be between {low:g} and {high:g}")
    return float(value)


def _integer(name: str, value: object, low: int | None, high: int | None) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise _invalid(name, f"{name} must be an integer")
    if (low is not None and value < low) or (high is not None and value > high):
        raise _invalid(name, f"{name} must be between {low} and {high}")
    return value


def _stop(value: object) -> tuple[str, ...]:
    items = (value,) if isinstance(value, str) else value
    if not isinstance(items, (list, tuple)) or len(items) > MAX_STOP_SEQUENCES:
        raise _invalid("stop", f"stop must be a list of at most {MAX_STOP_SEQUENCES} strings")
    if not all(isinstance(item, str) and 0 < len(item) <= 500 for item in items):
        raise _invalid("stop", "stop sequences must be non-empty strings of at most 500 chars")
    return tuple(items)


@dataclass(frozen=True)
class ModelSettings:
    """Model and sampling parameters of one prompt version; every field is optional.

    Floats are normalised (``temperature=1`` is stored as ``1.0``) so equal settings hash
    equally. ``extra`` carries provider-specific parameters as JSON values; it is deep-frozen.

    Examples:
        >>> ModelSettings(model="gpt-4o-mini", temperature=1, extra={"logprobs": True}).as_params()
        {'model': 'gpt-4o-mini', 'temperature': 1.0, 'logprobs': True}
    """

    model: str | None = None
    temperature: float | None = None
    max_tokens: int | None = None
    top_p: float | None = None
    stop: Sequence[str] = ()
    presence_penalty: float | None = None
    frequency_penalty: float | None = None
    seed: int | None = None
    extra: Mapping[str, Any] = field(default_factory=FrozenMap)

    def __post_init__(self) -> None:
        if self.model is not None:
            validate_single_line(self.model, "model", 200)
        for name in _RANGES:
            object.__setattr__(self, name, _number(name, getattr(self, name)))
        _integer("max_tokens", self.max_tokens, 1, MAX_MAX_TOKENS)
        _integer("seed", self.seed, None, None)
        object.__setattr__(self, "stop", _stop(self.stop))
        if not isinstance(self.extra, Mapping):
            raise _invalid("extra", "extra must be a mapping of parameter names to JSON values")
        clashes = sorted(set(self.extra) & (_FIELD_NAMES | _RESERVED_EXTRA))
        if clashes:
            raise _invalid("extra", f"extra must not set {', '.join(clashes)}")
        if any(not key for key in self.extra):
            raise _invalid("extra", "extra parameter names must not be empty")
        object.__setattr__(self, "extra", freeze_json(self.extra, "settings.extra"))

    def __hash__(self) -> int:
        return hash(canonical_json(self.to_dict()))

    @classmethod
    def from_dict(cls, data: object) -> ModelSettings:
        """Inverse of :meth:`to_dict`.

        Raises:
            ValidationError: ``reason="unknown-setting"`` for keys that are not fields,
                ``"invalid-setting"`` for bad values.
        """
        if not isinstance(data, Mapping):
            raise _invalid("settings", "settings must be a mapping")
        unknown = sorted(set(data) - _FIELD_NAMES)
        if unknown:
            raise ValidationError(
                f"unknown model settings: {', '.join(map(str, unknown))}",
                reason="unknown-setting",
                keys=[str(key) for key in unknown],
            )
        return cls(**data)

    def to_dict(self) -> dict[str, Any]:
        """The fields that are set (not ``None``/empty), JSON-safe: the canonical form."""
        data: dict[str, Any] = {}
        for item in fields(self):
            value = getattr(self, item.name)
            if value is not None and value != () and value != {}:
                data[item.name] = thaw_json(value)
        return data

    def size_bytes(self) -> int:
        """Size of the canonical JSON form, for the settings size limit."""
        return len(canonical_json(self.to_dict()))

    def check_parameters(self) -> None:
        """Refuse ``extra`` parameters outside the allow-list, or of the wrong type.

        Done at commit and at run creation rather than on construction, so that versions
        stored before the allow-list still load (and a run over them is refused up front).

        Raises:
            ValidationError: ``reason="unsupported-parameter"`` or ``"invalid-parameter"``
                (see `domain.llm.check_generation_params`).
        """
        check_generation_params(thaw_json(self.extra), "settings.extra")

    def as_params(self) -> dict[str, Any]:
        """Keyword arguments for an LLM call: set fields plus ``extra`` flattened in."""
        params = self.to_dict()
        params.update(params.pop("extra", {}))
        return params


_FIELD_NAMES = frozenset(item.name for item in fields(ModelSettings))
