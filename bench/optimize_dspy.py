"""DSPy's GEPA on one task family, against our simulator: the peer row of bench/optimize.py.

    /path/to/dspy-venv/bin/python bench/optimize_dspy.py --cases CASES.json [--json]

Run by a bench-only venv's python (``bench/requirements-dspy.txt``): it imports ``dspy`` and
nothing of ours. ``bench/optimize.py --with-dspy PYTHON`` writes ``CASES.json`` (the family's
system and template, the model, the reflection model, the train/val/test split with each
case's rendered user message, the metric-call budget, the minibatch, the seed and the
simulator's ``api_base``) and reads the JSON line this prints:

- ``baseline_test_score`` / ``optimized_test_score``: the mean ``equals`` score on the test
  split of the family's baseline system and of the instruction GEPA returned;
- ``metric_calls``: rollouts scored during optimization (train minibatches + validation;
  ``gepa_metric_calls`` is GEPA's own count of the same), ``reflection_calls``: calls to the
  reflection LM, a cached retry included (``metric_calls + reflection_calls`` is what our
  engine's ``max_metric_calls`` counts; GEPA's budget counts rollouts only);
- ``requests``: HTTP requests the simulator served during optimization, by model (its
  ``GET /stats``: cache misses only);
- ``test_calls``: the test-split metric calls (outside the budget, as in our engine);
- ``optimum_test_score``: with ``optimum_system`` in the file, that system's test score
  (untimed): equal to ours when both sides send the same requests;
- ``wall_s``: optimization + both test evaluations; ``optimize_wall_s``: ``compile`` alone.

The task model sees what our engine sends: the instruction as a plain system message and
the rendered template as the user message; its whole reply is the answer (`PlainAdapter`).
The metric is our ``equals`` (surrounding whitespace stripped, case-sensitive) and its
feedback reads ``Expected: <expected>`` then ``Score: <score>`` on the next line.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import threading
import time
import urllib.request
from pathlib import Path
from typing import Any

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
os.environ.setdefault("DSPY_CACHEDIR", "/tmp/af-dspy-cache-unused")

import dspy  # noqa: E402
from dspy.adapters.base import Adapter  # noqa: E402
from dspy.utils.callback import BaseCallback  # noqa: E402

ANSWER = "answer"
SUPPORTED_SCORERS = ("equals",)


class Counter(BaseCallback):
    """Counts the calls made to the LM it is attached to (thread-safe)."""

    def __init__(self) -> None:
        self.calls = 0
        self._lock = threading.Lock()

    def on_lm_start(self, call_id: str, instance: Any, inputs: dict[str, Any]) -> None:  # noqa: ARG002
        with self._lock:
            self.calls += 1


class PlainAdapter(Adapter):
    """System = the instruction, user = the rendered template, the whole reply = the answer.

    DSPy cannot hold an empty instruction (it fills in "Given the fields ..."), so that
    automatic text is sent as no system message at all, as our engine sends ``system=""``.
    """

    def __init__(self, rendered: dict[str, str]) -> None:
        super().__init__()
        self.rendered = rendered

    def format(
        self, signature: Any, demos: list[dict[str, Any]], inputs: dict[str, Any]
    ) -> list[dict[str, Any]]:
        if demos:
            raise ValueError("PlainAdapter sends no demonstrations; GEPA gives none")
        user = self.rendered[case_key({k: inputs[k] for k in signature.input_fields})]
        system = signature.instructions
        if system == automatic_instruction(signature):
            return [{"role": "user", "content": user}]
        return [{"role": "system", "content": system}, {"role": "user", "content": user}]

    def parse(self, signature: Any, completion: str) -> dict[str, Any]:  # noqa: ARG002
        return {ANSWER: completion}


def automatic_instruction(signature: Any) -> str:
    """What DSPy writes when a signature's instruction is empty."""
    inputs = ", ".join(f"`{k}`" for k in signature.input_fields)
    outputs = ", ".join(f"`{k}`" for k in signature.output_fields)
    return f"Given the fields {inputs}, produce the fields {outputs}."


def case_key(variables: dict[str, Any]) -> str:
    return json.dumps({k: str(v) for k, v in variables.items()}, sort_keys=True)


