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


def test_the_readme_scorer_table_names_every_builtin_scorer() -> None:
    import re
    from pathlib import Path

    readme = (Path(__file__).resolve().parents[3] / "README.md").read_text(encoding="utf-8")
    table = readme.split("| scorer types | pass when |", 1)[1].split("\n\n", 1)[0]
    first_cells = [row.split("|")[1] for row in table.splitlines() if row.startswith("| `")]
    named = {name for cell in first_cells for name in re.findall(r"`([a-z][a-z0-9-]*)`", cell)}
    builtin = {n for n in registered_scorers() if not n.startswith("test-")}
    assert named == builtin
