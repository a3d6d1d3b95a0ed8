"""Flow runs end to end on real Ray, Redis, DB and the simulator over HTTP: a 3-step flow
(classify → condition → answer) × 2 flow versions × 2 models, its report recomputed from
the recorded traces, a re-run answered by the response cache."""

from __future__ import annotations

import json
import time
from collections import defaultdict
from collections.abc import Iterator
from typing import Any

import httpx
import numpy as np
import pytest

from engine.llm import simulator_catalogue

pytestmark = [pytest.mark.integration, pytest.mark.slow]

MODELS = ["openai/sim-small", "openai/sim-large"]
TICKETS = {
    "billing": [
        "I was charged twice on my invoice",
        "Refund my subscription payment",
        "Why is the price on my bill higher",
    ],
    "technical": [
        "The app crashes on login",
        "Install fails with an error",
        "The server is slow and broken",
    ],
    "account": [
        "Delete my account profile",
        "Change the email of my username",
        "I cannot sign up, settings page",
    ],
}
FLOW_V1 = {
    "inputs": ["question"],
    "output": "answer",
    "steps": [
        {
            "name": "classify",
            "kind": "llm",
            "prompt": "triage@production",
            "scorers": [{"type": "icontains", "name": "label"}],
        },
        {
            "name": "route",
            "kind": "condition",
            "when": {"var": "classify", "contains": "billing"},
            "then": "billing",
            "otherwise": "general",
        },
        {
            "name": "billing",
            "kind": "tool",
            "tool": "invoices",
            "inputs": {"text": "question"},
            "output": "facts",
            "next": "answer",
        },
        {"name": "general", "kind": "transform", "template": "no invoice", "output": "facts"},
        {"name": "answer", "kind": "transform", "template": "[{{ classify }}] {{ facts }}"},
    ],
}


def _v2() -> dict[str, Any]:
    flow = json.loads(json.dumps(FLOW_V1))
    flow["steps"][0]["prompt"] = "triage-careful@main"
    return flow


@pytest.fixture(scope="module")
def engine(
    ray_cluster: dict[str, Any],
    redis_url: str,
    simulator: Any,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Any]:
    from engine import Engine

    eng = Engine(data_dir=tmp_path_factory.mktemp("flows"), redis_url=redis_url)
    eng.use_catalogue(simulator_catalogue(simulator.api_base, max_concurrency=256))
    eng.prompts.create(
        "triage", "Classify this ticket into billing, technical or account: {{ question }}"
    )
    eng.prompts.label("triage", "production", to="main")
    eng.prompts.create(
        "triage-careful",
        "Read the ticket carefully. Classify it into "
        "billing, technical or account. Answer with the label only: {{ question }}",
    )
    # A closure: pickled by value to the Ray workers (a module function is by reference).
    eng.flows.register_tool("invoices", lambda text: f"{len(text.split())} words, 2 open invoices")
    eng.datasets.create("tickets")
    eng.datasets.add(
        "tickets",
        [
            {"id": f"{label}-{i}", "vars": {"question": text}, "expected": label}
            for label, texts in TICKETS.items()
            for i, text in enumerate(texts)
        ],
    )
    yield eng
    eng.close()


def group_of(report: dict[str, Any], version: str, model: str) -> dict[str, Any]:
    return next(
        g for g in report["groups"] if (g["prompt_version"], g["model"]) == (version, model)
    )


def _requests(simulator: Any) -> int:
    return int(httpx.get(f"{simulator.url}/stats").json()["requests_total"])


