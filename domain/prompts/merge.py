"""Choosing the content of a merge commit, without ever dropping a change silently."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from domain.errors import ConflictError, ValidationError
from domain.prompts import history
from domain.prompts.diff import content_changes
from domain.prompts.settings import ModelSettings
from domain.prompts.version import Commit, VersionContent

MergeStrategy = Literal["ours", "theirs"]
MERGE_STRATEGIES: tuple[MergeStrategy, ...] = ("ours", "theirs")


@dataclass(frozen=True)
class MergeResult:
    """What a merge did and the target branch's head afterwards.

    Attributes:
        outcome: ``"up-to-date"`` (nothing to do), ``"fast-forward"`` (the target moved to
            the source head) or ``"merge"`` (a merge commit was made).
        commit: The target branch's head after the merge.
    """

    outcome: Literal["up-to-date", "fast-forward", "merge"]
    commit: Commit


def check_strategy(strategy: object) -> MergeStrategy | None:
    """``strategy`` if it is ``None``, ``"ours"`` or ``"theirs"``."""
    if strategy is None:
        return None
    for known in MERGE_STRATEGIES:
        if strategy == known:
            return known
    raise ValidationError(
        f"unknown merge strategy {strategy!r}; use 'ours' or 'theirs'", reason="invalid-strategy"
    )


def merged_content(
    commits: Mapping[str, Commit],
    ours: str,
    theirs: str,
    strategy: MergeStrategy | None,
) -> VersionContent:
    """The content of a merge commit of ``theirs`` into ``ours`` (two diverged heads).

    With a strategy, that side's content. Without one, a three-way merge against the merge
    base, part by part (the template; each setting): a part only one side changed since the
    base comes from that side, so a template edited on one branch and a temperature on the
    other merge cleanly; a part both sides changed differently is a conflict.

    Raises:
        ConflictError: ``reason="merge-conflict"`` with ``differences`` (paths that differ
            between the heads), ``base``, ``ours`` and ``theirs`` in details.
    """
    mine, other = commits[ours].content, commits[theirs].content
    if strategy == "ours":
        return mine
    if strategy == "theirs":
        return other
    base_id = history.merge_base(commits, ours, theirs)
    base = None if base_id is None else commits[base_id].content
    if mine == other or other == base:
        return mine
    if mine == base:
        return other
    differences = list(content_changes(mine, other))
    if base is not None:  # unrelated heads have no base to merge against: all differ
        merged, clashes = _three_way(base, mine, other)
        if merged is not None:
            return merged
        differences = [d for d in differences if _part(d) in clashes]
    raise ConflictError(
        "merge conflict: both sides changed "
        + ", ".join(differences)
        + "; choose strategy='ours' or 'theirs'",
        reason="merge-conflict",
        differences=differences,
        base=base_id,
        ours=ours,
        theirs=theirs,
    )


def _part(path: str) -> str:
    """The part of a version a change path is in: the template, or one setting."""
    return "template" if path.startswith("template") else path


def _three_way(
    base: VersionContent, mine: VersionContent, other: VersionContent
) -> tuple[VersionContent | None, list[str]]:
    """Each part (the template; each setting, ``extra`` keys one by one) from the side that
    changed it since ``base``; the parts both sides changed differently, if any."""
    clashes: list[str] = []
    template = mine.template
    if other.template != base.template:
        if mine.template not in (base.template, other.template):
            clashes.append("template")
        template = other.template
    settings = _flat(mine.settings.to_dict())
    old, theirs = _flat(base.settings.to_dict()), _flat(other.settings.to_dict())
    for key in sorted(set(old) | set(settings) | set(theirs)):
        if theirs.get(key) == old.get(key):
            continue
        if settings.get(key) not in (old.get(key), theirs.get(key)):
            clashes.append(f"settings.{key}")
        if key in theirs:
            settings[key] = theirs[key]
        else:
            settings.pop(key, None)
    if clashes:
        return None, clashes
    return VersionContent(template, ModelSettings.from_dict(_nested(settings))), []


def _flat(settings: Mapping[str, Any]) -> dict[str, Any]:
    flat = {k: v for k, v in settings.items() if k != "extra"}
    flat.update({f"extra.{k}": v for k, v in settings.get("extra", {}).items()})
    return flat


def _nested(flat: Mapping[str, Any]) -> dict[str, Any]:
    settings: dict[str, Any] = {k: v for k, v in flat.items() if not k.startswith("extra.")}
    extra = {k.removeprefix("extra."): v for k, v in flat.items() if k.startswith("extra.")}
    if extra:
        settings["extra"] = extra
    return settings
