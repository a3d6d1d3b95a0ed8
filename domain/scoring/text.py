"""Text scorers: equality, substrings, prefixes and regular expressions."""

from __future__ import annotations

import re
from typing import ClassVar

from domain.scoring._common import (
    CASE_SENSITIVE,
    STRIP,
    VALUE,
    BaseScorer,
    ReferenceScorer,
    ScorerArgs,
    clip,
)
from domain.scoring.base import Score, ScoreContext, register_scorer
from domain.scoring.listing import ScorerArgument
from domain.scoring.patterns import PatternError, bounded_pattern, search

_FLAGS = {"i": re.IGNORECASE, "m": re.MULTILINE, "s": re.DOTALL, "x": re.VERBOSE}


def _fold(text: str, case_sensitive: bool) -> str:
    return text if case_sensitive else text.casefold()


@register_scorer("equals")
class Equals(ReferenceScorer):
    """Output equals ``value`` (or the expected answer).

    Args (in the spec): ``value`` (optional), ``case_sensitive`` (default true),
    ``strip`` (default true: ignore surrounding whitespace on both sides).
    """

    arguments = (VALUE, CASE_SENSITIVE, STRIP)

    def configure(self, args: ScorerArgs) -> None:
        super().configure(args)
        self.case_sensitive = args.flag("case_sensitive", True)
        self.strip = args.flag("strip", True)

    def _norm(self, text: str) -> str:
        return _fold(text.strip() if self.strip else text, self.case_sensitive)

    def score(self, ctx: ScoreContext) -> Score:
        reference = self.reference(ctx)
        if reference is None:
            return self.missing_reference()
        if self._norm(ctx.output) == self._norm(reference):
            return self.result(1.0, f"output equals {clip(reference)}")
        return self.result(0.0, f"expected {clip(reference)}, got {clip(ctx.output)}")


@register_scorer("contains")
class Contains(ReferenceScorer):
    """Output contains ``value`` (or the expected answer); ``case_sensitive`` default true."""

    fixed_case: ClassVar[bool | None] = None
    arguments: ClassVar[tuple[ScorerArgument, ...]] = (VALUE, CASE_SENSITIVE)

    def configure(self, args: ScorerArgs) -> None:
        self.value = args.text("value", required=False, non_empty=True)
        if self.fixed_case is None:
            self.case_sensitive = args.flag("case_sensitive", True)
        else:
            self.case_sensitive = self.fixed_case

    def score(self, ctx: ScoreContext) -> Score:
        needle = self.reference(ctx)
        if needle is None:
            return self.missing_reference()
        found = _fold(needle, self.case_sensitive) in _fold(ctx.output, self.case_sensitive)
        if found:
            return self.result(1.0, f"output contains {clip(needle)}")
        return self.result(0.0, f"output does not contain {clip(needle)}")


@register_scorer("icontains")
class IContains(Contains):
    """Output contains ``value`` (or the expected answer), ignoring case."""

    fixed_case = False
    arguments = (VALUE,)


@register_scorer("starts-with")
class StartsWith(ReferenceScorer):
    """Output starts with ``value`` (or the expected answer).

    Args (in the spec): ``value`` (optional), ``case_sensitive`` (default true), ``strip``
    (default true: ignore leading whitespace of the output).
    """

    arguments = (VALUE, CASE_SENSITIVE, STRIP)

    def configure(self, args: ScorerArgs) -> None:
        self.value = args.text("value", required=False, non_empty=True)
        self.case_sensitive = args.flag("case_sensitive", True)
        self.strip = args.flag("strip", True)

    def score(self, ctx: ScoreContext) -> Score:
        prefix = self.reference(ctx)
        if prefix is None:
            return self.missing_reference()
        output = ctx.output.lstrip() if self.strip else ctx.output
        if _fold(output, self.case_sensitive).startswith(_fold(prefix, self.case_sensitive)):
            return self.result(1.0, f"output starts with {clip(prefix)}")
        return self.result(0.0, f"output does not start with {clip(prefix)}: {clip(output, 40)}")


class _ContainsMany(BaseScorer):
    arguments = (
        ScorerArgument("values", "string list", "texts to look for", required=True),
        CASE_SENSITIVE,
    )

    def configure(self, args: ScorerArgs) -> None:
        self.values = args.text_list("values")
        self.case_sensitive = args.flag("case_sensitive", True)

    def _found(self, ctx: ScoreContext) -> list[bool]:
        output = _fold(ctx.output, self.case_sensitive)
        return [_fold(v, self.case_sensitive) in output for v in self.values]


@register_scorer("contains-any")
class ContainsAny(_ContainsMany):
    """Output contains at least one of ``values`` (a list); ``case_sensitive`` default true."""

    def score(self, ctx: ScoreContext) -> Score:
        for value, found in zip(self.values, self._found(ctx), strict=True):
            if found:
                return self.result(1.0, f"output contains {clip(value)}")
        return self.result(0.0, f"output contains none of {self.values!r}")


@register_scorer("contains-all")
class ContainsAll(_ContainsMany):
    """Output contains every one of ``values``; the value is the fraction found.

    With the default threshold 1.0 it passes only when all are present.
    """

    def score(self, ctx: ScoreContext) -> Score:
        found = self._found(ctx)
        missing = [v for v, f in zip(self.values, found, strict=True) if not f]
        value = sum(found) / len(found)
        if not missing:
            return self.result(value, f"output contains all {len(found)} values")
        return self.result(value, f"output lacks {len(missing)} of {len(found)}: {missing!r}")


@register_scorer("regex")
class Regex(ReferenceScorer):
    """A regular expression matches somewhere in the output (``re.search``).

    Args (in the spec): ``pattern`` (required, at most 1,000 characters), ``flags`` (letters
    among ``i`` ignore case, ``m`` multi-line, ``s`` dot matches newline, ``x`` verbose;
    default none). A match that runs past 0.2 s (catastrophic backtracking) scores 0 and says
    so; it never holds the evaluator.
    """

    arguments = (
        ScorerArgument("pattern", "string", "regular expression (<= 1,000 chars)", required=True),
        ScorerArgument("flags", "string", "letters among i, m, s, x", default=""),
    )

    def configure(self, args: ScorerArgs) -> None:
        pattern = args.required_text("pattern")
        letters = args.text("flags", required=False) or ""
        flags = 0
        for letter in letters:
            if letter not in _FLAGS:
                raise args.error("flags", f"has unknown flag {letter!r} (known: i, m, s, x)")
            flags |= _FLAGS[letter]
        try:
            self.pattern = bounded_pattern(pattern, flags)
        except PatternError as exc:
            raise args.error("pattern", str(exc)) from None

    def score(self, ctx: ScoreContext) -> Score:
        try:
            match = search(self.pattern, ctx.output)
        except TimeoutError as exc:
            return self.fail(str(exc))
        if match:
            return self.result(1.0, f"/{self.pattern.pattern}/ matched {clip(match.group(0))}")
        return self.result(0.0, f"/{self.pattern.pattern}/ did not match the output")
