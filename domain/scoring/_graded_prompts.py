"""The grading prompts of the model-graded presets, and the reply layouts a judge is asked for.

Each preset prompt opens with a ``[Grading: <kind>]`` line and puts its inputs in tags
(``<question>``, ``<answer>``, ``<reference>``, ``<context>``, ``<criterion>``): a real judge
reads them as plain structure, and ``sim-judge`` uses them to grade deterministically.
"""

from __future__ import annotations

CHOICES_MARKER = "Allowed choices:"
"""Starts the line, appended to every model-graded prompt, that lists the choices."""

LAYOUTS = {
    "classify": (
        "Reply with one of the allowed choices, written exactly as listed, and nothing else."
    ),
    "cot_classify": (
        "Reason it through step by step first and write your reasoning down; do not give "
        "your verdict before the reasoning. Then write one of the allowed choices, exactly as "
        "listed, alone on the last line."
    ),
    "classify_cot": (
        "Write one of the allowed choices, exactly as listed, alone on the first line. Then "
        "explain your reasoning step by step on the lines after it."
    ),
}
"""What each ``eval_type`` asks of the judge, appended after the choices line."""

GRADER_SYSTEM_PROMPT = (
    "You are an impartial grader of answers written by an AI model. Read the grading request "
    "carefully, judge only what it asks about, and answer with one of its allowed choices."
)
"""System message of every model-graded request."""

FACTUALITY = """[Grading: factuality]
Compare the facts in an answer with the facts in a reference answer to the same question.
Wording, style, length and formatting do not matter; only the facts do.

<question>
{input}
</question>

<reference>
{expected}
</reference>

<answer>
{completion}
</answer>

Pick the letter that best describes how the answer relates to the reference:
(A) The answer gives only some of the reference's facts, and none of its facts conflict with it.
(B) The answer gives all of the reference's facts and more, and none of its facts conflict with it.
(C) The answer and the reference give the same facts.
(D) The answer and the reference disagree on at least one fact.
(E) The answer and the reference differ, but not in a way that changes whether the answer is
right."""

CLOSEDQA = """[Grading: closedqa]
Decide whether an answer to a task meets a criterion.

<task>
{input}
</task>

<answer>
{completion}
</answer>

<criterion>
{criteria}
</criterion>

<reference>
{expected}
</reference>

When a reference answer is given (not "(none)"), take it as the truth. Does the answer meet
the criterion? Y means it does, N means it does not."""

ANSWER_RELEVANCE = """[Grading: answer-relevance]
Decide whether an answer responds to the question it was asked. Judge relevance only, not
whether the answer is correct.

<question>
{input}
</question>

<answer>
{completion}
</answer>

(A) The answer responds to the question directly.
(B) The answer responds to the question only in part, or is mostly about something else.
(C) The answer does not respond to the question."""

CONTEXT_FAITHFULNESS = """[Grading: context-faithfulness]
Decide whether the claims in an answer are backed by the context the answer was written
from. What you know from elsewhere does not count as backing.

<context>
{context}
</context>

<answer>
{completion}
</answer>

(A) Every claim in the answer is backed by the context.
(B) Some claims in the answer are backed by the context and some are not.
(C) The answer's claims are not backed by the context, or contradict it."""

CONTEXT_RECALL = """[Grading: context-recall]
Decide whether a context holds the facts needed to give a reference answer.

<context>
{context}
</context>

<reference>
{expected}
</reference>

(A) The context holds every fact of the reference answer.
(B) The context holds some of the reference answer's facts, but not all.
(C) The context holds none of the reference answer's facts."""
