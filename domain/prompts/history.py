"""Pure graph walks over a prompt's versions: first-parent log, ancestry, merge bases."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Protocol


class Node(Protocol):
    """Anything with parent ids — a :class:`~domain.prompts.version.Commit` in practice."""

    @property
    def parents(self) -> tuple[str, ...]: ...


Graph = Mapping[str, Node]


def first_parent_chain(graph: Graph, start: str) -> Iterator[str]:
    """``start``, its first parent, that one's first parent… down to the root."""
    current: str | None = start
    while current is not None:
        yield current
        parents = graph[current].parents
        current = parents[0] if parents else None


def ancestors(graph: Graph, start: str) -> set[str]:
    """Every version reachable from ``start`` through any parent, ``start`` included."""
    seen = {start}
    stack = [start]
    while stack:
        for parent in graph[stack.pop()].parents:
            if parent not in seen:
                seen.add(parent)
                stack.append(parent)
    return seen


def is_ancestor(graph: Graph, ancestor: str, descendant: str) -> bool:
    """Whether ``ancestor`` is reachable from ``descendant`` (a version is its own ancestor)."""
    return ancestor in ancestors(graph, descendant)


def merge_bases(graph: Graph, a: str, b: str) -> list[str]:
    """The best common ancestors of ``a`` and ``b``, sorted; empty if they share none.

    A common ancestor is best when no other common ancestor descends from it. The set of
    common ancestors is closed under "parent of", so the best ones are exactly those that are
    not a parent of another common ancestor.
    """
    common = ancestors(graph, a) & ancestors(graph, b)
    parents_in_common = {parent for node in common for parent in graph[node].parents}
    return sorted(common - parents_in_common)


def merge_base(graph: Graph, a: str, b: str) -> str | None:
    """One best common ancestor (the smallest id when there are several), or ``None``."""
    bases = merge_bases(graph, a, b)
    return bases[0] if bases else None


def log_ids(
    graph: Graph, head: str, *, limit: int, offset: int = 0, before: str | None = None
) -> list[str]:
    """A page of the first-parent chain from ``head``, newest first.

    Args:
        graph: Versions by id.
        head: Where the log starts.
        limit: At most this many ids.
        offset: Skip this many first (applied after ``before``).
        before: A cursor: start after this id; ``None`` starts at ``head``.

    Raises:
        KeyError: ``before`` is not on the chain.
    """
    chain = first_parent_chain(graph, head)
    if before is not None:
        for version in chain:
            if version == before:
                break
        else:
            raise KeyError(before)
    page: list[str] = []
    for index, version in enumerate(chain):
        if len(page) >= limit:
            break
        if index >= offset:
            page.append(version)
    return page
