"""A flow version is stored as a prompt version whose template text is the flow's JSON.

Reusing the prompt aggregate gives flows the same history (content-addressed commits,
branches, labels, revert, merge, diff) without a second event store. The text is the
canonical JSON indented one key per line, so the prompt diff reads as a diff of the flow.
Flow prompts are named with `FLOW_PREFIX` so they never collide with ordinary prompts.
"""

from __future__ import annotations

import json

from domain.errors import ValidationError
from domain.flows.errors import flow_error
from domain.flows.spec import Flow
from domain.prompts.template import Template

FLOW_PREFIX = "flow:"
_MARK = '{\n  "af_flow": 1,'


def prompt_name(flow_name: str) -> str:
    """The name of the prompt holding flow ``flow_name``."""
    return flow_name if flow_name.startswith(FLOW_PREFIX) else FLOW_PREFIX + flow_name


def flow_name(name: str) -> str:
    """The flow's own name, from its prompt's."""
    return name[len(FLOW_PREFIX) :] if name.startswith(FLOW_PREFIX) else name


def to_template(flow: Flow) -> Template:
    """The template text a flow version is committed as."""
    document = {"af_flow": 1, **flow.to_dict()}
    return Template.from_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n")


def is_flow_template(template: Template) -> bool:
    """Whether ``template`` holds a flow (see :func:`to_template`)."""
    return template.text is not None and template.text.startswith(_MARK)


def from_template(template: Template) -> Flow:
    """The flow a version holds.

    Raises:
        ValidationError: ``reason="not-a-flow"`` for a template that holds none.
    """
    if not is_flow_template(template):
        raise flow_error("this prompt version holds no flow", "not-a-flow")
    try:
        data = json.loads(template.text or "")
    except ValueError:
        raise flow_error("this prompt version holds no flow", "not-a-flow") from None
    data.pop("af_flow", None)
    try:
        return Flow.from_dict(data)
    except ValidationError:
        raise
