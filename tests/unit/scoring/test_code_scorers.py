"""Code assertions, purely: their arguments, the request a program gets, reading its answer."""

from __future__ import annotations

from typing import Any

import pytest

from domain.errors import CodeNotAllowedError, ValidationError
from domain.evaluation import RunSpec
from domain.scoring import (
    SandboxScorer,
    ScoreContext,
    ScorerSpec,
    build_scorer,
    check_code_allowed,
    code_scorer_names,
    executes_code,
)
from domain.scoring.code import CodeAssertion

CTX = ScoreContext(output="4", expected="4", variables={"a": 2}, metadata={"tag": "x"})


def _python(threshold: float | None = None, **args: Any) -> CodeAssertion:
    scorer = build_scorer(ScorerSpec("python", args or {"expression": "True"}, threshold=threshold))
    assert isinstance(scorer, CodeAssertion)
    return scorer


def test_both_languages_run_code_and_offer_the_sandbox_protocol() -> None:
    for kind in ("python", "javascript"):
        scorer = build_scorer({"type": kind, "args": {"expression": "1"}})
        assert executes_code(kind) and scorer.needs == "sandbox"
        assert isinstance(scorer, SandboxScorer)
    assert not executes_code("equals") and not executes_code("no-such-scorer")


def test_the_request_carries_output_and_context_vars_expected_metadata() -> None:
    request = _python(expression="output == context['expected']").request(CTX)
    assert request == {
        "mode": "expression",
        "code": "output == context['expected']",
        "function": None,
        "output": "4",
        "context": {"vars": {"a": 2}, "expected": "4", "metadata": {"tag": "x"}},
    }


def test_source_defaults_to_get_assert_in_python_and_to_the_export_in_javascript() -> None:
    source = "def get_assert(output, context):\n    return True\n"
    assert _python(source=source).request(CTX)["function"] == "get_assert"
    js = build_scorer({"type": "javascript", "args": {"source": "module.exports = () => 1"}})
    assert isinstance(js, CodeAssertion) and js.request(CTX)["function"] is None


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        ({}, "'expression' or 'source' is required"),
        ({"expression": "1", "source": "x"}, "not both"),
        ({"expression": "1", "function": "f"}, "goes with 'source'"),
        ({"source": "x", "function": "f(); import os"}, "must be an identifier"),
        ({"expression": "1", "timeout_s": 31}, "at most 30"),
        ({"expression": "1", "timeout_s": 0}, "must be > 0"),
        ({"expression": "1", "memory_mb": 4096}, "at most 2048"),
        ({"file": "file://x.py:get_assert"}, "read into 'source' by the SDK or CLI"),
        ({"expression": "1", "cwd": "/"}, "unknown argument"),
    ],
)
def test_bad_arguments_are_refused(args: dict[str, Any], fragment: str) -> None:
    with pytest.raises(ValidationError, match=fragment):
        build_scorer(ScorerSpec("python", args))


def test_limits_default_to_5_s_and_256_mib() -> None:
    scorer = _python()
    assert (scorer.timeout_s, scorer.memory_bytes) == (5.0, 256 * 1024 * 1024)
    tight = _python(expression="1", timeout_s=1.5, memory_mb=128)
    assert (tight.timeout_s, tight.memory_bytes) == (1.5, 128 * 1024 * 1024)


def test_a_bool_passes_as_returned() -> None:
    scorer = _python()
    assert scorer.parse({"ok": True, "value": True}).passed
    failed = scorer.parse({"ok": True, "value": False})
    assert (failed.value, failed.passed) == (0.0, False)


def test_a_number_passes_above_zero_or_at_the_threshold() -> None:
    assert _python().parse({"ok": True, "value": 0.2}).passed
    assert not _python().parse({"ok": True, "value": 0}).passed
    assert not _python(threshold=0.5).parse({"ok": True, "value": 0.2}).passed
    assert _python(threshold=0.5).parse({"ok": True, "value": 0.5}).passed
    for bad in (1.5, -0.1):
        score = _python().parse({"ok": True, "value": bad})
        assert not score.passed and "outside [0, 1]" in score.reason


def test_a_grading_result_keeps_pass_score_and_reason() -> None:
    score = _python().parse({"ok": True, "value": {"pass": False, "score": 0.9, "reason": "r"}})
    assert (score.value, score.passed, score.reason) == (0.9, False, "r")
    only_pass = _python().parse({"ok": True, "value": {"pass": True}})
    assert (only_pass.value, only_pass.passed) == (1.0, True)
    only_score = _python(threshold=0.5).parse({"ok": True, "value": {"score": 0.75}})
    assert only_score.passed and only_score.value == 0.75
    bad = _python().parse({"ok": True, "value": {"pass": "yes"}})
    assert not bad.passed and "'pass' must be true or false" in bad.reason


def test_other_answers_fail_with_a_reason_never_an_error() -> None:
    scorer = _python()
    cases = [
        ({"ok": True, "value": "yes"}, "expected a bool, a number"),
        ({"ok": True, "value": None}, "expected a bool, a number"),
        ({"ok": False, "error": "ZeroDivisionError: division by zero"}, "ZeroDivisionError"),
        ({"ok": False, "error": "MemoryError", "kind": "memory"}, "ran out of memory (limit 256"),
        ({"nonsense": 1}, "unreadable answer"),
    ]
    for answer, fragment in cases:
        score = scorer.parse(answer)
        assert not score.passed and fragment in score.reason, score.reason
        assert score.reason.startswith("python assertion")
    assert "node is not installed" in scorer.failed("node is not installed").reason


def test_code_scorers_are_found_by_name_dict_or_spec_and_refused_unless_allowed() -> None:
    specs = [
        "equals",
        "python",
        {"type": "javascript", "name": "js"},
        ScorerSpec("python", name="p"),
    ]
    assert code_scorer_names(specs) == ["python", "js", "p"]
    check_code_allowed(specs, allowed=True, where="x")
    check_code_allowed(["equals", {"type": "regex"}], allowed=False, where="x")
    with pytest.raises(CodeNotAllowedError, match="'python', 'js', 'p' run code") as caught:
        check_code_allowed(specs, allowed=False, where="the HTTP API")
    assert caught.value.code == "code-not-allowed" and caught.value.status == 403


def test_allow_code_is_recorded_only_when_set() -> None:
    spec = RunSpec("p", ("v",), ("m",), "d", ("c",))
    assert "allow_code" not in spec.to_dict()
    allowed = RunSpec("p", ("v",), ("m",), "d", ("c",), allow_code=True)
    assert allowed.to_dict()["allow_code"] is True
    assert RunSpec.from_dict(allowed.to_dict()) == allowed
    assert RunSpec.from_dict({**spec.to_dict(), "allow_code": "yes"}).allow_code is False
