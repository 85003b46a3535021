"""A failed gate's measured value is shown with the digits that tell it from its threshold."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from conftest import record_run
from uetf_core.render import gate_table, measured, telling, threshold
from uetf_core.reports.document import build_report
from uetf_core.reports.html import render_html
from uetf_core.reports.markdown import render_markdown


@pytest.mark.parametrize(
    ("value", "limit", "digits", "shown"),
    [
        (1.003, 1, 0, "1.003"),
        (1.003, 1, 2, "1.003"),
        (1.0004, 1.0, 3, "1.0004"),
        (89.994, 90, 2, "89.99"),
        (89.9999, 90, 2, "89.9999"),
        (90.00001, 90, 2, "90.00001"),
        (1.0000004, 1, 3, "1.0000004"),  # beyond six decimals: the exact value
        (1.0, 1, 2, "1"),  # equal to the threshold: nothing to tell apart
        (85.714285, 90, 2, "85.71"),  # already different at the usual digits
        (0.5, None, 2, "0.5"),  # no threshold to compare with
        (7, 10, 2, "7"),  # counts are whole numbers
    ],
)
def test_telling_truth_table(value: float, limit: float | None, digits: int, shown: str) -> None:
    """The fewest decimals from ``digits`` on at which value and threshold read differently."""
    assert telling(value, limit, digits) == shown


def gate(value: float, verdict: str, limit: float = 1) -> dict[str, Any]:
    return {
        "name": "max_test_duration",
        "path": None,
        "op": "<=",
        "threshold": limit,
        "value": value,
        "unit": "s",
        "verdict": verdict,
        "reason": None,
    }


@pytest.mark.parametrize(
    ("case", "digits", "shown"),
    [
        (gate(1.003, "failed"), 2, "1.003s"),
        (gate(1.003, "warned"), 2, "1.003s"),
        (gate(1.003, "passed", limit=2), 2, "1s"),  # a gate that held needs no more digits
        (gate(None, "skipped"), 2, "-"),  # type: ignore[arg-type]
        ({**gate(89.996, "failed", limit=90), "unit": "%", "op": ">="}, 2, "89.996 %"),
    ],
)
def test_measured_tells_only_a_violated_gate(case: dict[str, Any], digits: int, shown: str) -> None:
    """Only a failed or warned gate gets the extra digits; the unit follows the number."""
    assert measured(case, digits) == shown


def test_threshold_keeps_the_decimals_written() -> None:
    """A threshold of 0.005 s is not rounded to 0.01 s in a report."""
    assert threshold(gate(0.0, "passed", limit=0.005)) == "<= 0.005s"


def test_every_format_shows_why_the_gate_failed(tmp_path: Path) -> None:
    """Terminal, markdown (and so GitHub's summary) and HTML read 1.003s against <= 1s."""
    recorder = record_run(tmp_path, ["t.py::a"], [])
    try:
        report = build_report(recorder.ledger, recorder.run_id)
    finally:
        recorder.ledger.close()
    report["gates"] = [gate(1.003, "failed")]
    (row,) = gate_table(report["gates"])[1:]
    assert row.split() == ["max_test_duration", "<=", "1s", "1.003s", "failed"]
    assert "| &lt;\\= 1s | 1.003s | ❌ failed |" in render_markdown(report)
    assert '<td>&lt;= 1s</td><td class="num">1.003s</td>' in render_html(report, str(tmp_path))
