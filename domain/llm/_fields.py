"""Path-aware validation for config documents: every error names the exact field."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any, TypeVar

from domain.errors import ValidationError

T = TypeVar("T")

_REQUIRED = dataclasses.MISSING


def field_error(field: str, problem: str) -> ValidationError:
    """A `ValidationError` whose message reads ``<field>: <problem>``."""
    return ValidationError(
        f"{field}: {problem}" if field else problem, field=field, problem=problem
    )


def _join(path: str, field: str) -> str:
    if not field:
        return path
    if not path or field.startswith("["):
        return f"{path}{field}"
    return f"{path}.{field}"


@contextmanager
def under(path: str) -> Iterator[None]:
    """Prefix the field path of any `field_error` raised inside the block with ``path``."""
    try:
        yield
    except ValidationError as exc:
        if "field" not in exc.details:
            raise
        raise field_error(_join(path, exc.details["field"]), exc.details["problem"]) from None


def kind_of(value: object) -> str:
    return "null" if value is None else type(value).__name__


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _as_str_items(value: object) -> list[str]:
    if not isinstance(value, list | tuple | set | frozenset):
        raise TypeError("a list of strings")
    for i, item in enumerate(value):
        if not isinstance(item, str):
            raise field_error(f"[{i}]", f"must be a string, got {kind_of(item)}")
    return list(value)


def _convert(annotation: str, value: object) -> object:
    optional = annotation.endswith(" | None")
    base = annotation.removesuffix(" | None")
    if value is None:
        if optional:
            return None
        raise TypeError(base)
    if base == "str" and isinstance(value, str):
        return value
    if base == "bool" and isinstance(value, bool):
        return value
    if base == "int" and _is_int(value):
        return value
    if base == "float" and (_is_int(value) or isinstance(value, float)):
        return float(value)  # type: ignore[arg-type]
    if base == "frozenset[str]":
        return frozenset(_as_str_items(value))
    if base == "tuple[str, ...]":
        return tuple(_as_str_items(value))
    raise TypeError(base)


_NAMES = {"str": "a string", "bool": "a boolean", "int": "an integer", "float": "a number"}


def build(
    cls: type[T], data: object, nested: Mapping[str, Callable[[object], Any]] | None = None
) -> T:
    """Construct dataclass ``cls`` from a plain mapping, checking keys and value types.

    Missing optional keys take the dataclass default; unknown keys are rejected so that a
    typo (``rmp: 60``) fails loudly instead of silently using a default.
    """
    if not isinstance(data, Mapping):
        raise field_error("", f"must be a mapping, got {kind_of(data)}")
    nested = nested or {}
    fields = {f.name: f for f in dataclasses.fields(cls) if f.init}  # type: ignore[arg-type]
    for key in data:
        if key not in fields:
            raise field_error(str(key), f"unknown field (expected one of: {', '.join(fields)})")
    kwargs: dict[str, object] = {}
    for name, f in fields.items():
        if name not in data:
            if f.default is _REQUIRED and f.default_factory is _REQUIRED:
                raise field_error(name, "is required")
            continue
        value = data[name]
        if name in nested:
            with under(name):
                kwargs[name] = nested[name](value)
            continue
        try:
            with under(name):
                kwargs[name] = _convert(str(f.type), value)
        except TypeError as exc:
            expected = _NAMES.get(str(exc), str(exc))
            if str(f.type).endswith(" | None"):
                expected += " or null"
            raise field_error(name, f"must be {expected}, got {kind_of(value)}") from None
    return cls(**kwargs)
