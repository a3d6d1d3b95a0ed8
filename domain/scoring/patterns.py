"""Bounded regular expressions: every pattern a user writes is compiled and matched here.

stdlib `re` has no timeout: ``(a+)+$`` on a 25-character output held an evaluator ~5 s,
growing 2-3.5x per character. Patterns are matched with the `regex` package, which takes
``timeout=``. Its compiler expands counted repeats eagerly (``(?:a{1000}){1000}`` took
0.5 s and 270 MB to compile, ``{60000}{60000}`` never finished), so the size a pattern
expands to is bounded before it reaches the compiler. The dialect stays stdlib `re`'s:
a pattern is parsed by `re`'s own parser first, so what `re` refused is still refused.
"""

from __future__ import annotations

import re
from functools import lru_cache
from re import _parser  # type: ignore[attr-defined]
from typing import Any

MAX_PATTERN_CHARS = 1_000
"""Longest pattern accepted."""
MAX_EXPANDED_SIZE = 10_000
"""Most elements a pattern may expand to once its counted repeats are unrolled."""
MATCH_TIMEOUT_S = 0.2
"""Longest one match may run; `regex` checks it every few thousand steps (overshoot ~0.3 s)."""

_REPEATS = frozenset({_parser.MAX_REPEAT, _parser.MIN_REPEAT, _parser.POSSESSIVE_REPEAT})


class PatternError(ValueError):
    """A pattern that is invalid, too long or expands too far; the message says which."""


def _expanded_size(items: Any, budget: int) -> int:
    size = 0
    for op, av in items:
        if op in _REPEATS:
            low, _, item = av
            size += max(low, 1) * _expanded_size(item, budget)
        elif op is _parser.SUBPATTERN:
            size += _expanded_size(av[-1], budget)
        elif op is _parser.BRANCH:
            size += sum(_expanded_size(branch, budget) for branch in av[1])
        elif op in (_parser.ASSERT, _parser.ASSERT_NOT):
            size += _expanded_size(av[1], budget)
        elif op is _parser.ATOMIC_GROUP:
            size += _expanded_size(av, budget)
        elif op is _parser.GROUPREF_EXISTS:
            size += sum(_expanded_size(arm, budget) for arm in av[1:] if arm is not None)
        else:
            size += 1
        if size > budget:
            return size
    return size


@lru_cache(maxsize=512)
def bounded_pattern(pattern: str, flags: int = 0) -> Any:
    """``pattern`` compiled for `search`, after checking it is safe to compile.

    Args:
        pattern: A regular expression in Python's `re` syntax.
        flags: `re` flags (``re.IGNORECASE``...); `regex` shares their values.

    Raises:
        PatternError: Not a valid `re` pattern, over `MAX_PATTERN_CHARS`, or expanding past
            `MAX_EXPANDED_SIZE` (nested counted repeats such as ``(?:a{1000}){1000}``).
    """
    if len(pattern) > MAX_PATTERN_CHARS:
        raise PatternError(f"is {len(pattern)} characters long, over {MAX_PATTERN_CHARS}")
    try:
        parsed = _parser.parse(pattern, flags)
    except (re.error, RecursionError, OverflowError) as exc:
        raise PatternError(f"is not a valid regex {pattern[:80]!r}: {exc}") from None
    if _expanded_size(parsed, MAX_EXPANDED_SIZE) > MAX_EXPANDED_SIZE:
        raise PatternError(
            f"{pattern[:80]!r} expands to more than {MAX_EXPANDED_SIZE} elements once its "
            "counted repeats are unrolled"
        )
    import regex  # ~35 ms to import: only runs with a pattern scorer pay it

    try:
        return regex.compile(pattern, flags)
    except (regex.error, ValueError) as exc:
        raise PatternError(f"is not a valid regex {pattern[:80]!r}: {exc}") from None


def search(compiled: Any, text: str) -> Any:
    """``compiled.search(text)``, abandoned after `MATCH_TIMEOUT_S`.

    Raises:
        TimeoutError: The match ran out of time (catastrophic backtracking); the message is
            the reason a scorer reports.
    """
    try:
        return compiled.search(text, timeout=MATCH_TIMEOUT_S)
    except TimeoutError:
        raise TimeoutError(
            f"regex {compiled.pattern[:60]!r} gave up after {MATCH_TIMEOUT_S:g} s on a "
            f"{len(text)}-character text (it backtracks catastrophically); counted as no match"
        ) from None
