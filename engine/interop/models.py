"""Which catalogue model runs a suite's provider: a documented rule, then the user's map.

The rule turns a promptfoo provider id into a LiteLLM-style catalogue name:

===============================  ==========================
provider id                      catalogue model
===============================  ==========================
``openai:<m>``                   ``openai/<m>``
``openai:chat:<m>``              ``openai/<m>``
``anthropic:messages:<m>``       ``anthropic/<m>``
``anthropic:<m>``                ``anthropic/<m>``
``echo``                         ``echo``
anything else                    unchanged
===============================  ==========================

``--model-map FROM=TO`` (repeatable) then replaces a model: ``FROM`` is matched against the
provider id as written and against its catalogue name; ``*`` matches every model, so
``--model-map '*=openai/sim-small'`` runs a whole suite on the simulator. A spec that names no
model at all (an OpenAI Evals YAML) takes the ``*`` entry.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from domain.errors import ValidationError

_PREFIXES = (
    ("openai:chat:", "openai/"),
    ("openai:", "openai/"),
    ("anthropic:messages:", "anthropic/"),
    ("anthropic:", "anthropic/"),
)


def default_model_name(provider_id: str) -> str:
    """The catalogue name the documented rule gives ``provider_id``.

    Examples:
        >>> default_model_name("openai:chat:gpt-4.1")
        'openai/gpt-4.1'
    """
    for prefix, replacement in _PREFIXES:
        if provider_id.startswith(prefix) and len(provider_id) > len(prefix):
            return replacement + provider_id[len(prefix) :]
    return provider_id


@dataclass(frozen=True)
class ModelMap:
    """The user's ``FROM=TO`` replacements, in the order given (the first match wins)."""

    entries: tuple[tuple[str, str], ...] = field(default=())

    @classmethod
    def parse(cls, items: Iterable[str]) -> ModelMap:
        """Read ``FROM=TO`` strings.

        Raises:
            ValidationError: ``reason="bad-model-map"`` for an item without ``=`` or with an
                empty side.
        """
        entries = []
        for item in items:
            source, sep, target = item.partition("=")
            if not sep or not source.strip() or not target.strip():
                raise ValidationError(
                    f"--model-map {item!r}: expected FROM=TO (FROM may be '*')",
                    reason="bad-model-map",
                    field="model_map",
                )
            entries.append((source.strip(), target.strip()))
        return cls(tuple(entries))

    def resolve(self, provider_id: str | None) -> str | None:
        """The model that runs ``provider_id`` (``None``: the spec names none and no ``*``
        entry supplies one)."""
        name = default_model_name(provider_id) if provider_id else None
        for source, target in self.entries:
            if source == "*" or source in (provider_id, name):
                return target
        return name
