"""The Workflow context: flows of steps, validated at commit, versioned like prompts.

Examples:
    >>> from domain.flows import Flow, check_flow
    >>> flow = Flow.from_dict({
    ...     "inputs": ["question"], "output": "answer",
    ...     "steps": [{"name": "answer", "kind": "transform",
    ...                "template": "You asked: {{ question }}"}]})
    >>> check_flow(flow)
"""

from domain.flows.check import Known, check_flow
from domain.flows.codec import (
    FLOW_PREFIX,
    flow_name,
    from_template,
    is_flow_template,
    prompt_name,
    to_template,
)
from domain.flows.diff import flow_changes
from domain.flows.errors import FLOW_REASONS, flow_error
from domain.flows.report import StepSummary, step_report
from domain.flows.spec import (
    END,
    MAX_FAN_OUT,
    MAX_ITERATIONS,
    MAX_STEPS,
    MAX_TOOL_ROUNDS,
    MAX_TURNS,
    STEP_KINDS,
    TRANSCRIPT,
    Flow,
    Predicate,
    Step,
    User,
    split_ref,
)
from domain.flows.values import holds, lookup, parse_output

__all__ = [
    "END",
    "FLOW_PREFIX",
    "FLOW_REASONS",
    "MAX_FAN_OUT",
    "MAX_ITERATIONS",
    "MAX_STEPS",
    "MAX_TOOL_ROUNDS",
    "MAX_TURNS",
    "STEP_KINDS",
    "TRANSCRIPT",
    "Flow",
    "Known",
    "Predicate",
    "Step",
    "StepSummary",
    "User",
    "check_flow",
    "flow_changes",
    "flow_error",
    "flow_name",
    "from_template",
    "holds",
    "is_flow_template",
    "lookup",
    "parse_output",
    "prompt_name",
    "split_ref",
    "step_report",
    "to_template",
]
