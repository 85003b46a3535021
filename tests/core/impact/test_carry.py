"""A selected run's coverage made whole from the baseline's lines that still hold."""

from __future__ import annotations

from typing import Any

from uetf_core.impact.carry import carried_coverage

OLD_A = b"def add(x, y):\n    return x + y\n\n\ndef sub(x, y):\n    return x - y\n"
# sub edited, add moved down by one line (a comment above it).
NEW_A = b"# moved\ndef add(x, y):\n    return x + y\n\n\ndef sub(x, y):\n    return y - x\n"


def document(files: dict[str, tuple[list[int], list[int]]]) -> dict[str, Any]:
    entries = [
        {
            "path": path,
            "statements": statements,
            "executed": executed,
            "n_branches": 0,
            "n_partial_branches": 0,
            "n_missing_branches": 0,
            "arcs": [],
        }
        for path, (statements, executed) in sorted(files.items())
    ]
    n = sum(len(s) for s, _ in files.values())
    missing = sum(len(set(s) - set(e)) for s, e in files.values())
    return {
        "percent": round(100 * (n - missing) / n, 2),
        "n_statements": n,
        "n_missing": missing,
        "n_branches": 0,
        "n_partial_branches": 0,
        "core": "ctrace",
        "branch": False,
        "problems": [],
        "files": entries,
    }


def test_unchanged_file_takes_the_baseline_lines() -> None:
    """An unchanged file's lines are this run's and the baseline's together."""
    now = document({"pkg/b.py": ([1, 4, 5], [1, 4])})
    before = document({"pkg/b.py": ([1, 4, 5], [1, 4, 5])})
    whole = carried_coverage(now, before, changed=())
    assert whole["files"][0]["executed"] == [1, 4, 5]
    assert (whole["percent"], whole["n_missing"]) == (100.0, 0)


def test_nothing_to_add_keeps_the_measured_document() -> None:
    """When the baseline adds no line, coverage.py's own figures stand untouched."""
    now = document({"pkg/b.py": ([1, 2, 3], [1, 2])})
    before = document({"pkg/b.py": ([1, 2, 3], [1])})
    assert carried_coverage(now, before, changed=()) is now
    assert carried_coverage(now, None, changed=()) is now


def test_changed_file_moves_lines_of_unchanged_blocks_only() -> None:
    """In a changed file, lines of a block with the same text move with it; edited ones do not."""
    sources = {"old": {"pkg/a.py": OLD_A}, "new": {"pkg/a.py": NEW_A}}
    now = document({"pkg/a.py": ([2, 3, 6, 7], [2, 6])})  # this run: defs only
    before = document({"pkg/a.py": ([1, 2, 5, 6], [1, 2, 5, 6])})
    whole = carried_coverage(
        now,
        before,
        changed={"pkg/a.py"},
        old_source=lambda p: sources["old"].get(p),
        new_source=lambda p: sources["new"].get(p),
    )
    # add's body (old line 2) is now line 3; sub's body (old 6) was edited: not carried.
    assert whole["files"][0]["executed"] == [2, 3, 6]
    assert whole["n_missing"] == 1


def test_changed_file_without_sources_keeps_this_runs_lines() -> None:
    """Without the baseline's source a changed file's lines cannot be mapped: none are added."""
    now = document({"pkg/a.py": ([1, 2], [1])})
    before = document({"pkg/a.py": ([1, 2], [1, 2])})
    assert carried_coverage(now, before, changed={"pkg/a.py"}) is now