def test_two_flow_versions_on_two_models_report_what_the_traces_say(
    engine: Any, simulator: Any
) -> None:
    v1 = engine.flows.create("support", FLOW_V1)
    v2 = engine.flows.commit("support", _v2(), message="careful triage")
    before = _requests(simulator)
    run = engine.evaluate(
        flow="support",
        versions=[v1.id, v2.id],
        dataset="tickets",
        models=MODELS,
        scorers=[{"type": "icontains", "name": "correct"}],
    )
    info = run.wait(progress=False, timeout=180)
    assert info.status.value == "completed"
    rows = list(engine.evaluations.runs.result_rows(engine.owner, run.id))
    cases = {
        c["id"]: c
        for c in (
            {"id": f"{label}-{i}", "expected": label}
            for label, texts in TICKETS.items()
            for i, _ in enumerate(texts)
        )
    }
    assert len(rows) == 2 * 2 * len(cases)
    llm_calls = 0
    routes: set[str] = set()
    groups: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    for row in rows:
        trace = row["detail"]["trace"]
        steps = [entry["step"] for entry in trace]
        classify = trace[0]
        assert steps[:2] == ["classify", "route"] and steps[-1] == "answer"
        billing = "billing" in classify["output"]
        assert steps[2] == ("billing" if billing else "general")
        routes.add(steps[2])
        assert (
            classify["prompt_version"]
            == engine.prompts.show(
                "triage" if row["prompt_version"] == v1.id else "triage-careful"
            ).id
        )
        llm = [e for e in trace if e["kind"] == "llm"]
        llm_calls += sum(0 if e["cached"] else e["attempts"] for e in llm)
        assert row["prompt_tokens"] == sum(e["prompt_tokens"] for e in llm)
        assert row["completion_tokens"] == sum(e["completion_tokens"] for e in llm)
        assert row["cost_usd"] == pytest.approx(sum(e["cost_usd"] or 0 for e in llm))
        assert row["latency_ms"] == pytest.approx(sum(e["latency_ms"] for e in llm))
        assert row["output"] == trace[-1]["output"]
        if billing:
            assert "2 open invoices" in row["output"]
            assert trace[2]["latency_ms"] >= 0
        expected = cases[row["case_id"]]["expected"]
        assert row["passed"] == (expected.lower() in row["output"].lower())
        said = float(expected in classify["output"].lower())
        assert classify["scores"] == {"label": said} == {"label": row["scores"]["classify.label"]}
        groups[(row["prompt_version"], row["model"])].append(row)
    assert routes == {"billing", "general"}  # both branches were taken
    assert _requests(simulator) - before == llm_calls
    report = json.loads(run.report("json"))
    by_group = {(g["prompt_version"], g["model"]): g for g in report["groups"]}
    assert set(by_group) == set(groups)
    for key, cells in groups.items():
        group = by_group[key]
        assert group["n_cells"] == len(cells) == len(cases)
        assert group["n_passed"] == sum(1 for c in cells if c["passed"])
        assert group["prompt_tokens"] == sum(
            e["prompt_tokens"] for c in cells for e in c["detail"]["trace"] if e["kind"] == "llm"
        )
        assert group["cost_usd"] == pytest.approx(
            sum(
                e["cost_usd"] or 0
                for c in cells
                for e in c["detail"]["trace"]
                if e["kind"] == "llm"
            )
        )

    # The per-step report, recomputed from the traces.
    steps = {(s.prompt_version, s.model, s.step): s for s in run.step_report()}
    for (version, model), cells in groups.items():
        for name in ("classify", "route", "answer"):
            entries = [e for c in cells for e in c["detail"]["trace"] if e["step"] == name]
            summary = steps[(version, model, name)]
            assert summary.runs == len(entries) == len(cells)
            assert summary.errors == 0
            latencies = [e.get("latency_ms", e["wall_ms"]) for e in entries]
            assert summary.latency_p95_ms == pytest.approx(float(np.percentile(latencies, 95)))
            assert summary.cost_usd == pytest.approx(sum(e.get("cost_usd") or 0 for e in entries))
        label = [
            e["scores"]["label"]
            for c in cells
            for e in c["detail"]["trace"]
            if e["step"] == "classify"
        ]
        assert steps[(version, model, "classify")].mean_scores == {
            "label": pytest.approx(sum(label) / len(label))
        }
        assert (version, model, "billing") in steps or all(
            "billing" not in c["detail"]["trace"][0]["output"] for c in cells
        )
        assert group_of(report, version, model)["mean_scores"]["classify.label"] == (
            pytest.approx(sum(label) / len(label))
        )

    page = run.report("html")
    assert "<h2>Flow steps</h2>" in page and "<td>classify</td>" in page

    # The paired comparison of the two flow versions, recomputed from the rows.
    for model in MODELS:
        paired = run.compare_versions((v1.id, model), (v2.id, model))
        a = {c["case_id"]: c["passed"] for c in groups[(v1.id, model)]}
        b = {c["case_id"]: c["passed"] for c in groups[(v2.id, model)]}
        assert paired.n_pairs == len(cases)
        assert len(paired.improved) == sum(1 for k in a if b[k] and not a[k])
        assert len(paired.regressed) == sum(1 for k in a if a[k] and not b[k])

    # The same run again: every step's answer comes from the response cache.
    again = engine.evaluate(
        flow="support",
        versions=[v1.id, v2.id],
        dataset="tickets",
        models=MODELS,
        scorers=[{"type": "icontains", "name": "correct"}],
    )
    middle = _requests(simulator)
    assert again.wait(progress=False, timeout=180).status.value == "completed"
    assert _requests(simulator) == middle
    second = {
        (r["prompt_version"], r["model"], r["case_id"]): r
        for r in engine.evaluations.runs.result_rows(engine.owner, again.id)
    }
    for row in rows:
        twin = second[(row["prompt_version"], row["model"], row["case_id"])]
        assert twin["cached"] and twin["output"] == row["output"]


