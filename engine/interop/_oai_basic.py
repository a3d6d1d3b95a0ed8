"""OpenAI Evals' basic eval classes (Match, Includes, FuzzyMatch, JsonMatch) as our scorers.

A class whose check needs only the case's expected answer is one run-wide scorer; when a
sample has several ideals (or the check needs its own argument per sample), every case gets
its own assertion instead (`TestCase.scorers`).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from engine.interop import _oai_common as common
from engine.interop.suite import Unsupported

MATCH = "evals.elsuite.basic.match:Match"
INCLUDES = "evals.elsuite.basic.includes:Includes"
FUZZY = "evals.elsuite.basic.fuzzy_match:FuzzyMatch"
JSON_MATCH = "evals.elsuite.basic.json_match:JsonMatch"
BASIC = (MATCH, INCLUDES, FUZZY, JSON_MATCH)
_MAX_PATTERN = 1000

Spec = dict[str, Any]


@dataclass
class Scoring:
    """Run-wide scorers, per-case assertions by sample index, and what was left out."""

    run_wide: list[Spec] = field(default_factory=list)
    per_case: dict[int, list[Spec]] = field(default_factory=dict)
    unsupported: list[Unsupported] = field(default_factory=list)


def basic_scoring(
    cls: str, args: dict[str, Any], ideals: Sequence[tuple[int, list[str]]], where: str
) -> Scoring:
    """The scorers for one of `BASIC`; ``ideals`` are ``(sample index, ideals)``."""
    scoring = Scoring()
    several = any(len(found) > 1 for _, found in ideals)
    if cls == MATCH and not several:
        _run_wide(scoring, {"type": "starts-with", "args": {}, "name": "match"}, where)
    elif cls == MATCH:
        _per_case(scoring, ideals, "match", _match_spec)
    elif cls == INCLUDES:
        sensitive = not bool(args.get("ignore_case", False))
        if not several:
            spec = {"type": "contains", "args": {"case_sensitive": sensitive}, "name": "includes"}
            _run_wide(scoring, spec, where)
        else:
            _per_case(scoring, ideals, "includes", lambda i: _includes_spec(i, sensitive))
    elif cls == FUZZY:
        # Our f-score is OpenAI Evals' own f1_score (SQuAD normalisation); with several
        # ideals it compares with the first (the eval takes the best of them).
        _run_wide(scoring, {"type": "f-score", "args": {}, "name": "fuzzy-match"}, where)
    elif cls == JSON_MATCH:
        _per_case(scoring, ideals, "json-match", _json_spec)
    else:
        raise ValueError(f"not a basic eval class: {cls}")
    return scoring


def _run_wide(scoring: Scoring, spec: Spec, where: str) -> None:
    if common.has_scorer(spec["type"]):
        scoring.run_wide.append(spec)
    else:
        scoring.unsupported.append(
            Unsupported(f"{where}.class", f"scorer {spec['type']!r} is not available")
        )


def _per_case(
    scoring: Scoring,
    ideals: Sequence[tuple[int, list[str]]],
    name: str,
    build: Callable[[list[str]], Spec],
) -> None:
    for index, found in ideals:
        where = f"samples[{index}].ideal"
        if not found:
            scoring.unsupported.append(Unsupported(where, "no ideal answer"))
            continue
        try:
            spec = build(found)
        except ValueError as exc:
            scoring.unsupported.append(Unsupported(where, str(exc)))
            continue
        if not common.has_scorer(spec["type"]):
            scoring.unsupported.append(
                Unsupported(where, f"scorer {spec['type']!r} is not available")
            )
            continue
        scoring.per_case[index] = [{**spec, "name": name}]


def _match_spec(ideals: list[str]) -> Spec:
    pattern = r"\A\s*(?:" + "|".join(re.escape(i) for i in ideals) + ")"
    if len(pattern) > _MAX_PATTERN:
        raise ValueError(f"ideals too long for one pattern ({len(pattern)} characters)")
    return {"type": "regex", "args": {"pattern": pattern}}


def _includes_spec(ideals: list[str], sensitive: bool) -> Spec:
    return {"type": "contains-any", "args": {"values": ideals, "case_sensitive": sensitive}}


def _json_spec(ideals: list[str]) -> Spec:
    try:
        values = [json.loads(i) for i in ideals]
    except ValueError:
        raise ValueError("an ideal answer is not valid JSON") from None
    schema = {"const": values[0]} if len(values) == 1 else {"anyOf": [{"const": v} for v in values]}
    return {"type": "json-schema", "args": {"schema": schema}}
