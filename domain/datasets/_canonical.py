"""Canonical JSON and JSON-value checks: the ground case ids and content hashes stand on."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from domain.canonical import canonical_json
from domain.errors import ValidationError

MAX_DEPTH = 32


def clean_json(value: Any, path: str, depth: int = 0) -> Any:
    """A deep copy of a JSON value (tuples become lists), or ``ValidationError`` if it is not one.

    Raises:
        ValidationError: for non-string keys, NaN or infinity, other types, or nesting deeper
            than 32 levels.
    """
    if depth > MAX_DEPTH:
        raise ValidationError(f"{path} is nested too deeply", reason="not-json", path=path)
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValidationError(f"{path} must be a finite number", reason="not-json", path=path)
        return value
    if isinstance(value, Mapping):
        return clean_json_object(value, path, depth)
    if isinstance(value, (list, tuple)):
        return [clean_json(item, f"{path}[{i}]", depth + 1) for i, item in enumerate(value)]
    raise ValidationError(
        f"{path} is not a JSON value ({type(value).__name__})", reason="not-json", path=path
    )


def clean_json_object(value: Mapping[Any, Any], path: str, depth: int = 0) -> dict[str, Any]:
    """Like :func:`clean_json` for a mapping, returning a plain ``dict``."""
    items: dict[str, Any] = {}
    for key, item in value.items():
        if not isinstance(key, str):
            raise ValidationError(
                f"{path} has a non-string key {key!r}", reason="not-json", path=path
            )
        items[key] = clean_json(item, f"{path}.{key}", depth + 1)
    return items


def encoded_size(value: Any) -> int:
    """Bytes a value takes: UTF-8 length for strings, canonical JSON length otherwise."""
    if isinstance(value, str):
        return len(value.encode("utf-8", errors="surrogatepass"))
    return len(canonical_json(value))
