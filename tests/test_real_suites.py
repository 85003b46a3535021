"""The pure helpers of benchmarks/real_suites.py: reading pytest's, coverage.py's and
diff-cover's figures and UETF's JSON report, with nothing downloaded."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

_PATH = Path(__file__).resolve().parent.parent / "benchmarks" / "real_suites.py"
_SPEC = importlib.util.spec_from_file_location("real_suites", _PATH)
assert _SPEC and _SPEC.loader
real_suites = importlib.util.module_from_spec(_SPEC)
sys.modules["real_suites"] = real_suites  # dataclasses resolve the module by name
_SPEC.loader.exec_module(real_suites)


@pytest.mark.parametrize(
    ("output", "expected"),
    [
        ("....\n4 passed in 0.12s\n", {"passed": 4}),
        (
            "F.sx\n= 1 failed, 2 passed, 3 skipped, 4 xfailed, 5 xpassed, 6 warnings, "
            "7 errors, 8 deselected in 3.20s (0:00:03) =\n",
            {
                "passed": 2,
                "failed": 1,
                "skipped": 3,
                "xfailed": 4,
                "xpassed": 5,
                "errors": 7,
                "deselected": 8,
            },
        ),
        ("E\n1 error in 0.01s\n", {"errors": 1}),
        ("722 passed, 19896 subtests passed in 131.11s (0:02:11)\n", {"passed": 722}),
    ],
)
def test_summary_counts(output: str, expected: dict[str, int]) -> None:
    """Every outcome of pytest's summary line is read, absent outcomes count zero."""
    counts = real_suites.parse_pytest_summary(output)
    assert counts == {**dict.fromkeys(counts, 0), **expected}


def test_summary_takes_the_last_line() -> None:
    """A test's own output that looks like a summary does not hide pytest's final line."""
    output = "1 passed in 0.1s\n.\n3 passed, 1 skipped in 0.50s\n"
    assert real_suites.parse_pytest_summary(output)["passed"] == 3


def test_summary_missing() -> None:
    """Output without a summary line (pytest crashed) is an error, not zero tests."""
    with pytest.raises(ValueError, match="no pytest summary"):
        real_suites.parse_pytest_summary("INTERNALERROR> boom\n")


def test_coverage_total() -> None:
    """The TOTAL line's percent of coverage report --precision=2 is kept as printed."""
    output = (
        "Name  Stmts  Miss Branch BrPart  Cover\n---\n"
        "a.py  10 1 4 1  85.71%\nTOTAL  10 1 4 1  85.71%\n"
    )
    assert real_suites.parse_coverage_total(output) == "85.71"


def test_patch_lines_of_both_reports() -> None:
    """UETF's covered and uncovered ranges and diff-cover's totals give covered/measured lines."""
    report = {
        "patch": {
            "files": [
                {
                    "path": "a.py",
                    "added_lines": [[1, 9]],
                    "covered_lines": [[1, 3], [7, 7]],
                    "uncovered_lines": [[5, 6]],
                },
                {
                    "path": "b.py",
                    "added_lines": [[2, 2]],
                    "covered_lines": [],
                    "uncovered_lines": [],
                },
            ]
        }
    }
    assert real_suites.uetf_patch_lines(report) == (4, 6)
    assert real_suites.uetf_patch_lines({"patch": None}) == (0, 0)
    assert real_suites.diff_cover_lines({"total_num_lines": 6, "total_num_violations": 2}) == (4, 6)
    assert real_suites.percent(4, 6) == "66.67"
    assert real_suites.percent(0, 0) == "-"


def test_table_marks_unequal_figures() -> None:
    """Each row says whether UETF's figure equals the peer's, character for character."""
    text = real_suites.table([("passed", "5", "5"), ("total coverage %", "90.00", "90.01")], "peer")
    lines = text.splitlines()
    assert lines[0].split() == ["figure", "UETF", "peer", "equal"]
    assert lines[1].split()[-1] == "yes"
    assert lines[2].split()[-1] == "no"


def test_ratio_spread() -> None:
    """The pairs' ratios give their least, median and greatest."""
    assert real_suites.ratio_spread([1.2, 0.9, 1.0, 1.1, 1.05]) == (0.9, 1.05, 1.2)
