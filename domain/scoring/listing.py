"""What a person can pick from: every registered scorer with its arguments.

The registry is the one list (`register_scorer`); each scorer class declares the arguments
it reads (`arguments`), and `ScorerArgs` refuses to read one it did not declare, so the
listing cannot drift from what the scorers accept.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from domain.scoring.base import _REGISTRY, Needs, registered_scorers


@dataclass(frozen=True)
class ScorerArgument:
    """One argument of a registered scorer (its spec's ``args``)."""

    name: str
    type: str
    description: str
    required: bool = False
    default: Any = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe form, for the CLI and the API."""
        return {
            "name": self.name,
            "type": self.type,
            "required": self.required,
            "default": self.default,
            "description": self.description,
        }


@dataclass(frozen=True)
class ScorerDescription:
    """A registered scorer: its ``type`` name, what it checks, what it needs, its arguments."""

    name: str
    description: str
    needs: Needs
    arguments: tuple[ScorerArgument, ...]

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe form, for the CLI and the API."""
        return {
            "name": self.name,
            "description": self.description,
            "needs": self.needs,
            "arguments": [a.to_dict() for a in self.arguments],
        }


def describe_scorers() -> list[ScorerDescription]:
    """Every registered scorer, sorted by name, described from the registry itself.

    Examples:
        >>> [d.name for d in describe_scorers()][:2]
        ['answer-relevance', 'bleu']
    """
    described = []
    for name in registered_scorers():
        factory = _REGISTRY[name]
        doc = (factory.__doc__ or "").strip()
        described.append(
            ScorerDescription(
                name=name,
                description=" ".join(doc.split("\n\n")[0].split()).replace("``", ""),
                needs=getattr(factory, "needs", None),
                arguments=tuple(getattr(factory, "arguments", ())),
            )
        )
    return described
