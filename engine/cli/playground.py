"""`autoforge playground`: try a prompt across models turn by turn, answers streamed.

Examples:
    autoforge playground run qa --model openai/sim-small --model openai/sim-large --var q='2+2?'
    autoforge playground run qa --session pg_1234 --var q='3+3?' --save-case qa-cases
    autoforge playground history pg_1234
"""

from __future__ import annotations

import argparse
import json
from typing import Any

from domain.errors import ValidationError
from engine.cli import output
from engine.cli.acting import add_acting, engine_options


def _out(text: Any) -> None:
    output.write(f"{text}\n")


def _variables(pairs: list[str]) -> dict[str, str]:
    variables = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name:
            raise ValidationError(f"--var takes NAME=VALUE, got {pair!r}", reason="variables")
        variables[name] = value
    return variables


def _run(args: argparse.Namespace) -> int:
    from engine.sdk import Engine

    variables = _variables(args.var)
    with Engine(**engine_options(args), simulator=args.simulator) as engine:
        if args.session:
            pg = engine.playgrounds.get(args.session)
        else:
            if not args.model:
                raise ValidationError("name at least one --model", reason="models")
            pg = engine.playground(args.prompt, args.model, version=args.version)
        models = pg.info.models
        live = len(models) == 1 and not args.json

        def on_token(_model: str, text: str | None) -> None:
            if text is not None:
                output.write(text)

        turn = pg.run(variables, on_token=on_token if live else None)
        saved = None
        if args.save_case:
            model = args.case_model or models[0]
            saved = pg.save_case(turn, model, args.save_case, expected=args.expected)
    if args.json:
        body = {"session": pg.id, "turn": turn.to_dict()}
        if saved is not None:
            body["saved"] = {"dataset": saved.dataset_id, "version": saved.number}
        _out(json.dumps(body, indent=2))
        return 0
    if live:
        _out("")
    for answer in turn.answers:
        if not live:
            _out(f"--- {answer.model}")
            _out(answer.content if answer.error is None else f"error: {answer.error}")
        tokens, cost = answer.completion_tokens, f"${answer.cost_usd:.6f}"
        _out(f"[{answer.model}: {answer.latency_ms:.0f} ms, {tokens} tokens, {cost}]")
    _out(f"session {pg.id} turn {turn.number}")
    if saved is not None:
        _out(f"saved as a case: {args.save_case} v{saved.number}")
    return 0 if all(a.error is None for a in turn.answers) else 1


def _history(args: argparse.Namespace) -> int:
    from engine.sdk import Engine

    with Engine(**engine_options(args)) as engine:
        turns = engine.playgrounds.get(args.session).history()
    if args.json:
        _out(json.dumps([t.to_dict() for t in turns], indent=2))
        return 0
    for turn in turns:
        _out(f"turn {turn.number} ({turn.prompt_version[:12]}) {json.dumps(turn.variables)}")
        for answer in turn.answers:
            said = answer.content if answer.error is None else f"error: {answer.error}"
            _out(f"  {answer.model}: {said}")
    return 0


def register(subparsers: Any) -> None:
    """Add `playground run|history` to the `autoforge` parser."""
    group = subparsers.add_parser("playground", help="try a prompt across models, streamed")
    sub = group.add_subparsers(dest="playground_command", required=True, metavar="ACTION")
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--json", action="store_true", help="machine-readable output")
    add_acting(common)

    run = sub.add_parser("run", parents=[common], help="run one turn (a new session or --session)")
    run.add_argument("prompt", nargs="?", help="the prompt's name or id (for a new session)")
    run.add_argument("--model", action="append", default=[], help="a model (repeatable)")
    run.add_argument("--version", default="main", help="a branch, label, v3 or version id")
    run.add_argument("--session", help="continue this session instead of starting one")
    run.add_argument("--var", action="append", default=[], help="NAME=VALUE (repeatable)")
    run.add_argument("--save-case", metavar="DATASET", help="then save the turn as a case")
    run.add_argument("--case-model", help="whose answer to save (default: the first model)")
    run.add_argument("--expected", help="the saved case's expected output, if not the answer")
    run.add_argument(
        "--simulator", action="store_true", help="use an in-process simulated provider"
    )
    run.set_defaults(handler=_run)

    history = sub.add_parser("history", parents=[common], help="every turn of a session")
    history.add_argument("session")
    history.set_defaults(handler=_history)
