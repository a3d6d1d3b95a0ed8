"""Inline SVG bar charts: no scripts, no fonts, no external references."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from engine.reports._format import clip, esc

PLOT_HEIGHT = 160
TOP = 34
LEFT = 64
BOTTOM = 44
BAR_WIDTH = 26
GAP = 18
TICKS = 4
MIN_GROUP_WIDTH = 96
LEGEND_WIDTH = 70
MIN_WIDTH = 280
CHAR_WIDTH = 6.5


@dataclass(frozen=True)
class Series:
    """One set of bars: a value per category, an optional (low, high) error bar each."""

    name: str
    values: Sequence[float | None]
    color: str
    errors: Sequence[tuple[float, float] | None] = ()


def bar_chart(
    *,
    title: str,
    categories: Sequence[str],
    series: Sequence[Series],
    fmt: Callable[[float], str],
    max_value: float | None = None,
) -> str:
    """A grouped bar chart as an ``<svg>`` element; every text in it is escaped."""
    top_value = max_value or _top(series) or 1.0
    group_width = max(BAR_WIDTH * len(series) + GAP, MIN_GROUP_WIDTH)
    width = max(LEFT + group_width * max(len(categories), 1) + GAP // 2, MIN_WIDTH)
    height = TOP + PLOT_HEIGHT + BOTTOM
    parts = [
        f'<svg class="chart" viewBox="0 0 {width} {height}" width="{width}" height="{height}"'
        f' role="img" aria-label="{esc(title)}">',
        f"<title>{esc(title)}</title>",
        f'<text x="8" y="16" class="chart-title">{esc(title)}</text>',
        *_axis(width, top_value, fmt),
        *_legend(series),
    ]
    for index, category in enumerate(categories):
        x0 = LEFT + index * group_width + (group_width - BAR_WIDTH * len(series)) / 2
        for position, one in enumerate(series):
            x = x0 + position * BAR_WIDTH
            value = one.values[index]
            error = one.errors[index] if one.errors else None
            parts += _bar(x, value, error, top_value, one, fmt)
        centre = x0 + BAR_WIDTH * len(series) / 2
        parts.append(_category(category, centre, int(group_width / CHAR_WIDTH)))
    parts.append("</svg>")
    return "\n".join(parts)


def _category(category: str, centre: float, max_chars: int) -> str:
    lines = "".join(
        f'<tspan x="{centre:.1f}" dy="{0 if i == 0 else 14}">{esc(clip(line, max_chars))}</tspan>'
        for i, line in enumerate(category.split("\n"))
    )
    return (
        f'<text y="{TOP + PLOT_HEIGHT + 16}" class="category" text-anchor="middle">'
        f"<title>{esc(category)}</title>{lines}</text>"
    )


def _top(series: Sequence[Series]) -> float:
    values = [v for one in series for v in one.values if v is not None]
    values += [e[1] for one in series for e in one.errors if e is not None]
    return max(values, default=0.0) * 1.1


def _axis(width: int, top_value: float, fmt: Callable[[float], str]) -> list[str]:
    parts = []
    for tick in range(TICKS + 1):
        value = top_value * tick / TICKS
        y = _y(value, top_value)
        parts.append(
            f'<line x1="{LEFT}" x2="{width - GAP / 2}" y1="{y:.1f}" y2="{y:.1f}" class="grid"/>'
        )
        parts.append(
            f'<text x="{LEFT - 6}" y="{y + 4:.1f}" class="tick"'
            f' text-anchor="end">{esc(fmt(value))}</text>'
        )
    return parts


def _legend(series: Sequence[Series]) -> list[str]:
    if len(series) < 2:
        return []
    parts = []
    for index, one in enumerate(series):
        x = LEFT + LEGEND_WIDTH * index
        parts.append(f'<rect x="{x}" y="21" width="10" height="10" fill="{one.color}"/>')
        parts.append(f'<text x="{x + 14}" y="30" class="tick">{esc(one.name)}</text>')
    return parts


def _bar(
    x: float,
    value: float | None,
    error: tuple[float, float] | None,
    top_value: float,
    series: Series,
    fmt: Callable[[float], str],
) -> list[str]:
    centre = x + BAR_WIDTH / 2
    if value is None:
        return [
            f'<text x="{centre:.1f}" y="{TOP + PLOT_HEIGHT - 4}" class="tick"'
            ' text-anchor="middle">n/a</text>'
        ]
    y = _y(value, top_value)
    label = f"{series.name}: {fmt(value)}"
    parts = [
        f'<rect x="{x + 2:.1f}" y="{y:.1f}" width="{BAR_WIDTH - 4}"'
        f' height="{TOP + PLOT_HEIGHT - y:.1f}" fill="{series.color}">'
        f"<title>{esc(label)}</title></rect>"
    ]
    label_y = y - 4
    if error is not None:
        low, high = _y(error[0], top_value), _y(error[1], top_value)
        parts.append(
            f'<path d="M{centre:.1f} {low:.1f}V{high:.1f}M{centre - 5:.1f} {low:.1f}'
            f'h10M{centre - 5:.1f} {high:.1f}h10" class="error"/>'
        )
        label_y = min(label_y, high - 4)
    parts.append(
        f'<text x="{centre:.1f}" y="{label_y:.1f}" class="value"'
        f' text-anchor="middle">{esc(fmt(value))}</text>'
    )
    return parts


def _y(value: float, top_value: float) -> float:
    share = min(max(value / top_value, 0.0), 1.0)
    return TOP + PLOT_HEIGHT * (1 - share)


@dataclass(frozen=True)
class Point:
    """One point of a step line: where it is and what its tooltip says."""

    x: float
    y: float
    label: str


def step_chart(
    *,
    title: str,
    points: Sequence[Point],
    x_max: float,
    x_label: str,
    fmt: Callable[[float], str],
    y_max: float = 1.0,
    color: str = "#4c78a8",
    width: int = 560,
) -> str:
    """A step line (each value holds until the next point) as an ``<svg>`` element.

    Suited to a best-so-far curve: ``points`` sorted by ``x``; the line runs on to
    ``x_max``. Every text in it is escaped.
    """
    x_top = max([x_max, *(p.x for p in points)]) or 1.0
    right = width - GAP
    height = TOP + PLOT_HEIGHT + BOTTOM

    def at(x: float) -> float:
        return LEFT + (right - LEFT) * min(max(x / x_top, 0.0), 1.0)

    parts = [
        f'<svg class="chart" viewBox="0 0 {width} {height}" width="{width}" height="{height}"'
        f' role="img" aria-label="{esc(title)}">',
        f"<title>{esc(title)}</title>",
        f'<text x="8" y="16" class="chart-title">{esc(title)}</text>',
        *_axis(right + GAP // 2, y_max, fmt),
        *_x_axis(at, x_top, x_label, right),
    ]
    if points:
        path = f"M{at(points[0].x):.1f} {_y(points[0].y, y_max):.1f}"
        for point in points[1:]:
            path += f"H{at(point.x):.1f}V{_y(point.y, y_max):.1f}"
        path += f"H{at(x_top):.1f}"
        parts.append(f'<path d="{path}" fill="none" stroke="{color}" stroke-width="2"/>')
        parts += [
            f'<circle cx="{at(p.x):.1f}" cy="{_y(p.y, y_max):.1f}" r="3.5" fill="{color}">'
            f"<title>{esc(p.label)}</title></circle>"
            for p in points
        ]
    parts.append("</svg>")
    return "\n".join(parts)


def _x_axis(at: Callable[[float], float], x_top: float, label: str, right: float) -> list[str]:
    y = TOP + PLOT_HEIGHT
    parts = [f'<line x1="{LEFT}" x2="{right:.1f}" y1="{y}" y2="{y}" class="grid"/>']
    for tick in range(TICKS + 1):
        value = x_top * tick / TICKS
        parts.append(
            f'<text x="{at(value):.1f}" y="{y + 14}" class="tick"'
            f' text-anchor="middle">{value:,.0f}</text>'
        )
    parts.append(
        f'<text x="{(LEFT + right) / 2:.1f}" y="{y + 32}" class="tick"'
        f' text-anchor="middle">{esc(label)}</text>'
    )
    return parts
