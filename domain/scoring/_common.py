"""What the built-in scorers share: argument reading, thresholds and making a `Score`."""

from __future__ import annotations

import difflib
import math
from collections.abc import Collection
from typing import Any, ClassVar

from domain.errors import ConfigurationError, ValidationError
from domain.scoring.base import Needs, Score, ScoreContext, ScorerSpec, _finite
from domain.scoring.listing import ScorerArgument

_MISSING: Any = object()


def clip(text: str, limit: int = 80) -> str:
    """``repr`` of ``text``, shortened to about ``limit`` characters for reasons."""
    if len(text) > limit:
        return repr(text[: limit - 1] + "…")
    return repr(text)


def clamp01(value: float) -> float:
    """``value`` limited to [0, 1]; NaN becomes 0."""
    if math.isnan(value):
        return 0.0
    return min(1.0, max(0.0, value))


VALUE = ScorerArgument("value", "string", "text to compare with; default: the expected answer")
CASE_SENSITIVE = ScorerArgument("case_sensitive", "boolean", "compare letter case", default=True)
STRIP = ScorerArgument("strip", "boolean", "ignore surrounding whitespace", default=True)


class ScorerArgs:
    """Reads a spec's arguments with helpful errors, then refuses any it did not read.

    ``declared`` names the arguments the scorer lists (`BaseScorer.arguments`): reading any
    other is a bug in the scorer, refused so the listing stays true.
    """

    def __init__(self, spec: ScorerSpec, declared: Collection[str] | None = None) -> None:
        self._spec = spec
        self._unread = set(spec.args)
        self._declared = declared

    def error(self, key: str, problem: str) -> ValidationError:
        """A `ValidationError` naming the scorer and the argument."""
        return ValidationError(
            f"scorer '{self._spec.name}' ({self._spec.type}): argument '{key}' {problem}",
            scorer=self._spec.name,
            field=f"args.{key}",
        )

    def _get(self, key: str, required: bool) -> Any:
        if self._declared is not None and key not in self._declared:
            raise ConfigurationError(
                f"scorer {self._spec.type!r} reads undeclared argument {key!r}"
            )
        self._unread.discard(key)
        value = self._spec.args.get(key, _MISSING)
        if value is _MISSING and required:
            close = difflib.get_close_matches(key, list(self._spec.args), n=1)
            hint = f" (is {close[0]!r} a typo of it?)" if close else ""
            raise self.error(key, f"is required{hint}")
        return value

    def raw(self, key: str) -> Any:
        """A required argument of any JSON type."""
        return self._get(key, required=True)

    def optional_raw(self, key: str) -> Any:
        """An optional argument of any JSON type; ``None`` when absent."""
        value = self._get(key, required=False)
        return None if value is _MISSING else value

    def text(self, key: str, *, required: bool = True, non_empty: bool = False) -> str | None:
        """A string argument; ``None`` when optional and absent."""
        value = self._get(key, required)
        if value is _MISSING or (value is None and not required):
            return None
        if not isinstance(value, str):
            raise self.error(key, f"must be a string, got {value!r}")
        if non_empty and not value:
            raise self.error(key, "must not be empty")
        return value

    def required_text(self, key: str, *, non_empty: bool = False) -> str:
        """A string argument that must be present."""
        value = self.text(key, non_empty=non_empty)
        assert value is not None
        return value

    def flag(self, key: str, default: bool) -> bool:
        """A boolean argument."""
        value = self._get(key, required=False)
        if value is _MISSING:
            return default
        if not isinstance(value, bool):
            raise self.error(key, f"must be true or false, got {value!r}")
        return value

    def number(
        self,
        key: str,
        *,
        required: bool = False,
        minimum: float | None = None,
        strictly_above: bool = False,
    ) -> float | None:
        """A finite number argument, optionally bounded below; ``None`` when absent."""
        value = self._get(key, required)
        if value is _MISSING or (value is None and not required):
            return None
        if not _finite(value):
            raise self.error(key, f"must be a finite number, got {value!r}")
        number = float(value)
        if minimum is not None and (number <= minimum if strictly_above else number < minimum):
            raise self.error(
                key, f"must be {'>' if strictly_above else '>='} {minimum:g}, got {number:g}"
            )
        return number

    def required_number(
        self, key: str, *, minimum: float | None = None, strictly_above: bool = False
    ) -> float:
        """A finite number argument that must be present."""
        value = self.number(key, required=True, minimum=minimum, strictly_above=strictly_above)
        assert value is not None
        return value

    def integer(
        self, key: str, *, minimum: int | None = None, maximum: int | None = None
    ) -> int | None:
        """An optional whole-number argument within [minimum, maximum]; ``None`` when absent."""
        value = self._get(key, required=False)
        if value is _MISSING or value is None:
            return None
        if not _finite(value) or not float(value).is_integer():
            raise self.error(key, f"must be a whole number, got {value!r}")
        number = int(value)
        if (minimum is not None and number < minimum) or (maximum is not None and number > maximum):
            if minimum is not None and maximum is not None:
                bounds = f"within [{minimum}, {maximum}]"
            else:
                bounds = f">= {minimum}" if minimum is not None else f"<= {maximum}"
            raise self.error(key, f"must be {bounds}, got {number}")
        return number

    def _strings(self, key: str, value: Any) -> list[str]:
        if not isinstance(value, list) or not value:
            raise self.error(key, f"must be a non-empty list of strings, got {value!r}")
        if not all(isinstance(v, str) and v for v in value):
            raise self.error(key, f"must hold only non-empty strings, got {value!r}")
        return list(value)

    def text_list(self, key: str) -> list[str]:
        """A required, non-empty list of non-empty strings."""
        return self._strings(key, self._get(key, required=True))

    def optional_text_list(self, key: str, *, single: bool = False) -> list[str] | None:
        """An optional non-empty list of non-empty strings; ``None`` when absent.

        With ``single``, one string is accepted too (as a list of one).
        """
        value = self._get(key, required=False)
        if value is _MISSING or value is None:
            return None
        if single and isinstance(value, str):
            if not value:
                raise self.error(key, "must not be empty")
            return [value]
        return self._strings(key, value)

    def finish(self) -> None:
        """Refuse arguments nobody read (usually typos)."""
        if self._unread:
            unknown = ", ".join(repr(k) for k in sorted(self._unread))
            raise ValidationError(
                f"scorer '{self._spec.name}' ({self._spec.type}): unknown argument(s) {unknown}",
                scorer=self._spec.name,
                field="args",
            )