def test_a_cancelled_flow_run_resumes_without_repeating_a_recorded_cell(
    engine: Any, simulator: Any
) -> None:
    from engine.simulator import SimulatorConfig, running_simulator

    if "support" not in engine.flows.list():
        engine.flows.create("support", FLOW_V1)
    # A simulator of its own, slow enough that the cancel lands before the run ends (on the
    # session's, 36 cells at concurrency 1 could all finish first on a fast machine).
    with running_simulator(SimulatorConfig(latency_ms=40)) as slow:
        engine.use_catalogue(simulator_catalogue(slow.api_base, max_concurrency=256))
        try:
            # No response cache: a repeated provider call would show in the request count.
            run = engine.evaluate(
                flow="support@main",
                dataset="tickets",
                models=MODELS,
                cache=False,
                concurrency=1,
                repeats=2,
                seed=5,
            )
            deadline = time.monotonic() + 60
            while run.recorded() < 4 and time.monotonic() < deadline:
                time.sleep(0.02)
            run.cancel()
            stopped = run.wait(progress=False, timeout=60)
            recorded_at_stop = run.recorded()
            assert stopped.status.value == "cancelled"
            run.resume()
            assert run.wait(progress=False, timeout=180).status.value == "completed"
            requests = _requests(slow)
        finally:
            engine.use_catalogue(simulator_catalogue(simulator.api_base, max_concurrency=256))
    rows = list(engine.evaluations.runs.result_rows(engine.owner, run.id))
    assert len(rows) == 2 * 9 * 2 > recorded_at_stop
    assert len({(r["model"], r["case_id"], r["repeat"]) for r in rows}) == len(rows)
    called = sum(e["attempts"] for r in rows for e in r["detail"]["trace"] if e["kind"] == "llm")
    assert not any(r["cached"] for r in rows)
    assert requests == called


def test_killing_an_evaluator_mid_flow_run_records_every_cell_once(
    engine: Any, simulator: Any
) -> None:
    import ray

    from actors.naming import evaluator_name

    if "support" not in engine.flows.list():
        engine.flows.create("support", FLOW_V1)
    before = _requests(simulator)
    run = engine.evaluate(
        flow="support@main",
        dataset="tickets",
        models=MODELS,
        cache=False,
        concurrency=8,
        repeats=10,
        seed=13,
    )
    deadline = time.monotonic() + 60
    while run.recorded() < 20 and time.monotonic() < deadline:
        time.sleep(0.05)
    ray.kill(
        ray.get_actor(evaluator_name(engine.settings.effective_database_url, 0)), no_restart=False
    )
    at_kill = run.recorded()
    assert run.wait(progress=False, timeout=180).status.value == "completed"
    rows = list(engine.evaluations.runs.result_rows(engine.owner, run.id))
    keys = {(r["model"], r["case_id"], r["repeat"]) for r in rows}
    assert len(rows) == len(keys) == 2 * 9 * 10 > at_kill
    recorded_calls = sum(
        e["attempts"] for r in rows for e in r["detail"]["trace"] if e["kind"] == "llm"
    )
    extra = _requests(simulator) - before - recorded_calls
    # Only cells in flight at the kill (never recorded) may have been asked again: at most
    # the run's cells out (twice its concurrency) × their 2 LLM steps.
    assert 0 <= extra <= 2 * 8 * 2
