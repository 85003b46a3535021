"""Trend charts as inline SVG: no script, no external file, readable without a network."""

from __future__ import annotations

from collections.abc import Sequence

from uetf_core.reports.escape import html_text

WIDTH = 320
HEIGHT = 120
PAD_X = 36
PAD_Y = 14
# A flat series is drawn in a band this fraction of its value above and below it.
FLAT_BAND = 0.05


def _label(value: float) -> str:
    # Four significant digits keep the two ends of a narrow band apart (0.0475, 0.0525).
    if value == int(value) or abs(value) >= 1000:
        return f"{round(value)}"
    return f"{value:.4g}"


def axis(values: Sequence[float], unit: str = "") -> tuple[float, float]:
    """The low and high ends of a chart's axis for ``values`` (at least one).

    A flat series gets a narrow band around its value, so the line sits mid-height
    and the labels stay near the figures; a percentage never leaves 0-100 and a
    series that is never negative (durations, counts) never gets a negative end.
    """
    low, high = min(values), max(values)
    if high == low:
        pad = abs(high) * FLAT_BAND or 1.0
        low, high = high - pad, high + pad
        if min(values) >= 0:
            low = max(low, 0.0)
    if unit.strip() == "%":
        low, high = max(low, 0.0), min(high, 100.0)
    return low, high


def trend_svg(title: str, points: Sequence[tuple[str, float | None]], unit: str = "") -> str:
    """A line chart of ``points`` (label, value) in order; missing values leave a gap."""
    known = [v for _, v in points if v is not None]
    head = (
        f'<svg class="chart" role="img"'
        f' viewBox="0 0 {WIDTH} {HEIGHT}" width="{WIDTH}" height="{HEIGHT}">'
        f"<title>{html_text(title)}</title>"
        f'<text x="4" y="11" class="chart-title">{html_text(title)}</text>'
    )
    if not known:
        return head + f'<text x="{PAD_X}" y="{HEIGHT // 2}">no data yet</text></svg>'
    low, high = axis(known, unit)
    span_x = WIDTH - PAD_X - 8
    span_y = HEIGHT - 2 * PAD_Y - 6
    step = span_x / max(len(points) - 1, 1)

    def xy(index: int, value: float) -> tuple[float, float]:
        x = PAD_X + index * step if len(points) > 1 else PAD_X + span_x / 2
        y = PAD_Y + 6 + span_y * (high - value) / (high - low)
        return round(x, 1), round(y, 1)

    parts = [
        head,
        f'<text x="2" y="{PAD_Y + 10}" class="axis">{html_text(_label(high))}</text>',
        f'<text x="2" y="{HEIGHT - PAD_Y}" class="axis">{html_text(_label(low))}</text>',
        f'<line x1="{PAD_X}" y1="{HEIGHT - PAD_Y}" x2="{WIDTH - 8}" y2="{HEIGHT - PAD_Y}"'
        ' class="baseline"/>',
    ]
    segment: list[str] = []
    segments: list[list[str]] = []
    dots = []
    for index, (label, value) in enumerate(points):
        if value is None:
            if segment:
                segments.append(segment)
            segment = []
            continue
        x, y = xy(index, value)
        segment.append(f"{x},{y}")
        dots.append(
            f'<circle cx="{x}" cy="{y}" r="3"><title>{html_text(label)}:'
            f" {html_text(_label(value))}{html_text(unit)}</title></circle>"
        )
    if segment:
        segments.append(segment)
    parts += [f'<polyline points="{" ".join(s)}"/>' for s in segments if len(s) > 1]
    parts += dots
    parts.append("</svg>")
    return "".join(parts)
