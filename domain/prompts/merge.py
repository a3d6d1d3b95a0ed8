"""Choosing the content of a merge commit, without ever dropping a change silently."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from domain.errors import ConflictError, ValidationError
from domain.prompts import history
from domain.prompts.diff import content_changes
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

    With a strategy, that side's content. Without one, a three-way choice against the merge
    base: equal contents, or only one side changed since the base → that side; both changed
    differently → conflict.

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
    differences = content_changes(mine, other)
    raise ConflictError(
        "merge conflict: both sides changed "
        + ", ".join(differences)
        + "; choose strategy='ours' or 'theirs'",
        reason="merge-conflict",
        differences=list(differences),
        base=base_id,
        ours=ours,
        theirs=theirs,
    )
