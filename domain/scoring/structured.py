"""Structured-output scorers: JSON validity, JSON Schema conformance, numeric closeness."""

from __future__ import annotations

import json
import re
from typing import Any

from domain.scoring._common import BaseScorer, ScorerArgs, clip
from domain.scoring.base import Score, ScoreContext, register_scorer
from domain.scoring.json_schema import SchemaRefused, closed_validator, within_steps
from domain.scoring.listing import ScorerArgument

EXTRACT = ScorerArgument("extract", "boolean", "find the JSON inside the output", default=False)

_NUMBER = re.compile(
    r"(?:(?<![\w.])[-+])?(?<![\d.])(?:(?:\d{1,3}(?:,\d{3})+(?!\d)|\d+)(?:\.\d+)?|\.\d+)"
    r"(?:[eE][-+]?\d+)?"
)


def _not_json(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


_DECODER = json.JSONDecoder(parse_constant=_not_json)
_TOO_DEEP = "the JSON nests too deeply to parse"


def find_json(text: str, *, extract: bool = False) -> tuple[bool, Any, str]:
    """Parse ``text`` as strict JSON (no NaN/Infinity).

    Args:
        text: The text to parse.
        extract: When the whole text is not JSON, take the first JSON object or array found
            inside it (e.g. in a fenced code block or after chatter).

    Returns:
        ``(found, value, error)``: ``error`` explains a failure when ``found`` is false.
    """
    stripped = text.strip()
    try:
        return True, _DECODER.decode(stripped), ""
    except ValueError as exc:
        error = str(exc)
    except RecursionError:  # the decoder recurses per level: "[[[[..." must not raise
        return False, None, _TOO_DEEP
    if extract:
        for i, char in enumerate(stripped):
            if char in "{[":
                try:
                    return True, _DECODER.raw_decode(stripped, i)[0], ""
                except ValueError:
                    continue
                except RecursionError:
                    return False, None, _TOO_DEEP
        error = "no JSON object or array found in the output"
    return False, None, error


def first_number(text: str) -> float | None:
    """The first number written in ``text`` (``-3``, ``1,234.5``, ``.5``, ``2e3``), if any.

    Thousands separators are commas in groups of three; a sign counts only when it does not
    follow a letter or digit (``COVID-19`` gives 19, ``v1.2`` gives 1.2).

    Examples:
        >>> first_number("The total is $1,234.50 (approx.)")
        1234.5
    """
    match = _NUMBER.search(text)
    if match is None:
        return None
    value = float(match.group(0).replace(",", ""))
    return value if value not in (float("inf"), float("-inf")) else None


def schema_validator(args: ScorerArgs, schema: Any) -> Any:
    """A closed validator for the ``schema`` argument, refused with a clear `ValidationError`."""
    from jsonschema.exceptions import SchemaError

    if not isinstance(schema, dict | bool):
        raise args.error("schema", f"must be a JSON Schema object, got {schema!r}")
    try:
        return closed_validator(schema)
    except SchemaError as exc:
        where = "/".join(str(p) for p in exc.path) or "(root)"
        raise args.error(
            "schema", f"is not a valid JSON Schema at {where}: {exc.message}"
        ) from None
    except SchemaRefused as exc:
        raise args.error("schema", f"is refused {exc}") from None


def apply_schema(scorer: BaseScorer, validator: Any, instance: Any) -> Score:
    """``scorer``'s verdict on ``instance`` against a `schema_validator`."""
    from jsonschema.exceptions import best_match
    from referencing.exceptions import Unresolvable

    try:
        with within_steps():
            worst = best_match(validator.iter_errors(instance))
    except TimeoutError as exc:
        return scorer.fail(f"schema could not be applied: {exc}")
    except RecursionError:  # a reference cycle: "#" referring to itself
        return scorer.fail("schema could not be applied: its references recurse without end")
    except Unresolvable as exc:  # a reference the schema does not define
        return scorer.fail(f"schema could not be applied: unresolvable reference {exc.ref!r}")
    if worst is None:
        return scorer.result(1.0, "output matches the schema")
    return scorer.result(
        0.0, f"output does not match the schema at {worst.json_path}: {worst.message}"
    )


@register_scorer("is-json")
class IsJson(BaseScorer):
    """The output is valid JSON (any JSON value). ``extract`` (default false) looks inside it."""

    arguments = (EXTRACT,)

    def configure(self, args: ScorerArgs) -> None:
        self.extract = args.flag("extract", False)

    def score(self, ctx: ScoreContext) -> Score:
        found, _, error = find_json(ctx.output, extract=self.extract)
        if found:
            return self.result(1.0, "output is valid JSON")
        return self.result(0.0, f"output is not valid JSON: {error}")


@register_scorer("json-schema")
class JsonSchema(BaseScorer):
    """The output is JSON that conforms to ``schema`` (any JSON Schema draft it declares).

    Args (in the spec): ``schema`` (required; checked against its metaschema at build time),
    ``extract`` (default false, as for ``is-json``). References resolve only within the
    schema (``#/$defs/...``): remote, ``file:`` and relative ones are refused at build time,
    and nothing is ever fetched or read. Patterns are bounded as for the ``regex`` scorer.
    """

    arguments = (
        ScorerArgument("schema", "JSON Schema", "schema the output must match", required=True),
        EXTRACT,
    )

    def configure(self, args: ScorerArgs) -> None:
        self.validator = schema_validator(args, args.raw("schema"))
        self.extract = args.flag("extract", False)

    def score(self, ctx: ScoreContext) -> Score:
        found, instance, error = find_json(ctx.output, extract=self.extract)
        if not found:
            return self.result(0.0, f"output is not valid JSON: {error}")
        return apply_schema(self, self.validator, instance)


@register_scorer("numeric")
class Numeric(BaseScorer):
    """The first number in the output is close to ``value`` (or to the expected answer's).

    Args (in the spec): ``value`` (optional number; else the first number in the expected
    answer), ``tolerance`` (absolute, default 0), ``rel_tolerance`` (relative to the
    expected number, default 1e-9). Passes when either tolerance holds.
    """

    arguments = (
        ScorerArgument("value", "number", "target; default: the expected answer's number"),
        ScorerArgument("tolerance", "number", "absolute tolerance (>= 0)", default=0.0),
        ScorerArgument("rel_tolerance", "number", "relative tolerance (>= 0)", default=1e-9),
    )

    def configure(self, args: ScorerArgs) -> None:
        self.value = args.number("value")
        self.tolerance = args.number("tolerance", minimum=0.0) or 0.0
        rel = args.number("rel_tolerance", minimum=0.0)
        self.rel_tolerance = 1e-9 if rel is None else rel

    def score(self, ctx: ScoreContext) -> Score:
        target = self.value
        if target is None:
            if ctx.expected is None:
                return self.fail("no 'value' argument and no expected answer to compare with")
            target = first_number(ctx.expected)
            if target is None:
                return self.fail(f"expected answer {clip(ctx.expected)} holds no number")
        actual = first_number(ctx.output)
        if actual is None:
            return self.result(0.0, f"output holds no number: {clip(ctx.output)}")
        gap = abs(actual - target)
        if gap <= self.tolerance or gap <= self.rel_tolerance * abs(target):
            return self.result(1.0, f"{actual:g} is within tolerance of {target:g}")
        return self.result(0.0, f"{actual:g} differs from {target:g} by {gap:g}")
