"""The scorer listing comes from the registry and cannot drift from what scorers read."""

from __future__ import annotations

from typing import Any

import pytest

from domain.errors import ConfigurationError
from domain.scoring import BaseScorer, ScorerArgs, ScorerSpec, registered_scorers
from domain.scoring.listing import describe_scorers


def test_every_registered_scorer_is_listed_with_a_description() -> None:
    listed = describe_scorers()
    assert [d.name for d in listed] == registered_scorers()
    builtin = [d for d in listed if not d.name.startswith("test-")]  # other tests register some
    assert len(builtin) >= 16 and all(d.description for d in builtin)


def test_arguments_say_type_and_whether_required() -> None:
    by_name = {d.name: d.to_dict() for d in describe_scorers()}
    regex = {a["name"]: a for a in by_name["regex"]["arguments"]}
    assert regex["pattern"]["required"] and regex["pattern"]["type"] == "string"
    assert not regex["flags"]["required"]
    judge = {a["name"]: a for a in by_name["llm-judge"]["arguments"]}
    assert judge["pass_threshold"]["default"] == 0.5 and judge["model"]["required"]
    assert by_name["llm-judge"]["needs"] == "completion"


def test_a_scorer_reading_an_undeclared_argument_is_refused() -> None:
    class Sloppy(BaseScorer):
        def configure(self, args: ScorerArgs) -> None:
            self.value: Any = args.text("value", required=False)

    with pytest.raises(ConfigurationError, match="undeclared argument 'value'"):
        Sloppy(ScorerSpec(type="sloppy"))
