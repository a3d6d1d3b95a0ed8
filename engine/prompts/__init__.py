"""Prompt versioning below the actors: commands on the event-sourced ``domain.prompts``
aggregate, the event store with its projections, and the queries that read them.

The ``PromptShard`` actors (``actors.prompt_shard``) execute the commands, one writer per
prompt; a process without Ray (the CLI) runs the same commands through ``LocalCommands``.
Events and projections are stored together (``engine.prompts.store``); the SDK
(``engine.sdk.Prompts``) sends commands and reads the projections.
"""

from engine.prompts.inputs import SettingsInput, TemplateInput
from engine.prompts.local_commands import CommandExecutor, LocalCommands
from engine.prompts.models import MergeOutcome, PromptInfo, PromptVersion
from engine.prompts.store import PromptStore, RebuildReport

__all__ = [
    "CommandExecutor",
    "LocalCommands",
    "MergeOutcome",
    "PromptInfo",
    "PromptStore",
    "PromptVersion",
    "RebuildReport",
    "SettingsInput",
    "TemplateInput",
]