class BaseScorer:
    """Built-in scorer skeleton: reads args in `configure`, resolves the threshold.

    Subclasses set ``default_threshold`` and, when the scorer also takes its pass mark as an
    argument (``threshold`` or ``pass_threshold``), ``threshold_arg``. A spec's ``threshold``
    and that argument may not disagree.
    """

    needs: ClassVar[Needs] = None
    default_threshold: ClassVar[float] = 1.0
    threshold_arg: ClassVar[str | None] = None
    arguments: ClassVar[tuple[ScorerArgument, ...]] = ()
    """Every argument `configure` (or the threshold) reads, for listings."""

    def __init__(self, spec: ScorerSpec) -> None:
        self.spec = spec
        self.name = spec.name
        self.negate = spec.negate
        self.weight = spec.weight
        args = ScorerArgs(spec, declared={a.name for a in self.arguments})
        self.threshold = self._resolve_threshold(args)
        self.configure(args)
        args.finish()

    def _resolve_threshold(self, args: ScorerArgs) -> float:
        from_args = None
        if self.threshold_arg is not None:
            from_args = args.number(self.threshold_arg, minimum=0.0)
            if from_args is not None and from_args > 1.0:
                raise args.error(self.threshold_arg, f"must be within [0, 1], got {from_args:g}")
        given = self.spec.threshold
        if given is not None and from_args is not None and given != from_args:
            raise args.error(
                str(self.threshold_arg), f"({from_args:g}) disagrees with threshold {given:g}"
            )
        for candidate in (given, from_args):
            if candidate is not None:
                return candidate
        return self.default_threshold

    def configure(self, args: ScorerArgs) -> None:
        """Read and validate the scorer's arguments; raise `ValidationError` on bad ones."""

    def record(self) -> dict[str, Any]:
        """The spec this scorer was built from, as a dict."""
        return self.spec.to_dict()

    def result(self, value: float, reason: str) -> Score:
        """A `Score` of ``value`` (clamped), passed when it reaches the threshold.

        A negated scorer (`ScorerSpec.negate`) gives ``1 - value``, passed exactly when the
        plain verdict failed.
        """
        value = clamp01(value)
        return self.decided(value, value >= self.threshold, reason)

    def fail(self, reason: str) -> Score:
        """A zero, failed `Score`: the scorer could not judge; negation leaves it failed."""
        return Score(value=0.0, passed=False, reason=reason, name=self.name)

    def decided(self, value: float, passed: bool, reason: str) -> Score:
        """A `Score` of ``value`` (clamped) whose verdict the scorer decided, not the threshold.

        Negation (`ScorerSpec.negate`) inverts it as it does `result`.
        """
        value = clamp01(value)
        if self.negate:
            return Score(1.0 - value, not passed, f"negated: {reason}", self.name)
        return Score(value=value, passed=passed, reason=reason, name=self.name)


class ReferenceScorer(BaseScorer):
    """A scorer comparing the output with ``value`` or, without one, the case's expected text."""

    value: str | None = None
    arguments: ClassVar[tuple[ScorerArgument, ...]] = (VALUE,)

    def configure(self, args: ScorerArgs) -> None:
        self.value = args.text("value", required=False)

    def reference(self, ctx: ScoreContext) -> str | None:
        """The text to compare with: the ``value`` argument, else ``ctx.expected``."""
        return self.value if self.value is not None else ctx.expected

    def missing_reference(self) -> Score:
        """The failed `Score` given when there is nothing to compare with."""
        return self.fail("no 'value' argument and no expected answer to compare with")
