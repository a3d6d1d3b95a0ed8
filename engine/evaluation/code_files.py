"""Reading a code assertion's ``file`` into its spec, for the SDK and the CLI only.

A spec carries the program's text (``source``), so an evaluator never reads a path from one;
``{"type": "python", "args": {"file": "file://checks.py:get_assert"}}`` (promptfoo's form)
becomes ``{"source": <the text>, "function": "get_assert"}`` here, in the user's process.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from domain.errors import ValidationError
from domain.scoring import executes_code
from domain.scoring.code import MAX_SOURCE_CHARS


def split_file_ref(ref: str) -> tuple[str, str | None]:
    """``"file://x.py:get_assert"`` → ``("x.py", "get_assert")``; the function is optional."""
    path = ref.removeprefix("file://")
    head, sep, tail = path.rpartition(":")
    if sep and head and tail.isidentifier():
        return head, tail
    return path, None


def read_code_file(spec: Mapping[str, Any], base: Path) -> dict[str, Any]:
    """``spec`` with its ``file`` argument read into ``source`` (and ``function``); any other
    spec unchanged.

    Args:
        spec: A scorer spec dict.
        base: The directory a relative path is read from (the eval file's, or the cwd).

    Raises:
        ValidationError: ``reason="bad-scorer-file"``: the file cannot be read or is too long.
    """
    args = spec.get("args")
    if not executes_code(str(spec.get("type"))) or not isinstance(args, Mapping):
        return dict(spec)
    ref = args.get("file")
    if not isinstance(ref, str):
        return dict(spec)
    relative, function = split_file_ref(ref)
    path = (base / Path(relative).expanduser()).resolve()
    try:
        source = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        problem = exc.strerror if isinstance(exc, OSError) and exc.strerror else "not UTF-8 text"
        raise ValidationError(
            f"scorer {spec.get('name') or spec.get('type')!r}: cannot read {path}: {problem}",
            reason="bad-scorer-file",
            field="args.file",
        ) from None
    if len(source) > MAX_SOURCE_CHARS:
        raise ValidationError(
            f"scorer file {path} is longer than {MAX_SOURCE_CHARS} characters",
            reason="bad-scorer-file",
            field="args.file",
        )
    read = {k: v for k, v in args.items() if k != "file"}
    read["source"] = source
    if function is not None and "function" not in read:
        read["function"] = function
    return {**spec, "args": read}
