"""Playground sessions: one prompt version tried on given variables across several models,
turn by turn, with every turn kept; a turn's answer may become a test case."""

from domain.playground.session import (
    MAX_MODELS,
    Answer,
    PlaygroundSession,
    Turn,
    case_from_turn,
    check_models,
    check_variables,
)

__all__ = [
    "MAX_MODELS",
    "Answer",
    "PlaygroundSession",
    "Turn",
    "case_from_turn",
    "check_models",
    "check_variables",
]
