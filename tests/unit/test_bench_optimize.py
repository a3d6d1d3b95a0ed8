"""bench/optimize.py's pieces that need no simulator: flags, the ideal time, DSPy's cases file."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))  # its flat imports

import optimize  # noqa: E402

from engine.prompts.inputs import as_template  # noqa: E402
from engine.simulator._families import FAMILIES  # noqa: E402


def test_flags_default_to_every_family_and_optimizer_and_refuse_unknown_names() -> None:
    options = optimize.parse_args([])
    assert options.families == list(FAMILIES) and options.optimizers == [
        "gepa",
        "fewshot",
        "random",
    ]
    assert options.max_metric_calls == 500 and options.model == "openai/sim-small"
    with pytest.raises(SystemExit):
        optimize.parse_args(["--families", "arithmetic,nope"])
    with pytest.raises(SystemExit):
        optimize.parse_args(["--optimizers", "gepa,annealing"])


def test_the_ideal_wall_time_is_calls_times_the_models_latency_over_concurrency() -> None:
    # sim-small answers in half the configured latency: 640 calls x 50 ms / 32 = 1 s
    options = optimize.parse_args(["--latency-ms", "100", "--concurrency", "32"])
    assert optimize.ideal_s(640, options) == pytest.approx(1.0)
    assert optimize.ideal_s(640, optimize.parse_args([])) is None  # 0 ms: no ideal


def test_dspys_cases_carry_our_split_and_the_user_message_our_engine_renders() -> None:
    options = optimize.parse_args(["--cases", "12", "--seed", "3", "--max-metric-calls", "90"])
    family = FAMILIES["conversion"]
    rows = family.cases(12, 3)
    split = {
        "train": [r["id"] for r in rows[:6]],
        "val": [r["id"] for r in rows[6:9]],
        "test": [r["id"] for r in rows[9:]],
    }
    spec = optimize.dspy_cases(family, split, "http://127.0.0.1:1/v1", options)
    assert [c["id"] for c in spec["test"]] == split["test"] and len(spec["train"]) == 6
    assert spec["system"] == family.system and spec["scorers"] == ["equals"]
    assert spec["max_metric_calls"] == 90 and spec["seed"] == spec["request_seed"] == 3
    template = as_template(family.template, family.system)
    for case in spec["train"] + spec["val"] + spec["test"]:
        messages = template.render(case["variables"]).as_dicts()
        assert messages == [
            {"role": "system", "content": family.system},
            {"role": "user", "content": case["user"]},
        ]
        assert case["user"] != family.template and "{{" not in case["user"]


def test_a_failed_optimizer_leaves_a_row_with_nothing_measured() -> None:
    row = optimize.failed_row("arithmetic", "gepa", "ServiceUnavailableError")
    assert row.status == "failed: ServiceUnavailableError"
    assert row.optimized is None and row.metric_calls is None and row.pct_of_optimum is None
