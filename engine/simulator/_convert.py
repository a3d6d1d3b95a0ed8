"""Unit conversion the simulated models attempt: ``Convert 5 miles to kilometers.``"""

from __future__ import annotations

import re

from engine.simulator._tasks import Task, mistakes_of

UNITS: dict[str, tuple[str, str]] = {
    "miles": ("length", "mi"),
    "kilometers": ("length", "km"),
    "meters": ("length", "m"),
    "feet": ("length", "ft"),
    "inches": ("length", "in"),
    "centimeters": ("length", "cm"),
    "pounds": ("mass", "lb"),
    "kilograms": ("mass", "kg"),
    "ounces": ("mass", "oz"),
    "grams": ("mass", "g"),
}
"""Unit name → (dimension, symbol)."""

PER_BASE: dict[str, float] = {
    "miles": 1609.344,
    "kilometers": 1000.0,
    "meters": 1.0,
    "feet": 0.3048,
    "inches": 0.0254,
    "centimeters": 0.01,
    "pounds": 453.59237,
    "kilograms": 1000.0,
    "ounces": 28.349523125,
    "grams": 1.0,
}
"""How many metres (length) or grams (mass) one unit is."""

_ALIASES = {name.rstrip("s"): name for name in UNITS} | {
    "foot": "feet",
    "inch": "inches",
    "km": "kilometers",
    "mi": "miles",
    "kg": "kilograms",
    "lb": "pounds",
    "lbs": "pounds",
    "cm": "centimeters",
    "ft": "feet",
    "oz": "ounces",
}
_NAME = "|".join(sorted({*UNITS, *_ALIASES}, key=len, reverse=True))
_CONVERT = re.compile(
    rf"\bconvert\s+(?P<value>-?\d+(?:\.\d+)?)\s*(?P<src>{_NAME})\b\s+(?:to|into|in)\s+"
    rf"(?P<dst>{_NAME})\b",
    re.IGNORECASE,
)


def _unit(name: str) -> str:
    name = name.lower()
    return name if name in UNITS else _ALIASES[name]


def convert(value: float, src: str, dst: str) -> float:
    """``value`` in ``src`` units expressed in ``dst`` units (same dimension)."""
    return value * PER_BASE[src] / PER_BASE[dst]


def _plain(value: float) -> str:
    return f"{value:.4f}".rstrip("0").rstrip(".")


def conversion(text: str) -> Task | None:
    """``Convert 5 miles to kilometers`` → ``8.0467`` (four decimals at most, no unit).

    The answer's ``unit`` is the target's symbol, written only when the prompt asks for it.
    """
    m = _CONVERT.search(text)
    if m is None:
        return None
    src, dst = _unit(m.group("src")), _unit(m.group("dst"))
    if UNITS[src][0] != UNITS[dst][0]:
        return None
    value = convert(float(m.group("value")), src, dst)
    answer = _plain(value)
    wrong = [_plain(value * 1.05), _plain(value * 0.95), _plain(float(m.group("value")))]
    return Task("convert", answer, mistakes_of(answer, wrong), unit=UNITS[dst][1])
