"""Which catalogue model runs a suite's provider: a documented rule, then the user's map.

The rule turns a promptfoo provider id into a LiteLLM-style catalogue name:

===============================  ==========================
provider id                      catalogue model
===============================  ==========================
``openai:<m>``                   ``openai/<m>``
``openai:chat:<m>``              ``openai/<m>``
``openai:embedding:<m>``         ``openai/<m>``
``openai:moderation:<m>``        ``openai/<m>``
``anthropic:messages:<m>``       ``anthropic/<m>``
``anthropic:<m>``                ``anthropic/<m>``
``echo``                         ``echo``
anything else                    unchanged
===============================  ==========================

``--model-map FROM=TO`` (repeatable) then replaces a model: ``FROM`` is matched against the
provider id as written and against its catalogue name; ``*`` matches every model, so
``--model-map '*=openai/sim-small'`` runs a whole suite on the simulator. A spec that names no
model at all (an OpenAI Evals YAML) takes the ``*`` entry.

Graders follow the same map unless ``--grader MODEL`` (every model-graded assertion's judge)
or ``--embedder MODEL`` (every embedding-similarity assertion's model) says otherwise: a
model under test is rarely the one that should grade it (``openai/sim-judge`` grades on the
simulator, ``openai/sim-small`` does not).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from domain.errors import ValidationError

_PREFIXES = (
    ("openai:chat:", "openai/"),
    ("openai:embedding:", "openai/"),
    ("openai:moderation:", "openai/"),
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
    grader: str | None = None
    """Judges every model-graded assertion, whatever the suite names (``--grader``)."""
    embedder: str | None = None
    """Embeds for every embedding-similarity assertion (``--embedder``)."""

    @classmethod
    def parse(
        cls, items: Iterable[str], *, grader: str | None = None, embedder: str | None = None
    ) -> ModelMap:
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
        return cls(tuple(entries), grader=grader or None, embedder=embedder or None)

    def resolve(self, provider_id: str | None) -> str | None:
        """The model that runs ``provider_id`` (``None``: the spec names none and no ``*``
        entry supplies one)."""
        name = default_model_name(provider_id) if provider_id else None
        for source, target in self.entries:
            if source == "*" or source in (provider_id, name):
                return target
        return name

    def resolve_grader(self, provider_id: str | None) -> str | None:
        """The judge for an assertion whose suite names ``provider_id``: ``--grader`` first."""
        return self.grader or self.resolve(provider_id)

    def resolve_embedder(self, provider_id: str | None) -> str | None:
        """The embedding model for an assertion naming ``provider_id``: ``--embedder`` first."""
        return self.embedder or self.resolve(provider_id)
