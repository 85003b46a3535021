"""Trend charts: the axis of a flat series stays near its value and within its scale."""

from __future__ import annotations

import re

import pytest

from uetf_core.reports.charts import axis, trend_svg


@pytest.mark.parametrize(
    ("values", "unit", "low", "high"),
    [
        ([93.0, 93.0], " %", 88.35, 97.65),  # a band around the value, not 0 to 186
        ([100.0], " %", 95.0, 100.0),  # a percentage never beyond 100
        ([0.0], " %", 0.0, 1.0),  # nor below 0
        ([12, 12, 12], "", 11.4, 12.6),
        ([0.05], " s", 0.0475, 0.0525),
        ([0], "", 0.0, 1.0),  # a duration or count is never negative
        ([-3.0], "", -3.15, -2.85),
        ([50.0, 60.0], " %", 50.0, 60.0),  # a series that moves spans its own range
    ],
)
def test_axis_truth_table(values: list[float], unit: str, low: float, high: float) -> None:
    """The axis ends for a series: its range, or a narrow band when it is flat."""
    assert axis(values, unit) == pytest.approx((low, high))


def test_flat_pass_rate_is_drawn_mid_height_under_100() -> None:
    """A pass rate flat at 93 % is labelled within 0-100 and drawn in the middle of the chart."""
    svg = trend_svg("pass rate", [("r1", 93.0), ("r2", 93.0), ("r3", 93.0)], " %")
    labels = [float(t) for t in re.findall(r'class="axis">([\d.]+)<', svg)]
    assert labels and max(labels) <= 100 and min(labels) >= 80
    heights = {float(y) for y in re.findall(r'cy="([\d.]+)"', svg)}
    (y,) = heights
    assert 40 < y < 80  # of 120: mid-height
