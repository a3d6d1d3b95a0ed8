"""Code assertions (promptfoo's ``python`` and ``javascript``): a user's program judges the output.

Pure: a scorer holds its arguments, builds the JSON the sandbox hands the program, and reads
the program's JSON answer. Running it (a subprocess bounded in time and memory, with no
secrets in its environment) is the evaluator's job (`engine.evaluation.sandbox`), and only in
a run whose spec allows code (`check_code_allowed`).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any, ClassVar

from domain.errors import CodeNotAllowedError
from domain.scoring._common import BaseScorer, ScorerArgs, clip
from domain.scoring.base import Score, ScoreContext, ScorerSpec, executes_code, register_scorer
from domain.scoring.listing import ScorerArgument

DEFAULT_TIMEOUT_S = 5.0
MAX_TIMEOUT_S = 30.0
DEFAULT_MEMORY_MB = 256
MIN_MEMORY_MB, MAX_MEMORY_MB = 64, 2048
MAX_SOURCE_CHARS = 200_000
_ARGUMENTS = (
    ScorerArgument(
        "expression",
        "string",
        "inline code with `output` and `context` in scope: one line is an expression, "
        "several lines a function body that returns",
    ),
    ScorerArgument("source", "string", "the text of a file defining `function`"),
    ScorerArgument("function", "string", "the function of `source` called (output, context)"),
    ScorerArgument(
        "file",
        "string",
        "path[:function] of a file: the SDK and CLI read it into `source` (never an evaluator)",
    ),
    ScorerArgument(
        "timeout_s",
        "number",
        f"wall-clock limit, at most {MAX_TIMEOUT_S:g} s",
        default=DEFAULT_TIMEOUT_S,
    ),
    ScorerArgument(
        "memory_mb",
        "number",
        f"address-space limit, {MIN_MEMORY_MB}..{MAX_MEMORY_MB}",
        default=DEFAULT_MEMORY_MB,
    ),
)


def _identifier(name: str) -> bool:
    return name.isidentifier() and name.isascii()


class CodeAssertion(BaseScorer):
    """What both languages share: arguments, the request, reading the answer.

    A number passes when it reaches the spec's ``threshold`` or, without one, when it is
    above 0 (promptfoo's rule); a bool passes as returned; ``{pass, score, reason}`` is kept.
    """

    needs = "sandbox"
    executes_code: ClassVar[bool] = True
    language: ClassVar[str] = ""
    default_function: ClassVar[str | None] = None
    default_threshold = 0.0
    arguments = _ARGUMENTS

    def configure(self, args: ScorerArgs) -> None:
        self.expression = args.text("expression", required=False, non_empty=True)
        self.source = args.text("source", required=False, non_empty=True)
        function = args.text("function", required=False, non_empty=True)
        if args.text("file", required=False) is not None:
            raise args.error("file", "must be read into 'source' by the SDK or CLI before a run")
        if (self.expression is None) == (self.source is None):
            raise args.error("expression", "or 'source' is required, not both")
        if self.expression is not None and function is not None:
            raise args.error("function", "goes with 'source', not with 'expression'")
        if self.source is not None:
            if len(self.source) > MAX_SOURCE_CHARS:
                raise args.error("source", f"is longer than {MAX_SOURCE_CHARS} characters")
            function = function or self.default_function
            if function is None and self.language == "python":
                raise args.error("function", "is required with 'source'")
        if function is not None and not _identifier(function):
            raise args.error("function", f"must be an identifier, got {function!r}")
        self.function = function
        timeout = args.number("timeout_s", minimum=0.0, strictly_above=True)
        self.timeout_s = DEFAULT_TIMEOUT_S if timeout is None else timeout
        if self.timeout_s > MAX_TIMEOUT_S:
            raise args.error("timeout_s", f"must be at most {MAX_TIMEOUT_S:g}, got {timeout:g}")
        memory = args.number("memory_mb", minimum=MIN_MEMORY_MB)
        memory_mb = DEFAULT_MEMORY_MB if memory is None else int(memory)
        if memory_mb > MAX_MEMORY_MB:
            raise args.error("memory_mb", f"must be at most {MAX_MEMORY_MB}, got {memory_mb}")
        self.memory_mb = memory_mb
        self.memory_bytes = memory_mb * 1024 * 1024

    def request(self, ctx: ScoreContext) -> dict[str, Any]:
        """The JSON the program's runner reads on stdin."""
        context = {
            "vars": dict(ctx.variables),
            "expected": ctx.expected,
            "metadata": dict(ctx.metadata),
        }
        code = self.expression if self.expression is not None else self.source
        return {
            "mode": "expression" if self.expression is not None else "function",
            "code": code,
            "function": self.function,
            "output": ctx.output,
            "context": context,
        }

    def failed(self, reason: str) -> Score:
        """A failed `Score` for a program that gave no answer (timeout, memory, no runtime)."""
        return self.fail(f"{self.language} assertion: {reason}")

    def parse(self, answer: Mapping[str, Any]) -> Score:
        """Read the runner's answer ``{"ok": true, "value": …}`` or ``{"ok": false, "error":
        …, "kind": …}``; never raises."""
        if not isinstance(answer, Mapping) or not isinstance(answer.get("ok"), bool):
            return self.failed(f"unreadable answer {clip(repr(answer))}")
        if not answer["ok"]:
            if answer.get("kind") == "memory":
                return self.failed(f"ran out of memory (limit {self.memory_mb} MiB)")
            return self.failed(f"raised {clip(str(answer.get('error', '?')), 300)}")
        return self._verdict(answer.get("value"))

    def _verdict(self, value: Any) -> Score:
        if isinstance(value, bool):
            return Score(
                float(value), value, f"{self.language} assertion returned {value}", self.name
            )
        if isinstance(value, int | float):
            return self._number(float(value), f"{self.language} assertion returned {value:g}")
        if isinstance(value, Mapping) and ("pass" in value or "score" in value):
            return self._grading(value)
        return self.failed(
            f"returned {clip(repr(value), 60)}; expected a bool, a number in [0, 1] or "
            "{pass, score, reason}"
        )

    def _number(self, value: float, reason: str, passed: bool | None = None) -> Score:
        if not math.isfinite(value) or not 0.0 <= value <= 1.0:
            return self.failed(f"returned score {value!r}, outside [0, 1]")
        if passed is None:
            passed = value >= self.threshold if self.spec.threshold is not None else value > 0
        return Score(value, passed, reason, self.name)

    def _grading(self, result: Mapping[str, Any]) -> Score:
        passed, score = result.get("pass"), result.get("score")
        reason = result.get("reason")
        given = reason if isinstance(reason, str) and reason else None
        if passed is not None and not isinstance(passed, bool):
            return self.failed(f"'pass' must be true or false, got {clip(repr(passed), 40)}")
        if score is None:
            assert isinstance(passed, bool)  # the mapping has 'pass' or 'score'
            text = given or f"{self.language} assertion returned pass={passed}"
            return Score(float(passed), passed, text, self.name)
        if isinstance(score, bool) or not isinstance(score, int | float):
            return self.failed(f"'score' must be a number, got {clip(repr(score), 40)}")
        text = given or f"{self.language} assertion scored {score:g}"
        return self._number(float(score), text, passed)


@register_scorer("python")
class PythonAssertion(CodeAssertion):
    """A Python expression or function judges the output (promptfoo's ``python``).

    ``expression`` sees ``output`` (str) and ``context`` (``{"vars", "expected",
    "metadata"}``); ``source`` + ``function`` (default ``get_assert``) is called as
    ``get_assert(output, context)``. It returns a bool, a number in [0, 1] or ``{"pass",
    "score", "reason"}``. Runs only in runs allowed to run code (the SDK's and CLI's).
    """

    language = "python"
    default_function = "get_assert"


@register_scorer("javascript")
class JavascriptAssertion(CodeAssertion):
    """A JavaScript snippet or function judges the output (promptfoo's ``javascript``).

    ``expression`` sees ``output`` and ``context``; ``source`` is a CommonJS module whose
    ``function`` (or ``module.exports`` itself) is called as ``fn(output, context)`` and may
    return a promise. Needs ``node``. Runs only in runs allowed to run code.
    """

    language = "javascript"


def code_scorer_names(specs: Iterable[str | Mapping[str, Any] | ScorerSpec]) -> list[str]:
    """The display names of the specs whose scorer runs code (a name string, a spec dict or
    a `ScorerSpec`)."""
    found: list[str] = []
    for spec in specs:
        if isinstance(spec, str):
            kind, name = spec, spec
        elif isinstance(spec, ScorerSpec):
            kind, name = spec.type, spec.name
        elif isinstance(spec, Mapping):
            kind = str(spec.get("type", ""))
            name = str(spec.get("name") or kind)
        else:
            continue
        if executes_code(kind):
            found.append(name)
    return found


def check_code_allowed(
    specs: Iterable[str | Mapping[str, Any] | ScorerSpec], *, allowed: bool, where: str
) -> None:
    """Refuse code-running scorers unless ``allowed``.

    Args:
        specs: Scorer names, spec dicts or specs.
        allowed: Whether code may run here.
        where: What is refusing, for the message (``"the HTTP API"``, ``"this run"``).

    Raises:
        CodeNotAllowedError: ``reason="code-scorer"``, naming the scorers.
    """
    if allowed:
        return
    names = code_scorer_names(specs)
    if names:
        listed = ", ".join(repr(n) for n in names)
        raise CodeNotAllowedError(
            f"scorer(s) {listed} run code, which {where} does not allow; code assertions run "
            "only in runs started from the SDK (allow_code=True) or the CLI",
            reason="code-scorer",
            scorers=names,
        )
