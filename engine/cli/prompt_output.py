"""Readable text for ``autoforge prompt …`` output (``--json`` uses ``to_dict`` instead)."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping

from domain.prompts import VersionDiff
from domain.prompts.diff import template_text
from engine.prompts.models import MergeOutcome, PromptInfo, PromptVersion


def when(version: PromptVersion) -> str:
    """The commit time, to the minute, in UTC."""
    return version.committed_at.strftime("%Y-%m-%d %H:%M")


def first_line(text: str) -> str:
    """The first line of a message."""
    return text.splitlines()[0] if text else ""


def refs_at(info: PromptInfo | None, version_id: str) -> list[str]:
    """Branches, then labels, that point at ``version_id``."""
    if info is None:
        return []
    names = [name for name, target in info.branches.items() if target == version_id]
    return names + [name for name, target in info.labels.items() if target == version_id]


def created(info: PromptInfo) -> str:
    return f"created prompt {info.name} (id {info.id}), main at v1 {info.head[:12]}"


def committed(version: PromptVersion, branch: str) -> str:
    return f"[{branch} v{version.number} {version.short_id}] {first_line(version.message)}"


def log_lines(versions: Iterable[PromptVersion], info: PromptInfo | None) -> list[str]:
    lines = []
    for version in versions:
        refs = refs_at(info, version.id)
        decoration = f" ({', '.join(refs)})" if refs else ""
        lines.append(
            f"v{version.number:<4} {version.short_id}  {when(version)}  {version.author}"
            f"{decoration}  {first_line(version.message)}"
        )
    return lines


def show_text(version: PromptVersion, info: PromptInfo | None) -> str:
    rows = [
        ("version", f"v{version.number} {version.id}"),
        ("refs", ", ".join(refs_at(info, version.id)) or "-"),
        ("parents", " ".join(parent[:12] for parent in version.parents) or "-"),
        ("author", f"{version.author}, {when(version)} UTC"),
        ("message", first_line(version.message) or "-"),
        ("settings", json.dumps(version.settings.to_dict(), sort_keys=True) or "{}"),
        ("variables", ", ".join(version.template.variables) or "-"),
    ]
    header = "\n".join(f"{key:<10} {value}" for key, value in rows)
    body = template_text(version.template)
    return f"{header}\n\n{body.rstrip(chr(10))}"


def diff_text(diff: VersionDiff) -> str:
    if diff.is_empty:
        return f"no differences between {diff.from_id[:12]} and {diff.to_id[:12]}"
    return diff.to_text().rstrip("\n")


def diff_dict(diff: VersionDiff) -> dict[str, object]:
    return {
        "from": diff.from_id,
        "to": diff.to_id,
        "changes": list(diff.changes),
        "template": diff.template,
        "settings": diff.settings,
    }


def merged(result: MergeOutcome, into: str) -> str:
    version = result.version
    if result.outcome == "up-to-date":
        return f"{into} is up to date at v{version.number} {version.short_id}"
    return f"{result.outcome}: {into} now at v{version.number} {version.short_id}"


def prompt_table(infos: Iterable[PromptInfo]) -> str:
    rows = [("NAME", "VERSIONS", "HEAD", "UPDATED", "TAGS")]
    for info in infos:
        name = f"{info.name} (archived)" if info.archived else info.name
        updated = info.updated_at.strftime("%Y-%m-%d %H:%M")
        rows.append((name, str(info.version_count), info.head[:12], updated, ",".join(info.tags)))
    if len(rows) == 1:
        return "no prompts"
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return "\n".join(
        "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in rows
    )


def details(info: PromptInfo, action: str) -> str:
    labels: Mapping[str, str] = info.labels
    state = "archived" if info.archived else "active"
    tail = f"; labels: {', '.join(labels)}" if labels else ""
    return f"{action} {info.name}: {state}, {info.version_count} versions{tail}"
