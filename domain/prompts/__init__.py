"""The Prompt context: templates, model settings and their Git-like, event-sourced history.

Examples:
    >>> from domain.prompts import Prompt, Template, ModelSettings
    >>> prompt = Prompt.create(
    ...     name="summarise",
    ...     owner="user-1",
    ...     template=Template.from_text("Summarise: {{ document }}"),
    ...     settings=ModelSettings(model="gpt-4o-mini", temperature=0.2),
    ... )
    >>> prompt.head().template.render({"document": "…"}).text
    'Summarise: …'
"""

from domain.prompts.aggregate import Prompt
from domain.prompts.clock import Clock, format_time, parse_time, utc_now
from domain.prompts.diff import VersionDiff, content_changes, diff_versions
from domain.prompts.events import (
    EVENT_TYPES,
    BranchCreated,
    BranchDeleted,
    BranchMoved,
    Event,
    LabelDeleted,
    LabelMoved,
    MoveReason,
    PromptArchived,
    PromptCreated,
    PromptDetailsChanged,
    PromptRestored,
    VersionCommitted,
    event_from_dict,
    event_to_dict,
)
from domain.prompts.merge import MergeResult, MergeStrategy
from domain.prompts.names import duplicate_name_error, validate_prompt_name, validate_ref_name
from domain.prompts.recording import PromptLimits
from domain.prompts.settings import DEFAULT_MAX_SETTINGS_BYTES, ModelSettings
from domain.prompts.state import DEFAULT_BRANCH
from domain.prompts.template import (
    DEFAULT_MAX_TEMPLATE_BYTES,
    Message,
    Rendered,
    Role,
    Template,
    find_variables,
)
from domain.prompts.version import Commit, VersionContent, version_id

__all__ = [
    "DEFAULT_BRANCH",
    "DEFAULT_MAX_SETTINGS_BYTES",
    "DEFAULT_MAX_TEMPLATE_BYTES",
    "EVENT_TYPES",
    "BranchCreated",
    "BranchDeleted",
    "BranchMoved",
    "Clock",
    "Commit",
    "Event",
    "LabelDeleted",
    "LabelMoved",
    "MergeResult",
    "MergeStrategy",
    "Message",
    "ModelSettings",
    "MoveReason",
    "Prompt",
    "PromptArchived",
    "PromptCreated",
    "PromptDetailsChanged",
    "PromptLimits",
    "PromptRestored",
    "Rendered",
    "Role",
    "Template",
    "VersionCommitted",
    "VersionContent",
    "VersionDiff",
    "content_changes",
    "diff_versions",
    "duplicate_name_error",
    "event_from_dict",
    "event_to_dict",
    "find_variables",
    "format_time",
    "parse_time",
    "utc_now",
    "validate_prompt_name",
    "validate_ref_name",
    "version_id",
]
