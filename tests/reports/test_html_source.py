"""The HTML report's source views: which files get one, the page-size bound, hostile names."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from uetf_core.reports import html_source
from uetf_core.reports.html_lists import coverage_table
from uetf_core.reports.html_lists import tests_table as list_of_tests


def report(
    files: list[dict[str, Any]], patch: list[dict[str, Any]] | None = None
) -> dict[str, Any]:
    """A gate report's coverage and patch parts, as build_report writes them."""
    return {
        "coverage": {"files": files},
        "patch": None
        if patch is None
        else {"base_ref": "main", "merge_base": None, "problem": None, "files": patch},
    }


def measured(path: str, statements: int, missing_lines: list[list[int]]) -> dict[str, Any]:
    missing = sum(b - a + 1 for a, b in missing_lines)
    percent = 100.0 * (statements - missing) / statements if statements else 100.0
    return {
        "path": path,
        "statements": statements,
        "missing": missing,
        "percent": percent,
        "missing_lines": missing_lines,
    }


def test_only_files_below_full_or_changed_get_a_view(tmp_path: Path) -> None:
    """A file where every line ran and nothing changed has no source view; the others do."""
    for name in ("a.py", "b.py", "c.py"):
        (tmp_path / name).write_text("x = 1\ny = 2\n")
    doc = report(
        [measured("a.py", 2, []), measured("b.py", 2, [[2, 2]]), measured("c.py", 2, [])],
        patch=[
            {
                "path": "c.py",
                "added_lines": [[1, 1]],
                "covered_lines": [[1, 1]],
                "uncovered_lines": [],
            }
        ],
    )
    shown = html_source.shown_files(doc, str(tmp_path))
    assert list(shown) == ["b.py", "c.py"]
    page = "".join(html_source.full_views(doc, shown))
    assert '<div class="miss" id="src-1-L2">' in page and '<div class="hit" id="src-2-L1">' in page


def test_source_views_stop_at_the_line_budget_with_a_note(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Past the page's budget of source lines, files are named in a note, not shown."""
    monkeypatch.setattr(html_source, "SOURCE_LINES", 15)
    files = []
    for index in range(3):
        (tmp_path / f"m{index}.py").write_text("pass\n" * 10)
        files.append(measured(f"m{index}.py", 10, [[1, 1]]))
    files.append(measured("gone.py", 1, [[1, 1]]))  # not in the rootdir
    doc = report(files)
    shown = html_source.shown_files(doc, str(tmp_path))
    assert list(shown) == ["m0.py"]
    page = "".join(html_source.full_views(doc, shown))
    assert "3 more such file(s) not shown" in page and "<code>gone.py</code>" in page
    assert page.count('<div class="src">') == 1


def test_hostile_names_stay_text_in_tables() -> None:
    """Markup in a file name, test id, worker or reason is escaped, attributes included."""
    evil = '"><script>alert(1)</script><x a="'
    table = "".join(
        coverage_table({"files": [measured(evil, 1, [])]}, {evil: "src-0"}, 0)
        + list_of_tests(
            [{"node_id": evil, "outcome": evil, "duration": 0.5, "worker": evil, "reason": evil}]
        )
    )
    assert "<script" not in table and "<x " not in table
    # In the file cell, and per test: id, outcome (attributes, button, cell), worker, reason.
    assert table.count("&lt;script&gt;") == 9
