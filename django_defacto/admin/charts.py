"""Charts drawn on the server as SVG: no script, no inline style, no network.

They render under a `default-src 'self'` Content-Security-Policy: colours and sizes come
from classes of `django_defacto/admin.css`, geometry from SVG attributes. Each bar or
point carries a `<title>` (its figure, read by screen readers and shown on hover) and,
when given, a link to the rows it counts. The page shows a table of the same numbers
beside each chart.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

WIDTH = 640
LABEL_WIDTH = 190
# The widest a character of the charts' 12px text is taken to be (admin.css): labels are
# shortened, and bars leave room for their figure, so no text runs out of the drawing.
CHAR_WIDTH = 7
MIN_BAR_ROOM = 200
GAP = 6
ROW_HEIGHT = 30
BAR_HEIGHT = 20
LINE_HEIGHT = 220
PADDING = 24


@dataclass(frozen=True)
class Bar:
    """One bar: its label, its size (cents or a count), the figure written beside it,
    where it leads, and its colour family (a class suffix)."""

    label: str
    value: int
    text: str
    url: str = ""
    family: str = "default"


def _linked(url: str, inner: SafeString) -> SafeString:
    if not url:
        return inner
    return format_html('<a href="{}" class="defacto-chart-link">{}</a>', url, inner)


def _svg(height: int, label: str, body: SafeString) -> SafeString:
    return format_html(
        '<svg class="defacto-chart" viewBox="0 0 {} {}" role="img" aria-label="{}" '
        'xmlns="http://www.w3.org/2000/svg">{}</svg>',
        WIDTH,
        height,
        label,
        body,
    )


def _fitted(text: str, width: int) -> str:
    """`text`, shortened with an ellipsis to what `width` pixels hold."""
    fits = max(width // CHAR_WIDTH, 1)
    return text if len(text) <= fits else text[: fits - 1] + "\u2026"


def bar_chart(bars: Sequence[Bar], *, label: str) -> SafeString:
    """Horizontal bars, one row each, scaled to the largest, each figure beside its bar.
    A label too long for its column is shortened; the bar's title keeps it whole."""
    largest = max((bar.value for bar in bars), default=0) or 1
    widest_text = max((len(bar.text) for bar in bars), default=0) * CHAR_WIDTH + GAP
    room = max(WIDTH - LABEL_WIDTH - widest_text, MIN_BAR_ROOM)
    rows = []
    for index, bar in enumerate(bars):
        top = index * ROW_HEIGHT + (ROW_HEIGHT - BAR_HEIGHT) // 2
        width = max(round(max(bar.value, 0) * room / largest), 1 if bar.value else 0)
        middle = top + BAR_HEIGHT // 2 + 5
        shape = format_html(
            '<rect class="defacto-bar defacto-bar--{}" x="{}" y="{}" width="{}" height="{}">'
            "<title>{}: {}</title></rect>",
            bar.family,
            LABEL_WIDTH,
            top,
            width,
            BAR_HEIGHT,
            bar.label,
            bar.text,
        )
        rows.append(
            format_html(
                '<g class="defacto-chart-row"><text class="defacto-chart-label" x="{}" y="{}" '
                'text-anchor="end">{}</text>{}<text class="defacto-chart-value" x="{}" '
                'y="{}">{}</text></g>',
                LABEL_WIDTH - 8,
                middle,
                _fitted(bar.label, LABEL_WIDTH - 8),
                _linked(bar.url, shape),
                LABEL_WIDTH + width + GAP,
                middle,
                bar.text,
            )
        )
    height = max(len(bars), 1) * ROW_HEIGHT
    return _svg(height, label, format_html_join("", "{}", ((row,) for row in rows)))


def line_chart(points: Sequence[Bar], *, label: str) -> SafeString:
    """A line through the points, left to right, with a dot (linked, titled) on each."""
    largest = max((point.value for point in points), default=0) or 1
    plot_height = LINE_HEIGHT - 2 * PADDING
    step = (WIDTH - 2 * PADDING) / max(len(points) - 1, 1)
    coordinates = [
        (
            round(PADDING + index * step),
            round(PADDING + plot_height - max(point.value, 0) * plot_height / largest),
        )
        for index, point in enumerate(points)
    ]
    line = " ".join(f"{x},{y}" for x, y in coordinates)
    dots = format_html_join(
        "",
        "{}",
        (
            (
                _linked(
                    point.url,
                    format_html(
                        '<circle class="defacto-point" cx="{}" cy="{}" r="5">'
                        "<title>{}: {}</title></circle>",
                        x,
                        y,
                        point.label,
                        point.text,
                    ),
                ),
            )
            for point, (x, y) in zip(points, coordinates, strict=True)
        ),
    )
    axis = format_html(
        '<line class="defacto-axis" x1="{}" y1="{}" x2="{}" y2="{}"></line>',
        PADDING,
        LINE_HEIGHT - PADDING,
        WIDTH - PADDING,
        LINE_HEIGHT - PADDING,
    )
    ends = ""
    if points:
        ends = format_html(
            '<text class="defacto-chart-label" x="{}" y="{}">{}</text>'
            '<text class="defacto-chart-label" x="{}" y="{}" text-anchor="end">{}</text>',
            PADDING,
            LINE_HEIGHT - 6,
            points[0].label,
            WIDTH - PADDING,
            LINE_HEIGHT - 6,
            points[-1].label,
        )
    body = format_html(
        '{}<polyline class="defacto-line" points="{}"></polyline>{}{}', axis, line, dots, ends
    )
    return _svg(LINE_HEIGHT, label, body)
