"""Prompt versioning on top of the event-sourced ``domain.prompts`` aggregate.

Writes go through a fixed pool of ``PromptShard`` actors (one writer per prompt) or, in a
process without Ray (the CLI), through ``LocalCommands``; events and projections are stored
together (``engine.prompts.store``), reads come from the projections.

Examples:
    >>> from engine import Engine
    >>> with Engine() as engine:                                    # doctest: +SKIP
    ...     engine.prompts.create("greeter", "Say hello to {{name}}")
    ...     engine.prompts.head("greeter").template.text
    'Say hello to {{name}}'
"""

from engine.prompts.client import Prompts
from engine.prompts.inputs import SettingsInput, TemplateInput
from engine.prompts.local_commands import CommandExecutor, LocalCommands
from engine.prompts.models import MergeOutcome, PromptInfo, PromptVersion
from engine.prompts.shards import ShardPool, shard_index
from engine.prompts.store import PromptStore, RebuildReport

__all__ = [
    "CommandExecutor",
    "LocalCommands",
    "MergeOutcome",
    "PromptInfo",
    "PromptStore",
    "PromptVersion",
    "Prompts",
    "RebuildReport",
    "SettingsInput",
    "ShardPool",
    "TemplateInput",
    "shard_index",
]
