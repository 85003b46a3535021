"""A work tree's change: changed Python files read into blocks, broken ones set apart."""

from __future__ import annotations

from pathlib import Path

from uetf_core.impact import (
    Environment,
    WholeSuiteReason,
    change_of_work_tree,
    select_tests,
)
from uetf_core.impact.selection import Baseline

ENV = Environment("CPython 3.12.1", "d")


def test_changed_python_files_are_read_into_blocks(tmp_path: Path) -> None:
    """Existing changed .py files get blocks; deleted and other files do not."""
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "m.py").write_text("def f():\n    return 1\n")
    (tmp_path / "notes.md").write_text("hi\n")
    change = change_of_work_tree(
        tmp_path,
        ["pkg/m.py", "pkg/gone.py", "notes.md"],
        ["tests/test_m.py::test_f"],
        recent_failures=["tests/test_m.py::test_f"],
        input_globs=["data/*"],
        environment=ENV,
    )
    assert set(change.blocks) == {"pkg/m.py"}
    assert [b.qualname for b in change.blocks["pkg/m.py"].blocks] == ["<module>", "f"]
    assert change.changed_files == {"pkg/m.py", "pkg/gone.py", "notes.md"}
    assert change.unparsable == frozenset()
    assert change.recent_failures == {"tests/test_m.py::test_f"}
    assert change.input_globs == ("data/*",)


def test_a_file_that_does_not_parse_sends_selection_to_the_whole_suite(tmp_path: Path) -> None:
    """A syntax error or bytes that are not source make the file unparsable."""
    (tmp_path / "bad.py").write_text("def f(:\n")
    (tmp_path / "binary.py").write_bytes(b"\xff\xfe\x00\x00")
    change = change_of_work_tree(tmp_path, ["bad.py", "binary.py"], ["t.py::t"], environment=ENV)
    assert change.unparsable == {"bad.py", "binary.py"}
    result = select_tests(Baseline("b", ENV, {}), change)
    assert result.whole_suite is not None
    assert result.whole_suite.reason is WholeSuiteReason.UNPARSABLE
    assert result.whole_suite.detail == "bad.py"
