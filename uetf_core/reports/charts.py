"""Trend charts as inline SVG: no script, no external file, readable without a network."""

from __future__ import annotations

from collections.abc import Sequence

from uetf_core.reports.escape import html_text

WIDTH = 320
HEIGHT = 120
PAD_X = 36
PAD_Y = 14


def _label(value: float) -> str:
    return f"{value:.2f}".rstrip("0").rstrip(".") if value != int(value) else f"{int(value)}"


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
    low, high = min(known), max(known)
    if high == low:  # one value, or a flat line: draw it mid-height on a 0-based axis
        low, high = (0.0, high * 2) if high > 0 else (high - 1, high + 1)
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
