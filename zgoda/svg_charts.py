"""Charts drawn on the server as SVG markup: readable without JavaScript, CSS or colour.

Each chart is one `<svg role="img">` named by its own `<title>` and `<desc>`; series
differ by dash pattern and marker shape as well as colour, and every number shown is
text. Only presentation attributes are used (no `style`), so a strict CSP allows it
inline. Every label is escaped here: callers pass plain text.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

# Each at least 4.5:1 against white, so lines, markers and their labels stand out (1.4.11).
PALETTE = ("#0b57b0", "#b3261e", "#1e6b34", "#8a4b00", "#6a1b9a", "#00695c", "#3d4451", "#a0185a")
DASHES = ("", "8 4", "2 4", "12 4 2 4", "4 4", "14 6", "2 2", "10 3 3 3")
MARKERS = ("circle", "square", "triangle", "diamond", "circle-open", "square-open", "cross", "bar")
BACKGROUND = "#ffffff"
TEXT = "#1b1f24"
AXIS = "#4a5361"
GRID = "#d5dae1"
FONT = "system-ui, -apple-system, 'Segoe UI', Roboto, Arial, sans-serif"
FONT_SIZE = 14
CHAR_WIDTH = 7.6  # an average glyph at FONT_SIZE, to size label columns without a font engine
MAX_X_LABELS = 8


@dataclass(frozen=True)
class Series:
    """One line: its label (legend text) and a value per x position (None where no data)."""

    label: str
    values: Sequence[float | None]


def percent(value: float) -> str:
    """0.25 → '25%' (callers pass a locale-aware formatter for pages)."""
    return f"{value:.0%}"


def line_chart(
    chart_id: str,
    title: str,
    description: str,
    x_labels: Sequence[str],
    series: Sequence[Series],
    *,
    y_max: float = 1.0,
    y_ticks: int = 4,
    format_value: Callable[[float], str] = percent,
    width: int = 720,
    plot_height: int = 240,
) -> Markup:
    """A line chart with axes, gridlines, x and y labels and a legend below the plot."""
    left, right, top = 56.0, 24.0, 16.0
    x_axis_y = top + plot_height
    legend_top = x_axis_y + 44
    height = legend_top + 24 * len(series) + 8
    plot_width = width - left - right
    count = len(x_labels)

    def x_at(index: int) -> float:
        return left + (plot_width / 2 if count < 2 else plot_width * index / (count - 1))

    def y_at(value: float) -> float:
        return x_axis_y - plot_height * (min(max(value, 0.0), y_max) / y_max if y_max else 0.0)

    parts = [_open(chart_id, title, description, width, height)]
    for tick in range(y_ticks + 1):
        tick_value = y_max * tick / y_ticks
        y = y_at(tick_value)
        parts.append(_line(left, y, width - right, y, GRID if tick else AXIS))
        parts.append(_text(left - 8, y + 5, format_value(tick_value), anchor="end"))
    parts.append(_line(left, top, left, x_axis_y, AXIS))
    step = max(1, math.ceil(count / MAX_X_LABELS))
    shown = [index for index in range(count) if index % step == 0 or index == count - 1]
    if len(shown) > 1 and shown[-1] - shown[-2] < step:
        shown.pop(-2)  # keep the last label, drop its crowded neighbour
    for index in shown:
        x = x_at(index)
        parts.append(_line(x, x_axis_y, x, x_axis_y + 6, AXIS))
        parts.append(_text(x, x_axis_y + 24, x_labels[index], anchor="middle"))
    for number, line in enumerate(series):
        colour, dash, marker = _style(number)
        values = list(line.values)
        # Markers where the x axis is labelled, and on a lone point, which has no line.
        marked = {i for i in shown if i < len(values)}
        for run in _runs(values):
            if len(run) == 1:
                marked.add(run[0])
            else:
                coords = " ".join(f"{x_at(i):.1f},{y_at(values[i] or 0.0):.1f}" for i in run)
                parts.append(
                    f'<polyline points="{coords}" fill="none" stroke="{colour}" stroke-width="2.5"'
                    f'{_dash(dash)} stroke-linejoin="round"/>'
                )
        for index in sorted(marked):
            value = values[index]
            if value is not None:
                tip = f"{line.label} · {x_labels[index]}: {format_value(value)}"
                parts.append(_marker(marker, x_at(index), y_at(value), colour, tip))
        legend_y = legend_top + 24 * number
        parts.append(
            f'<line x1="{left:.1f}" y1="{legend_y:.1f}" x2="{left + 36:.1f}" y2="{legend_y:.1f}" '
            f'stroke="{colour}" stroke-width="2.5"{_dash(dash)}/>'
        )
        parts.append(_marker(marker, left + 18, legend_y, colour))
        parts.append(_text(left + 46, legend_y + 5, line.label))
    parts.append("</svg>")
    return Markup("".join(parts))


def bar_chart(
    chart_id: str,
    title: str,
    description: str,
    bars: Sequence[tuple[str, float]],
    *,
    format_value: Callable[[float], str] = lambda value: f"{value:g}",
    width: int = 720,
    colour: str = PALETTE[0],
) -> Markup:
    """A horizontal bar chart: a text label, a bar and its number on each row."""
    row_height, top = 32.0, 8.0
    longest = max((len(label) for label, _ in bars), default=0)
    label_width = min(max(longest * CHAR_WIDTH + 16, 80.0), width * 0.4)
    value_room = 72.0
    bar_room = width - label_width - value_room
    height = top * 2 + row_height * max(len(bars), 1)
    largest = max((value for _, value in bars), default=0.0)
    parts = [_open(chart_id, title, description, width, int(height))]
    parts.append(_line(label_width, top, label_width, height - top, AXIS))
    for row, (label, value) in enumerate(bars):
        y = top + row_height * row
        length = bar_room * value / largest if largest else 0.0
        parts.append(_text(label_width - 8, y + row_height / 2 + 5, label, anchor="end"))
        parts.append(
            f'<rect x="{label_width:.1f}" y="{y + 6:.1f}" width="{length:.1f}" '
            f'height="{row_height - 12:.1f}" fill="{colour}"/>'
        )
        parts.append(_text(label_width + length + 8, y + row_height / 2 + 5, format_value(value)))
    parts.append("</svg>")
    return Markup("".join(parts))


def _open(chart_id: str, title: str, description: str, width: int, height: float) -> str:
    ident = escape(chart_id)
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" viewBox="0 0 {width} {height:.0f}" '
        f'role="img" aria-labelledby="{ident}-title {ident}-desc" id="{ident}" '
        f'font-family="{escape(FONT)}" font-size="{FONT_SIZE}" fill="{TEXT}">'
        f'<title id="{ident}-title">{escape(title)}</title>'
        f'<desc id="{ident}-desc">{escape(description)}</desc>'
        f'<rect width="{width}" height="{height:.0f}" fill="{BACKGROUND}"/>'
    )


def _style(number: int) -> tuple[str, str, str]:
    return (
        PALETTE[number % len(PALETTE)],
        DASHES[number % len(DASHES)],
        MARKERS[number % len(MARKERS)],
    )


def _runs(values: Sequence[float | None]) -> list[list[int]]:
    """Indexes of consecutive values that are not None: each run is one unbroken line."""
    runs: list[list[int]] = []
    current: list[int] = []
    for index, value in enumerate(values):
        if value is None:
            if current:
                runs.append(current)
            current = []
        else:
            current.append(index)
    if current:
        runs.append(current)
    return runs


def _dash(pattern: str) -> str:
    return f' stroke-dasharray="{pattern}"' if pattern else ""


def _line(x1: float, y1: float, x2: float, y2: float, colour: str) -> str:
    return (
        f'<line x1="{x1:.1f}" y1="{y1:.1f}" x2="{x2:.1f}" y2="{y2:.1f}" '
        f'stroke="{colour}" stroke-width="1"/>'
    )


def _text(x: float, y: float, content: str, anchor: str = "start") -> str:
    return f'<text x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}">{escape(content)}</text>'


def _marker(shape: str, x: float, y: float, colour: str, tip: str | None = None) -> str:
    """A shape of radius 5 at (x, y); its optional `<title>` names the point on hover."""
    r = 5.0
    fill, stroke = (BACKGROUND, colour) if shape.endswith("-open") else (colour, colour)
    attributes = f'fill="{fill}" stroke="{stroke}" stroke-width="2"'
    base = shape.removesuffix("-open")
    if base == "circle":
        element = f'<circle cx="{x:.1f}" cy="{y:.1f}" r="{r - 1}" {attributes}'
    elif base == "square":
        element = f'<rect x="{x - r + 1:.1f}" y="{y - r + 1:.1f}" width="{2 * r - 2}" height="{2 * r - 2}" {attributes}'
    else:
        outlines: dict[str, list[tuple[float, float]]] = {
            "triangle": [(0, -r - 1), (r, r - 1), (-r, r - 1)],
            "diamond": [(0, -r - 1), (r + 1, 0), (0, r + 1), (-r - 1, 0)],
            "cross": [(-r, -1.5), (-1.5, -1.5), (-1.5, -r), (1.5, -r), (1.5, -1.5), (r, -1.5),
                      (r, 1.5), (1.5, 1.5), (1.5, r), (-1.5, r), (-1.5, 1.5), (-r, 1.5)],
            "bar": [(-r, -2), (r, -2), (r, 2), (-r, 2)],
        }  # fmt: skip
        coords = " ".join(f"{x + dx:.1f},{y + dy:.1f}" for dx, dy in outlines[base])
        element = f'<polygon points="{coords}" {attributes}'
    if tip is None:
        return element + "/>"
    return f"{element}><title>{escape(tip)}</title></{element.split(' ', 1)[0][1:]}>"
