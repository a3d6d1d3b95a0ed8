"""Canonical JSON and deep-frozen JSON values: the ground content hashes stand on."""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from typing import Any

from domain.canonical import canonical_json
from domain.errors import ValidationError

MAX_JSON_DEPTH = 32


class FrozenMap(Mapping[str, Any]):
    """An immutable, hashable and picklable mapping, used for nested JSON settings."""

    __slots__ = ("_data",)

    def __init__(self, data: Mapping[str, Any] | None = None) -> None:
        self._data: dict[str, Any] = dict(data or {})

    def __getitem__(self, key: str) -> Any:
        return self._data[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)

    def __hash__(self) -> int:
        return hash(canonical_json(thaw_json(self)))

    def __repr__(self) -> str:
        return f"FrozenMap({self._data!r})"


def freeze_json(value: Any, path: str, depth: int = 0) -> Any:
    """Validate a JSON value and return it deep-frozen (mappings → FrozenMap, lists → tuples).

    Raises:
        ValidationError: ``reason="not-json"`` for anything JSON cannot carry exactly
            (non-string keys, NaN/infinity, other types) or nesting deeper than 32 levels.
    """
    if depth > MAX_JSON_DEPTH:
        raise ValidationError(f"{path} is nested too deeply", reason="not-json", path=path)
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValidationError(f"{path} must be a finite number", reason="not-json", path=path)
        return value
    if isinstance(value, Mapping):
        items: dict[str, Any] = {}
        for key, item in value.items():
            if not isinstance(key, str):
                raise ValidationError(
                    f"{path} has a non-string key {key!r}", reason="not-json", path=path
                )
            items[key] = freeze_json(item, f"{path}.{key}", depth + 1)
        return FrozenMap(items)
    if isinstance(value, (list, tuple)):
        return tuple(freeze_json(item, f"{path}[{i}]", depth + 1) for i, item in enumerate(value))
    raise ValidationError(
        f"{path} is not a JSON value ({type(value).__name__})", reason="not-json", path=path
    )


def thaw_json(value: Any) -> Any:
    """The plain ``dict``/``list`` form of a frozen JSON value."""
    if isinstance(value, Mapping):
        return {key: thaw_json(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [thaw_json(item) for item in value]
    return value
