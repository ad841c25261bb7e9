"""Server-rendered SVG plots for the statistics page (pygal), handed to the page as
`data:image/svg+xml;base64,…` images: the page's CSP allows `img-src 'self' data:`, and an
image's own SVG document may carry the `<style>` pygal writes (the page's `style-src 'self'`
does not reach into it). No scripts (pygal's tooltips would load one from its site), no fonts
from anywhere: the system's sans-serif."""

from __future__ import annotations

import base64
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

import pygal
from pygal.style import Style

# The site's colours (site.css); each at least 3:1 against white, told apart also by order.
STYLE = Style(
    font_family="system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif",
    background="#ffffff",
    plot_background="#ffffff",
    foreground="#1a1a1a",
    foreground_strong="#1a1a1a",
    foreground_subtle="#767676",
    opacity="1",
    opacity_hover="1",
    transition="none",
    colors=("#004b87", "#c05a00", "#1e6b33", "#a4161a", "#6a3d9a", "#4a4a4a", "#00727a", "#8a5a00"),
    label_font_size=13,
    major_label_font_size=13,
    legend_font_size=13,
    value_font_size=12,
    title_font_size=15,
)
WIDTH, HEIGHT = 640, 360

KINDS = {
    "bar": pygal.Bar,
    "hbar": pygal.HorizontalBar,
    "stacked": pygal.StackedBar,
    "hstacked": pygal.HorizontalStackedBar,
    "line": pygal.Line,
}


@dataclass(frozen=True)
class Series:
    """One named row of values (None: no value)."""

    name: str
    values: Sequence[float | None]


def _legend_columns(kind: str, series: Sequence[Series]) -> int:
    """As many legend entries side by side as fit without overlapping (a horizontal chart's
    legend starts where its bars do, right of the long labels)."""
    room = 300 if kind.startswith("h") else 560
    longest = max((len(one.name) for one in series), default=0) * 7.5 + 25
    fitting = next((n for n in (4, 3, 2) if longest * n <= room), 1)
    return max(1, min(fitting, len(series)))


def plot(kind: str, labels: Sequence[str], series: Sequence[Series], unit: str = "") -> str:
    """The chart as a data URI (the same numbers and words give the same chart: drawn once)."""
    frozen = tuple((one.name, tuple(one.values)) for one in series)
    return _drawn(kind, tuple(labels), frozen, unit)


@lru_cache(maxsize=128)
def _drawn(
    kind: str,
    labels: tuple[str, ...],
    frozen: tuple[tuple[str, tuple[float | None, ...]], ...],
    unit: str,
) -> str:
    series = [Series(name, values) for name, values in frozen]
    chart = KINDS[kind](
        style=STYLE,
        width=WIDTH,
        height=HEIGHT + (16 * len(labels) if kind.startswith("h") else 0),
        js=[],
        disable_xml_declaration=True,
        pretty_print=False,
        no_prefix=True,
        explicit_size=True,
        legend_at_bottom=True,
        legend_at_bottom_columns=_legend_columns(kind, series),
        show_legend=len(series) > 1,
        truncate_legend=-1,
        truncate_label=-1,
        x_label_rotation=0 if kind.startswith("h") or len(labels) <= 7 else 30,
        show_minor_x_labels=True,
        print_values=False,
        y_title=unit or None,
        margin=12,
        spacing=8,
        include_x_axis=True,
        dots_size=3,
        stroke_style={"width": 2.5},
        no_data_text="–",
    )
    # pygal lists a horizontal chart's labels from the bottom up: reversed, they read from the
    # top down like the table beside it.
    order = slice(None, None, -1) if kind.startswith("h") else slice(None)
    chart.x_labels = list(labels)[order]
    for one in series:
        chart.add(one.name, list(one.values)[order])
    svg = chart.render()
    data = svg if isinstance(svg, bytes) else svg.encode("utf-8")
    return "data:image/svg+xml;base64," + base64.b64encode(data).decode("ascii")