def equals(output: str, expected: str) -> float:
    """Our ``equals`` scorer's defaults: strip both sides, case-sensitive."""
    return 1.0 if output.strip() == expected.strip() else 0.0


class Metric:
    """The GEPA metric (score + feedback), counting its calls.

    ``calls`` are the rollouts (GEPA scoring an output); ``feedback_calls`` are GEPA asking
    again for the feedback of a minibatch example it reflects on (``pred_name`` set): no LM
    call, so not a metric call in our engine's sense.
    """

    def __init__(self) -> None:
        self.calls = 0
        self.feedback_calls = 0
        self._lock = threading.Lock()

    def __call__(  # GEPA's metric signature
        self,
        gold: Any,
        pred: Any,
        trace: Any = None,  # noqa: ARG002
        pred_name: str | None = None,
        pred_trace: Any = None,  # noqa: ARG002
    ) -> Any:
        with self._lock:
            if pred_name is None:
                self.calls += 1
            else:
                self.feedback_calls += 1
        score = equals(str(getattr(pred, ANSWER, "") or ""), gold.expected)
        return dspy.Prediction(score=score, feedback=f"Expected: {gold.expected}\nScore: {score}")


class GepaTemplateProposer:
    """``--proposer gepa``: the gepa package's own reflection prompt instead of DSPy's.

    ``InstructionProposalSignature`` (one user message, examples as Markdown, the reply's
    instruction inside ``` fences) is what ``gepa.optimize`` sends; dspy.GEPA 3.4.1's default
    proposer sends a JSONAdapter request instead (see optimize_dspy_reflection.md).
    """

    def __init__(self, lm: Any) -> None:
        self.lm = lm

    def __call__(
        self,
        candidate: dict[str, str],
        reflective_dataset: dict[str, list[dict[str, Any]]],
        components_to_update: list[str],
    ) -> dict[str, str]:
        from gepa.strategies.instruction_proposal import InstructionProposalSignature

        def complete(prompt: Any) -> str:
            messages = prompt if isinstance(prompt, list) else None
            replies = self.lm(messages=messages) if messages else self.lm(prompt)
            reply = replies[0]
            return str(reply.get("text", "") if isinstance(reply, dict) else reply)

        out = {}
        for name in components_to_update:
            if name in candidate and name in reflective_dataset:
                examples = [dict(example) for example in reflective_dataset[name]]
                result = InstructionProposalSignature.run(
                    lm=complete,
                    input_dict={
                        "current_instruction_doc": candidate[name],
                        "dataset_with_feedback": examples,
                        "prompt_template": None,
                    },
                )
                out[name] = result["new_instruction"]
        return out


def variable_names(cases: list[dict[str, Any]]) -> list[str]:
    names: list[str] = []
    for case in cases:
        for name in case["variables"]:
            if name not in names:
                names.append(name)
    return names


def examples(cases: list[dict[str, Any]], names: list[str]) -> list[Any]:
    return [
        dspy.Example(
            **{n: str(c["variables"].get(n, "")) for n in names}, expected=c["expected"]
        ).with_inputs(*names)
        for c in cases
    ]


def program(names: list[str], system: str) -> Any:
    fields: dict[str, Any] = {n: (str, dspy.InputField()) for n in names}
    fields[ANSWER] = (str, dspy.OutputField())
    signature = dspy.Signature(fields, system)
    return dspy.Predict(signature)


def test_score(prog: Any, testset: list[Any], threads: int) -> tuple[float, int]:
    metric = Metric()
    evaluate = dspy.Evaluate(
        devset=testset,
        metric=lambda gold, pred, trace=None: metric(gold, pred).score,  # noqa: ARG005
        num_threads=threads,
        display_progress=False,
        provide_traceback=True,
    )
    result = evaluate(prog)  # its .score is rounded to 0.01 %: average the cells ourselves
    scores = [float(score or 0.0) for _, _, score in result.results]
    return (sum(scores) / len(scores) if scores else 0.0), metric.calls


