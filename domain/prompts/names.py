"""Validation of the names and short texts people give to prompts, refs and commits."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from typing import Literal

from domain.errors import ConflictError, ValidationError
from domain.prompts.refs import is_version_number

MAX_PROMPT_NAME_LENGTH = 200
MAX_ACTOR_LENGTH = 200
MAX_TEXT_LENGTH = 10_000
MAX_TAGS = 32
MAX_TAG_LENGTH = 64

_REF_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._/-]{0,99}")
_VERSION_ID = re.compile(r"[0-9a-f]{64}")
# Names are shown in lists and URLs: no control, format (bidi tricks) or separator characters.
_NAME_FORBIDDEN = frozenset({"Cc", "Cf", "Cs", "Zl", "Zp"})
_TEXT_FORBIDDEN = frozenset({"Cc", "Cs"})
_TEXT_ALLOWED = frozenset("\n\r\t")

RefKind = Literal["branch", "label"]


def _first_forbidden(text: str, forbidden: frozenset[str], allowed: frozenset[str]) -> str | None:
    for char in text:
        if char not in allowed and unicodedata.category(char) in forbidden:
            return char
    return None


def _require_str(value: object, field: str) -> str:
    if not isinstance(value, str):
        raise ValidationError(f"{field} must be a string", reason="invalid-type", field=field)
    return value


def validate_single_line(value: object, field: str, max_length: int) -> str:
    """Check a one-line name: 1..max_length chars, no control chars, no outer whitespace.

    Raises:
        ValidationError: with ``reason`` one of ``invalid-type``, ``empty``, ``too-long``,
            ``control-characters`` or ``surrounding-whitespace`` and ``field`` in details.
    """
    text = _require_str(value, field)
    if not text:
        raise ValidationError(f"{field} must not be empty", reason="empty", field=field)
    if len(text) > max_length:
        raise ValidationError(
            f"{field} is longer than {max_length} characters",
            reason="too-long",
            field=field,
            max_length=max_length,
        )
    bad = _first_forbidden(text, _NAME_FORBIDDEN, frozenset())
    if bad is not None:
        raise ValidationError(
            f"{field} must not contain control characters (found U+{ord(bad):04X})",
            reason="control-characters",
            field=field,
            character=f"U+{ord(bad):04X}",
        )
    if text != text.strip():
        raise ValidationError(
            f"{field} must not start or end with whitespace",
            reason="surrounding-whitespace",
            field=field,
        )
    return text


def validate_text(value: object, field: str, max_length: int = MAX_TEXT_LENGTH) -> str:
    """Check free multi-line text (descriptions, commit messages); it may be empty."""
    text = _require_str(value, field)
    if len(text) > max_length:
        raise ValidationError(
            f"{field} is longer than {max_length} characters",
            reason="too-long",
            field=field,
            max_length=max_length,
        )
    bad = _first_forbidden(text, _TEXT_FORBIDDEN, _TEXT_ALLOWED)
    if bad is not None:
        raise ValidationError(
            f"{field} must not contain control characters (found U+{ord(bad):04X})",
            reason="control-characters",
            field=field,
            character=f"U+{ord(bad):04X}",
        )
    return text


def validate_prompt_name(name: object) -> str:
    """A prompt name: 1–200 characters, no control characters, no outer whitespace."""
    return validate_single_line(name, "name", MAX_PROMPT_NAME_LENGTH)


def validate_actor(actor: object) -> str:
    """The id of the user acting; the same rules as a prompt name."""
    return validate_single_line(actor, "actor", MAX_ACTOR_LENGTH)


def validate_ref_name(name: object, kind: RefKind) -> str:
    """A branch or label name: ``^[A-Za-z0-9][A-Za-z0-9._/-]{0,99}$`` without ``..``.

    A name that looks like a full version id or a version number (``v3``) is refused too,
    so refs never shadow versions.

    Raises:
        ValidationError: ``reason`` ``control-characters`` or ``invalid-ref-name``.
    """
    text = _require_str(name, kind)
    bad = _first_forbidden(text, _NAME_FORBIDDEN, frozenset())
    if bad is not None:
        raise ValidationError(
            f"{kind} name must not contain control characters (found U+{ord(bad):04X})",
            reason="control-characters",
            field=kind,
            character=f"U+{ord(bad):04X}",
        )
    if not _REF_NAME.fullmatch(text) or ".." in text or _VERSION_ID.fullmatch(text):
        raise ValidationError(
            f"invalid {kind} name {text[:120]!r}: use 1–100 letters, digits, '.', '_', '/' or "
            "'-', starting with a letter or digit, without '..'",
            reason="invalid-ref-name",
            field=kind,
            name=text[:120],
        )
    if is_version_number(text):
        raise ValidationError(
            f"invalid {kind} name {text!r}: it reads as version number {text[1:]}; "
            f"pick another name (e.g. {text}-release)",
            reason="invalid-ref-name",
            field=kind,
            name=text,
        )
    return text


def validate_tags(tags: Iterable[str]) -> tuple[str, ...]:
    """Tags as a sorted tuple without duplicates; each tag follows the one-line name rules."""
    if isinstance(tags, str):
        raise ValidationError("tags must be a list of strings", reason="invalid-type", field="tags")
    unique = sorted({validate_single_line(tag, "tag", MAX_TAG_LENGTH) for tag in tags})
    if len(unique) > MAX_TAGS:
        raise ValidationError(
            f"a prompt has at most {MAX_TAGS} tags", reason="too-many", field="tags"
        )
    return tuple(unique)


def is_version_id(text: str) -> bool:
    """Whether ``text`` has the shape of a full version id (64 lowercase hex digits)."""
    return _VERSION_ID.fullmatch(text) is not None


def duplicate_name_error(owner: str, name: str) -> ConflictError:
    """The error a store raises when ``owner`` already has a prompt called ``name``."""
    return ConflictError(
        f"a prompt named {name!r} already exists", reason="duplicate-name", owner=owner, name=name
    )
