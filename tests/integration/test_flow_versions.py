"""Flows versioned like prompts (commits, branches, labels, diff) on a real database file,
validated at commit against the owner's real prompts and registered tools."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from domain.errors import NotFoundError, ValidationError
from engine.db import create_db_engine, migrate
from engine.prompts import LocalCommands
from engine.sdk.flows import Flows
from engine.sdk.prompts import Prompts

pytestmark = pytest.mark.integration

YAML = """
inputs: [question]
output: answer
steps:
  - name: classify
    kind: llm
    prompt: classifier@production
    parse: json
  - name: route
    kind: condition
    when: {var: classify.label, equals: billing}
    then: billing
    otherwise: general
  - name: billing
    kind: tool
    tool: invoices
    inputs: {question: question}
    output: answer
    next: end
  - name: general
    kind: llm
    prompt: answerer
    output: answer
"""


@pytest.fixture
def flows(tmp_path: Path) -> Flows:
    url = f"sqlite:///{tmp_path / 'flows.db'}"
    db = create_db_engine(url)
    migrate(db)
    prompts = Prompts(db=db, owner="o", shards=LocalCommands(db))
    prompts.create("classifier", 'Classify as JSON {"label": ...}: {{ question }}')
    prompts.label("classifier", "production", to="main")
    prompts.create("answerer", "Answer: {{ question }}")
    service = Flows(prompts)
    service.register_tool("invoices", lambda question: {"open": 2})
    return service


def test_a_flow_is_committed_branched_labelled_and_diffed(flows: Flows) -> None:
    v1 = flows.create("support", YAML, description="classify then answer")
    assert (v1.name, v1.number) == ("support", 1)
    assert [s.name for s in v1.flow.steps] == ["classify", "route", "billing", "general"]
    changed = YAML.replace("Answer", "x").replace("prompt: answerer", "prompt: answerer@main")
    v2 = flows.commit("support", changed, message="pin answerer", parent=v1.id)
    assert v2.parents == (v1.id,)
    assert [v.id for v in flows.history("support")] == [v2.id, v1.id]
    assert flows.get("support", "v1").id == v1.id
    labelled = flows.label("support", "production", to=v1.id)
    assert flows.get("support", "production").id == labelled.id == v1.id
    diff = flows.diff("support", "production", "main")
    assert diff.changes == ("steps.general",)
    assert '-      "prompt": "answerer"\n' in diff.text
    assert '+      "prompt": "answerer@main"\n' in diff.text
    assert "No newline" not in diff.text
    flows.branch("support", "experiment", start="v1")
    v3 = flows.commit(
        "support", YAML.replace("equals: billing", "equals: invoice"), branch="experiment"
    )
    assert flows.get("support", "experiment").id == v3.id
    assert flows.get("support").id == v2.id
    assert flows.list() == ["support"]
    with pytest.raises(ValidationError) as err:
        flows.commit("support", changed)
    assert err.value.details["reason"] == "no-changes"


@pytest.mark.parametrize(
    ("change", "reason", "step"),
    [
        (("prompt: answerer", "prompt: nobody"), "unknown-prompt", "general"),
        (("classifier@production", "classifier@staging"), "unknown-prompt", "classify"),
        (("tool: invoices", "tool: shell"), "unknown-tool", "billing"),
        (
            ("inputs: {question: question}", "inputs: {question: missing}"),
            "unknown-variable",
            "billing",
        ),
        (("inputs: [question]", "inputs: [query]"), "unknown-variable", "classify"),
        (("    parse: json\n", ""), "flow-type-error", "route"),
        (("    next: end\n", "    next: classify\n"), "flow-cycle", "billing"),
    ],
)
def test_a_commit_refuses_a_flow_naming_the_step(
    flows: Flows, change: tuple[str, str], reason: str, step: str
) -> None:
    flows.create("support", YAML)
    bad = YAML.replace(*change)
    assert bad != YAML
    with pytest.raises(ValidationError) as err:
        flows.commit("support", bad)
    assert (err.value.details["reason"], err.value.details["step"]) == (reason, step)
    assert len(flows.history("support")) == 1  # nothing was written


def test_unreadable_flows_and_unknown_names_are_refused(flows: Flows) -> None:
    with pytest.raises(ValidationError) as err:
        flows.create("broken", "steps: [unclosed")
    assert err.value.details["reason"] == "invalid-flow"
    with pytest.raises(NotFoundError) as missing:
        flows.get("nothing")
    assert missing.value.details["reason"] == "unknown-flow"
    with pytest.raises(ValidationError) as not_flow:
        flows.get("flow:classifier".removeprefix("flow:"))
    assert not_flow.value.details["reason"] in ("unknown-flow", "not-a-flow")


def test_a_plan_pins_each_llm_step_to_a_prompt_version(flows: Flows) -> None:
    flows.create("support", YAML)
    version, plan, pins = flows.plan("support", "main")
    assert set(pins) == {"classify", "general"}
    classifier = flows.prompts.show("classifier", "production")
    assert pins["classify"] == classifier.id
    flows.prompts.commit("classifier", "Label {{ question }} as JSON")
    flows.prompts.label("classifier", "production", to="main")
    _, again, same = flows.plan("support", "main", pins)
    assert same == pins  # a resume keeps the prompts the run started with
    _, fresh, moved = flows.plan("support", "main")
    assert moved["classify"] != pins["classify"]
    assert plan.tools["invoices"](question="q") == {"open": 2}
    args: Any = version.to_dict()
    assert args["flow"]["steps"][0]["prompt"] == "classifier@production"