def served(api_base: str) -> dict[str, int]:
    """Requests the simulator served so far, by model (``GET /stats``; ours, over HTTP)."""
    url = api_base.removesuffix("/").removesuffix("/v1") + "/stats"
    try:
        with urllib.request.urlopen(url, timeout=30) as response:
            by_model: dict[str, int] = json.loads(response.read())["by_model"]
    except (OSError, ValueError, KeyError):
        return {}  # not our simulator: no counts
    return by_model


def run(spec: dict[str, Any], proposer: str = "dspy") -> dict[str, Any]:
    unsupported = [s for s in spec["scorers"] if s not in SUPPORTED_SCORERS]
    if unsupported:
        raise SystemExit(f"optimize_dspy: scorers {unsupported} have no DSPy twin here")
    every = spec["train"] + spec["val"] + spec["test"]
    names = variable_names(every)
    rendered = {case_key(c["variables"]): c["user"] for c in every}
    dspy.configure_cache(enable_disk_cache=False, enable_memory_cache=True)
    common = {"api_base": spec["api_base"], "api_key": "sim", "num_retries": 3}
    reflections = Counter()
    sampling = {"temperature": spec["temperature"]} if spec.get("temperature") is not None else {}
    task = dspy.LM(spec["model"], seed=spec["request_seed"], **sampling, **common)
    reflector = dspy.LM(spec["reflection_model"], callbacks=[reflections], **common)
    dspy.configure(lm=task, adapter=PlainAdapter(rendered))
    trainset = examples(spec["train"], names)
    valset = examples(spec["val"], names)
    testset = examples(spec["test"], names)
    threads = int(spec["concurrency"])

    before = served(spec["api_base"])
    started = time.perf_counter()
    baseline = program(names, spec["system"])
    metric = Metric()
    gepa = dspy.GEPA(
        metric=metric,
        reflection_lm=reflector,
        max_metric_calls=int(spec["max_metric_calls"]),
        reflection_minibatch_size=int(spec["minibatch"]),
        num_threads=threads,
        seed=int(spec["seed"]),
        track_stats=True,
        instruction_proposer=GepaTemplateProposer(reflector) if proposer == "gepa" else None,
    )
    optimized = gepa.compile(baseline, trainset=trainset, valset=valset)
    optimize_wall = time.perf_counter() - started
    after = served(spec["api_base"])
    baseline_score, baseline_calls = test_score(baseline, testset, threads)
    optimized_score, optimized_calls = test_score(optimized, testset, threads)
    wall = time.perf_counter() - started
    optimum_score = None
    if spec.get("optimum_system"):  # a cross-check of the two sides' requests, not timed
        optimum_score, _ = test_score(program(names, spec["optimum_system"]), testset, threads)
    details = optimized.detailed_results
    instruction = optimized.signature.instructions
    return {
        "optimizer": "dspy.GEPA",
        "proposer": proposer,
        "baseline_test_score": baseline_score,
        "optimized_test_score": optimized_score,
        "optimum_test_score": optimum_score,
        "metric_calls": metric.calls,
        "gepa_metric_calls": getattr(details, "total_metric_calls", None),
        "reflection_calls": reflections.calls,
        "feedback_calls": metric.feedback_calls,
        "requests": {m: n - before.get(m, 0) for m, n in after.items() if n - before.get(m, 0)},
        "test_calls": baseline_calls + optimized_calls,
        "candidates": len(details.candidates) if details is not None else None,
        "wall_s": wall,
        "optimize_wall_s": optimize_wall,
        "best_instruction": instruction,
        "versions": versions(),
    }


def versions() -> dict[str, str]:
    from importlib.metadata import version

    return {name: version(name) for name in ("dspy", "gepa", "litellm")}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", type=Path, required=True, help="written by bench/optimize.py")
    parser.add_argument(
        "--proposer",
        choices=("dspy", "gepa"),
        default="dspy",
        help="dspy: dspy.GEPA's default proposer; gepa: the gepa package's prompt template",
    )
    parser.add_argument("--json", action="store_true", help="one JSON line only (the default)")
    args = parser.parse_args(argv)
    result = run(json.loads(args.cases.read_text()), args.proposer)
    sys.stdout.write(json.dumps(result) + "\n")
    sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
