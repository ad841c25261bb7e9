"""The statistics page's plots (hub/web/admin/plots.py): SVG documents of an explicit size whose
bars, stacks and lines stand for the numbers given, with every word escaped."""

from __future__ import annotations

import base64
import xml.etree.ElementTree as ET

import pytest

from hub.web.admin.plots import WIDTH, Series, _drawn, plot

SVG = "{http://www.w3.org/2000/svg}"


def drawn(*args, **kwargs) -> ET.Element:
    uri = plot(*args, **kwargs)
    head, _, body = uri.partition(",")
    assert head == "data:image/svg+xml;base64"
    return ET.fromstring(base64.b64decode(body))


def marks(svg: ET.Element, tag: str, color: str) -> list[ET.Element]:
    return [e for e in svg.iter(SVG + tag) if e.get("fill") == color or e.get("stroke") == color]


def bars(svg: ET.Element, color: str) -> list[ET.Element]:
    """The rectangles of one colour, without the legend's square."""
    return [r for r in marks(svg, "rect", color) if (r.get("width"), r.get("height")) != LEGEND]


def texts(svg: ET.Element) -> list[str]:
    return ["".join(t.itertext()) for t in svg.iter(SVG + "text")]


BLUE, ORANGE = "#004b87", "#c05a00"
LEGEND = ("12.0", "12.0")


def test_bars_stand_for_their_values_side_by_side():
    svg = drawn("bar", ["Mo", "Di"], [Series("Gebucht", [10, 20]), Series("Abgesagt", [5, None])])
    assert (svg.get("width"), svg.get("height")) == (str(WIDTH), "360")
    blue = [float(r.get("height")) for r in bars(svg, BLUE)]
    orange = [float(r.get("height")) for r in bars(svg, ORANGE)]
    assert blue[1] == pytest.approx(2 * blue[0], abs=0.2)
    assert orange[0] == pytest.approx(blue[0] / 2, abs=0.2) and len(orange) == 1  # None: no bar
    assert {"Mo", "Di", "Gebucht", "Abgesagt", "0", "20"} <= set(texts(svg))


def test_stacked_bars_across_add_up_and_grow_with_the_labels():
    labels = ["A", "B", "C"]
    svg = drawn("hstacked", labels, [Series("x", [1, 2, 3]), Series("y", [3, 2, 1])])
    assert int(svg.get("height")) > 360  # a horizontal chart grows per label
    blue, orange = bars(svg, BLUE), bars(svg, ORANGE)
    totals = [
        float(b.get("width")) + float(o.get("width")) for b, o in zip(blue, orange, strict=True)
    ]
    assert totals[0] == pytest.approx(totals[1], abs=0.2) == pytest.approx(totals[2], abs=0.2)
    # stacked: the second series begins where the first ends, on the same row
    assert float(orange[0].get("x")) == pytest.approx(
        float(blue[0].get("x")) + float(blue[0].get("width")), abs=0.2
    )
    assert orange[0].get("y") == blue[0].get("y")
    assert [float(b.get("y")) for b in blue] == sorted(float(b.get("y")) for b in blue)  # top down


def test_a_line_breaks_where_a_value_is_missing_and_names_its_unit():
    svg = drawn("line", ["1", "2", "3", "4", "5"], [Series("%", [1, 2, None, 4, 5])], unit="%")
    assert len(marks(svg, "polyline", BLUE)) == 2
    assert len(marks(svg, "circle", BLUE)) == 4
    assert "%" in texts(svg)


def test_words_are_escaped_and_long_labels_wrapped():
    name = "Registering a new address or a change of address <&> now"
    svg = drawn("hbar", [name], [Series("Tom & Jerry", [3])])
    shown = texts(svg)
    assert "Tom & Jerry" not in shown  # one series: no legend
    lines = [t for t in shown if t and t not in {"0", "1", "2", "3"} and "." not in t]
    assert len(lines) > 1 and " ".join(lines) == name


def test_nothing_to_show_and_unknown_kinds():
    assert "–" in texts(drawn("bar", [], []))
    assert "–" in texts(drawn("line", ["2026-01"], [Series("x", [None])]))
    with pytest.raises(ValueError, match="no such kind of plot"):
        plot("pie", ["a"], [Series("x", [1])])


def test_the_same_numbers_are_drawn_once():
    _drawn.cache_clear()
    first = plot("bar", ["a"], [Series("x", [1.5])])
    assert plot("bar", ["a"], [Series("x", [1.5])]) is first
    assert _drawn.cache_info().hits == 1
