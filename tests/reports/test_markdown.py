"""The pull-request comment: one marker, the verdict first, under GitHub's size limit."""

from __future__ import annotations

import re
from pathlib import Path

from conftest import record_run
from uetf_core.reports.document import build_report
from uetf_core.reports.markdown import LIMIT, MARKER, render_markdown


def balanced(markdown: str) -> None:
    """Every section closed and every code fence paired: nothing was cut in half."""
    assert markdown.count("<details>") == markdown.count("</details>")
    fences = re.findall(r"^(`{3,})", markdown, flags=re.MULTILINE)
    assert len(fences) % 2 == 0


def test_large_failure_list_is_cut_by_rows_not_markup(tmp_path: Path) -> None:
    failing = [f"tests/test_x.py::test_{i}[{'p' * 80}]" for i in range(3000)]
    recorder = record_run(tmp_path, ["tests/test_x.py::test_ok"], failing, traceback_lines=60)
    report = build_report(recorder.ledger, recorder.run_id)
    markdown = render_markdown(report)
    assert len(markdown) <= LIMIT
    assert markdown.count(MARKER) == 1 and markdown.startswith(MARKER + "\n### ")
    assert "UETF: failed" in markdown.splitlines()[1]
    balanced(markdown)
    assert re.search(r"_… and \d+ more_", markdown)
    assert "Some rows were left out" in markdown
    recorder.ledger.close()


def test_small_report_is_whole(tmp_path: Path) -> None:
    recorder = record_run(tmp_path, ["t.py::a", "t.py::b"], ["t.py::c"])
    markdown = render_markdown(build_report(recorder.ledger, recorder.run_id))
    balanced(markdown)
    assert "left out" not in markdown
    assert "| t\\.py\\:\\:c | new | failed |" in markdown
    assert "Slowest 3 tests" in markdown
    recorder.ledger.close()


def test_tiny_limit_still_closes_everything(tmp_path: Path) -> None:
    recorder = record_run(tmp_path, ["t.py::a"], [f"t.py::f{i}" for i in range(50)])
    markdown = render_markdown(build_report(recorder.ledger, recorder.run_id), limit=2000)
    assert len(markdown) <= 2000
    balanced(markdown)
    recorder.ledger.close()


def test_trend_and_baseline_sections_follow_the_history(tmp_path: Path) -> None:
    first = record_run(tmp_path, ["t.py::a"], [])
    first.ledger.close()
    second = record_run(tmp_path, ["t.py::a", "t.py::b"], ["t.py::c"])
    report = build_report(second.ledger, second.run_id)
    assert [(p["tests"], p["pass_rate"]) for p in report["trend"]] == [(1, 100.0), (3, 66.67)]
    assert report["trend"][-1]["run_id"] == second.run_id
    second.ledger.close()
