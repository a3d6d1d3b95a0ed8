"""Diffs between two versions: unified text diffs and the list of what changed."""

from __future__ import annotations

import difflib
import json
from dataclasses import dataclass
from typing import cast

from domain.prompts.settings import ModelSettings
from domain.prompts.template import Template
from domain.prompts.version import Commit, VersionContent

NO_NEWLINE = "\\ No newline at end of file\n"


def template_text(template: Template) -> str:
    """The template as one text: itself, or each message under a ``[role]`` line."""
    if template.messages is None:
        return cast(str, template.text)
    return "".join(f"[{m.role}]\n{m.content}\n" for m in template.messages)


def settings_text(settings: ModelSettings) -> str:
    """The settings as indented JSON with sorted keys."""
    return json.dumps(settings.to_dict(), indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def _lines(text: str) -> list[str]:
    # A line from split() never holds "\n", so "\n\n" safely marks an unterminated last line.
    *lines, last = text.split("\n")
    return [line + "\n" for line in lines] + ([last + "\n\n"] if last else [])


def unified(old: str, new: str, old_name: str, new_name: str, context: int = 3) -> str:
    """A unified diff of two texts; empty when they are equal.

    A missing final newline shows as Git shows it, on a ``\\ No newline at end of file`` line.
    """
    lines = difflib.unified_diff(_lines(old), _lines(new), old_name, new_name, n=context)
    return "".join(line[:-1] + NO_NEWLINE if line.endswith("\n\n") else line for line in lines)


def content_changes(old: VersionContent, new: VersionContent) -> tuple[str, ...]:
    """Paths of what differs, e.g. ``("template.messages[1]", "settings.temperature")``."""
    changes: list[str] = []
    a, b = old.template, new.template
    if a.messages is None or b.messages is None:
        if a != b:
            changes.append("template.text" if a.kind == b.kind else "template")
    else:
        for index in range(max(len(a.messages), len(b.messages))):
            if a.messages[index : index + 1] != b.messages[index : index + 1]:
                changes.append(f"template.messages[{index}]")
    sa, sb = old.settings.to_dict(), new.settings.to_dict()
    for key in sorted(set(sa) | set(sb)):
        if key == "extra":
            ea, eb = sa.get(key, {}), sb.get(key, {})
            keys = sorted(set(ea) | set(eb))
            changes += [f"settings.extra.{k}" for k in keys if ea.get(k) != eb.get(k)]
        elif sa.get(key) != sb.get(key):
            changes.append(f"settings.{key}")
    return tuple(changes)


@dataclass(frozen=True)
class VersionDiff:
    """How version ``to_id`` differs from ``from_id``.

    Attributes:
        from_id: The old version.
        to_id: The new version.
        template: Unified diff of the templates (see :func:`template_text`); ``""`` if equal.
        settings: Unified diff of the settings as sorted JSON; ``""`` if equal.
        changes: Paths of what differs (see :func:`content_changes`).
    """

    from_id: str
    to_id: str
    template: str
    settings: str
    changes: tuple[str, ...]

    @property
    def is_empty(self) -> bool:
        """Whether both versions have the same content."""
        return not self.changes

    def to_text(self) -> str:
        """Both diffs, template first, as one text."""
        return self.template + self.settings


def diff_versions(old: Commit, new: Commit, *, context: int = 3) -> VersionDiff:
    """Diff two versions of a prompt.

    Examples:
        >>> print(prompt.diff("production", "main").to_text())  # doctest: +SKIP
        --- 3f2a1b9c0d4e/template
        +++ 9bc1d2e3f4a5/template
        ...
    """
    old_name, new_name = old.id[:12], new.id[:12]
    return VersionDiff(
        from_id=old.id,
        to_id=new.id,
        template=unified(
            template_text(old.template),
            template_text(new.template),
            f"{old_name}/template",
            f"{new_name}/template",
            context,
        ),
        settings=unified(
            settings_text(old.settings),
            settings_text(new.settings),
            f"{old_name}/settings.json",
            f"{new_name}/settings.json",
            context,
        ),
        changes=content_changes(old.content, new.content),
    )
