"""The query half of the prompt SDK: answered from the projections, never by the actors."""

from __future__ import annotations

import builtins
from collections.abc import Mapping

from sqlalchemy import Engine

from domain.prompts import Rendered, VersionDiff
from domain.prompts.state import DEFAULT_BRANCH
from engine.prompts.models import PromptInfo, PromptVersion
from engine.prompts.queries import PromptQueries
from engine.prompts.store import PromptStore, RebuildReport


class PromptReads:
    """Queries on one owner's prompts (mixed into :class:`~engine.prompts.Prompts`)."""

    owner: str
    _db: Engine
    _queries: PromptQueries

    def get(self, prompt: str) -> PromptInfo:
        """A prompt's details, branches and labels.

        Args:
            prompt: The prompt's name or id.

        Returns:
            Its details.

        Raises:
            NotFoundError: ``reason="unknown-prompt"`` (also for another owner's prompt).

        Examples:
            >>> engine.prompts.get("greeter").labels  # doctest: +SKIP
            {'production': '9bc1d2…'}
        """
        return self._queries.get(prompt)

    def head(self, prompt: str, branch: str = DEFAULT_BRANCH) -> PromptVersion:
        """The head version of a branch: the fastest read (one indexed lookup when cached).

        Args:
            prompt: The prompt's name or id.
            branch: The branch.

        Returns:
            The head version.

        Examples:
            >>> engine.prompts.head("greeter").template.text  # doctest: +SKIP
            'Say hello to {{name}}'
        """
        return self._queries.head(prompt, branch)

    def version_names(self, prompt: str, version_ids: builtins.list[str]) -> dict[str, str]:
        """How a person names each version, e.g. ``{"3f2a…": "v3 (production)"}``.

        Raises:
            NotFoundError: ``reason="unknown-prompt"``.
        """
        return self._queries.version_names(prompt, version_ids)

    def show(self, prompt: str, ref: str = DEFAULT_BRANCH) -> PromptVersion:
        """The version a ref names.

        Args:
            prompt: The prompt's name or id.
            ref: A branch, label, ``v3``, version id or id prefix (at least 7 digits),
                optionally ``~N`` first parents back (``main~1``).

        Returns:
            The version.

        Raises:
            NotFoundError: ``reason="unknown-ref"``.
            ValidationError: ``reason="ambiguous-ref"``.

        Examples:
            >>> engine.prompts.show("greeter", "production").number  # doctest: +SKIP
            3
        """
        return self._queries.show(prompt, ref)

    def log(
        self,
        prompt: str,
        ref: str = DEFAULT_BRANCH,
        *,
        limit: int = 50,
        offset: int = 0,
        before: str | None = None,
    ) -> builtins.list[PromptVersion]:
        """A page of history: ``ref`` and its first parents, newest first.

        Args:
            prompt: The prompt's name or id.
            ref: Where the log starts: a branch, label or version.
            limit: Page size (0–1000).
            offset: Versions to skip.
            before: Cursor: the last version id of the previous page.

        Returns:
            The versions of the page.

        Raises:
            NotFoundError: ``reason="unknown-cursor"`` when ``before`` is not on the log.

        Examples:
            >>> page = engine.prompts.log("greeter", limit=20)  # doctest: +SKIP
            >>> older = engine.prompts.log("greeter", before=page[-1].id)  # doctest: +SKIP
        """
        return self._queries.log(prompt, ref, limit=limit, offset=offset, before=before)

    def diff(
        self, prompt: str, old: str, new: str = DEFAULT_BRANCH, *, context: int = 3
    ) -> VersionDiff:
        """How ref ``new`` differs from ref ``old``.

        Args:
            prompt: The prompt's name or id.
            old: The older ref.
            new: The newer ref.
            context: Lines of context in the unified diffs.

        Returns:
            Unified diffs of template and settings, and the paths that changed.

        Examples:
            >>> print(engine.prompts.diff("greeter", "production").to_text())  # doctest: +SKIP
        """
        return self._queries.diff(prompt, old, new, context=context)

    def list(
        self, *, include_archived: bool = False, limit: int = 50, after: str | None = None
    ) -> builtins.list[PromptInfo]:
        """The owner's prompts, ordered by name.

        Args:
            include_archived: Also list archived prompts.
            limit: Page size (0–1000).
            after: Cursor: the last name of the previous page.

        Returns:
            The prompts of the page.

        Examples:
            >>> [p.name for p in engine.prompts.list()]  # doctest: +SKIP
            ['greeter', 'summarise']
        """
        return self._queries.search(include_archived=include_archived, limit=limit, after=after)

    def search(
        self,
        text: str = "",
        *,
        tag: str | None = None,
        include_archived: bool = False,
        limit: int = 50,
        after: str | None = None,
    ) -> builtins.list[PromptInfo]:
        """Prompts whose name contains ``text`` (case-insensitive for ASCII) and/or with ``tag``.

        Args:
            text: Part of the name; empty matches every name.
            tag: Only prompts with this tag.
            include_archived: Also search archived prompts.
            limit: At most this many (0–1000).
            after: Cursor: the last name of the previous page.

        Returns:
            The matching prompts, ordered by name.

        Examples:
            >>> engine.prompts.search("greet", tag="onboarding")  # doctest: +SKIP
        """
        return self._queries.search(
            text, tag=tag, include_archived=include_archived, limit=limit, after=after
        )

    def render(
        self,
        prompt: str,
        values: Mapping[str, object],
        *,
        ref: str = DEFAULT_BRANCH,
        strict: bool = False,
    ) -> Rendered:
        """Render the template of a version with ``values``.

        Args:
            prompt: The prompt's name or id.
            values: A value for every variable.
            ref: Which version.
            strict: Also refuse values the template does not use.

        Returns:
            The rendered messages (and text, for a text template).

        Raises:
            ValidationError: ``reason="missing-variables"`` or ``"unknown-variables"``.

        Examples:
            >>> engine.prompts.render("greeter", {"name": "Ada"}).text  # doctest: +SKIP
            'Say hello to Ada'
        """
        return self._queries.show(prompt, ref).template.render(values, strict=strict)

    def rebuild(self) -> RebuildReport:
        """Regenerate the owner's projections (read models) from the event log.

        Returns:
            How many prompts and events were replayed.

        Examples:
            >>> engine.prompts.rebuild()  # doctest: +SKIP
            RebuildReport(prompts=2, events=17)
        """
        return PromptStore(self._db).rebuild(self.owner)
