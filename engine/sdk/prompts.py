"""`Prompts`: the prompt SDK bound to one owner."""

from __future__ import annotations

from sqlalchemy import Engine as DbEngine

from engine.prompts.local_commands import CommandExecutor
from engine.prompts.queries import PromptQueries
from engine.sdk.prompt_reads import PromptReads
from engine.sdk.prompt_writes import PromptWrites


class Prompts(PromptReads, PromptWrites):
    """Git-like prompt versioning for one owner: commands go to an executor (the shard
    actors, or this process), queries read the projections.

    Commands return :class:`PromptInfo`, :class:`PromptVersion` or :class:`MergeOutcome`;
    queries also return :class:`~domain.prompts.VersionDiff` (``diff``) and
    :class:`~domain.prompts.Rendered` (``render``). All are frozen dataclasses with
    ``to_dict()`` (``VersionDiff``/``Rendered``: plain attributes). A prompt is named by its
    name or its id; a version by a ref: branch, label, version id or id prefix.

    Args:
        db: A sync SQLAlchemy engine on a migrated database.
        owner: The user or org every call acts as; nobody sees another owner's prompts.
        shards: What executes commands: a :class:`ShardPool` (the actors start on the first
            command) or :class:`~engine.prompts.LocalCommands` (this process, no Ray).

    Examples:
        >>> with Engine() as engine:                                    # doctest: +SKIP
        ...     p = engine.prompts.create("greeter", "Say hello to {{name}}")
        ...     v2 = engine.prompts.commit("greeter", "Say hi to {{name}}", message="shorter")
        ...     engine.prompts.label("greeter", "production", to=v2.id)
        ...     print(engine.prompts.diff("greeter", p.head, "production").to_text())
    """

    def __init__(
        self, *, db: DbEngine, owner: str, shards: CommandExecutor, actor: str | None = None
    ) -> None:
        self._db = db
        self.owner = owner
        self.actor = owner if actor is None else actor
        self._queries = PromptQueries(db, owner)
        self._shards = shards

    @property
    def shards(self) -> CommandExecutor:
        """The executor commands go through."""
        return self._shards
