"""Server-drawn SVG charts: well-formed, named for assistive technology, escaped, legible."""

from __future__ import annotations

import xml.etree.ElementTree as ElementTree

import pytest

from zgoda.svg_charts import AXIS, PALETTE, TEXT, Series, bar_chart, line_chart

SVG = "{http://www.w3.org/2000/svg}"
HOSTILE = '<script>alert("x")</script> & "quotes"'


def luminance(colour: str) -> float:
    def channel(value: int) -> float:
        c = value / 255
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    r, g, b = (int(colour[i : i + 2], 16) for i in (1, 3, 5))
    return 0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b)


def contrast(first: str, second: str) -> float:
    lighter, darker = sorted((luminance(first), luminance(second)), reverse=True)
    return (lighter + 0.05) / (darker + 0.05)


def parse(markup: str) -> ElementTree.Element:
    return ElementTree.fromstring(markup)


def texts(chart: ElementTree.Element) -> list[str]:
    return [element.text or "" for element in chart.iter(f"{SVG}text")]


@pytest.mark.parametrize("colour", [*PALETTE, TEXT, AXIS])
def test_every_colour_stands_out_on_white(colour: str) -> None:
    assert contrast(colour, "#ffffff") >= 4.5


def test_a_line_chart_has_axes_labels_legend_and_a_name() -> None:
    chart = parse(
        line_chart(
            "optin",
            "Opt-in rate",
            "Share of choices per day",
            ["1 Nov", "2 Nov", "3 Nov"],
            [Series("Statistics: 50%", [0.25, 0.5, 0.75]), Series("Ads: 0%", [0.0, 0.0, 0.0])],
        )
    )
    assert chart.attrib["role"] == "img"
    assert chart.attrib["aria-labelledby"] == "optin-title optin-desc"
    assert chart.find(f"{SVG}title").text == "Opt-in rate"  # type: ignore[union-attr]
    assert chart.find(f"{SVG}desc").text == "Share of choices per day"  # type: ignore[union-attr]
    labels = texts(chart)
    assert ["0%", "25%", "50%", "75%", "100%"] == labels[:5]
    assert {"1 Nov", "2 Nov", "3 Nov", "Statistics: 50%", "Ads: 0%"} <= set(labels)
    lines = chart.findall(f"{SVG}polyline")
    assert len(lines) == 2
    assert lines[0].attrib["stroke"] != lines[1].attrib["stroke"]
    assert lines[0].attrib.get("stroke-dasharray") != lines[1].attrib.get("stroke-dasharray")
    tips = [title.text for title in chart.iter(f"{SVG}title")][1:]
    assert "Statistics: 50% · 3 Nov: 75%" in tips
    assert not any("style" in element.attrib for element in chart.iter())


def test_gaps_break_the_line_and_a_lone_point_gets_a_marker() -> None:
    chart = parse(
        line_chart("gaps", "t", "d", list("abcdef"), [Series("s", [0.1, 0.2, None, 0.4, None, 1])])
    )
    assert len(chart.findall(f"{SVG}polyline")) == 1  # a-b; d and f stand alone
    tips = [title.text for title in chart.iter(f"{SVG}title")][1:]
    assert tips == ["s · a: 10%", "s · b: 20%", "s · d: 40%", "s · f: 100%"]


def test_long_axes_label_only_some_points() -> None:
    days = [f"d{number}" for number in range(90)]
    chart = parse(line_chart("long", "t", "d", days, [Series("s", [0.5] * 90)]))
    shown = [label for label in texts(chart) if label.startswith("d") and label in days]
    assert 2 < len(shown) <= 9 and shown[0] == "d0" and shown[-1] == "d89"


def test_a_bar_chart_labels_every_bar_with_its_number() -> None:
    chart = parse(
        bar_chart("bars", "Per action", "Counts", [("Accepted", 12), ("Rejected", 3), ("None", 0)])
    )
    labels = texts(chart)
    assert labels == ["Accepted", "12", "Rejected", "3", "None", "0"]
    widths = [float(rect.attrib["width"]) for rect in chart.findall(f"{SVG}rect")[1:]]
    assert widths[0] > widths[1] > widths[2] == 0
    assert widths[1] == pytest.approx(widths[0] * 3 / 12)


def test_an_empty_bar_chart_is_still_well_formed() -> None:
    chart = parse(bar_chart("empty", "t", "d", []))
    assert texts(chart) == []


def test_every_label_is_escaped() -> None:
    markup = line_chart(HOSTILE, HOSTILE, HOSTILE, [HOSTILE], [Series(HOSTILE, [0.5])]) + bar_chart(
        "b", HOSTILE, HOSTILE, [(HOSTILE, 1)]
    )
    assert "<script>" not in markup
    chart = parse(str(markup).split("</svg>")[0] + "</svg>")
    assert chart.find(f"{SVG}title").text == HOSTILE  # type: ignore[union-attr]
    assert HOSTILE in texts(chart)
