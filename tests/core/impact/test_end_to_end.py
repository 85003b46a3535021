"""From a real pytest run's recorded dependencies to the selection for an edit.

A project's suite runs under ``coverage run`` with a small plugin that records
each test's dependencies with UETF's recorder (the shape the UETF plugin will
take); its records become a Baseline; files are then edited, and the selection
must hold every test the full suite now fails (a fault injected into a function
is caught by the selection), and only the tests that can see the edit.
"""

from __future__ import annotations

import json
import os
import sys
import textwrap
from pathlib import Path

import pytest

from conftest import run_pytest
from uetf_core.impact import (
    BlockIndex,
    Change,
    EnteredCode,
    Reason,
    ScopeDependencies,
    baseline_from_run,
    blocks_of_file,
    current_environment,
    select_tests,
)

RECORDING_PLUGIN = textwrap.dedent(
    """\
    import json, os
    import pytest
    from uetf_core.impact import ProjectFiles, new_recorder

    class Recording:
        def __init__(self, root):
            self.recorder = new_recorder(ProjectFiles(root))
            self.recorder.start()
            self.tests = {}

        @pytest.hookimpl(hookwrapper=True)
        def pytest_runtest_protocol(self, item):
            self.recorder.begin_test()
            yield
            self.tests[item.nodeid] = self.recorder.end_test()

        def pytest_sessionfinish(self):
            outside = self.recorder.outside_tests()
            self.recorder.stop()
            def rows(scope):
                return sorted([e.path, e.first_line, e.qualname] for e in scope.entered)
            with open(os.environ["UETF_DEPS_OUT"], "w") as out:
                json.dump({"tests": {n: rows(s) for n, s in self.tests.items()},
                           "outside": rows(outside)}, out)

    def pytest_configure(config):
        config.pluginmanager.register(Recording(str(config.rootpath)), "uetf-recording")
    """
)

FILES = {
    "pyproject.toml": "[tool.pytest.ini_options]\ntestpaths = ['tests']\n",
    "shop/__init__.py": "",
    "shop/rates.py": "RATE = 0.2\n\n\ndef rate():\n    return RATE\n",
    "shop/prices.py": textwrap.dedent(
        """\
        from shop import rates


        def net(x):
            return round(x, 2)


        def gross(x):
            return net(x * (1 + rates.RATE))


        def discount(x, percent):
            return net(x * (100 - percent) / 100)
        """
    ),
    "tests/test_prices.py": textwrap.dedent(
        """\
        from shop import prices


        def test_net():
            assert prices.net(1.234) == 1.23


        def test_gross():
            assert prices.gross(10) == 12.0


        def test_discount():
            assert prices.discount(10, 50) == 5.0
        """
    ),
    "tests/test_rates.py": textwrap.dedent(
        """\
        from shop import rates


        def test_rate():
            assert rates.rate() == 0.2


        def test_constant_only():
            assert rates.RATE < 1
        """
    ),
}


def record_baseline(root: Path) -> tuple[dict[str, object], object]:
    out = root.parent / "deps.json"
    (root.parent / "recording_plugin.py").write_text(RECORDING_PLUGIN)
    env = {
        "UETF_DEPS_OUT": str(out),
        "PYTHONPATH": os.pathsep.join([str(root.parent), os.environ.get("PYTHONPATH", "")]),
        "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1",
    }
    done = run_pytest(root, "-p", "recording_plugin", "-q", env=env)
    assert done.returncode == 0, done.stdout + done.stderr
    raw = json.loads(out.read_text())

    def scope(rows: list[list[object]]) -> ScopeDependencies:
        return ScopeDependencies(frozenset(EnteredCode(str(p), int(f), str(q)) for p, f, q in rows))  # type: ignore[call-overload]

    tests = {node: scope(rows) for node, rows in raw["tests"].items()}
    baseline = baseline_from_run(
        "base", current_environment(), tests, scope(raw["outside"]), BlockIndex(root)
    )
    return raw, baseline


def failing_tests(root: Path) -> set[str]:
    done = run_pytest(root, "-q", "-rf", env={"PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"})
    return {line.split(" ")[1] for line in done.stdout.splitlines() if line.startswith("FAILED ")}


def edit_and_select(root: Path, path: str, old: str, new: str, baseline: object) -> object:
    target = root / path
    text = target.read_text()
    assert old in text
    target.write_text(text.replace(old, new))
    collected = tuple(baseline.tests)  # type: ignore[attr-defined]
    change = Change(
        current_environment(),
        collected,
        frozenset({path}),
        {path: blocks_of_file(root, path)},
    )
    return select_tests(baseline, change)  # type: ignore[arg-type]


@pytest.fixture
def project(tmp_path: Path) -> Path:
    root = tmp_path / "project"
    for name, text in FILES.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(text)
    return root


def test_the_baseline_holds_each_tests_blocks(project: Path) -> None:
    """A real run gives each test its own blocks and the import-time blocks it relied on."""
    _, baseline = record_baseline(project)
    tests = baseline.tests  # type: ignore[attr-defined]
    gross = {(d.path, d.qualname) for d in tests["tests/test_prices.py::test_gross"].blocks}
    assert gross == {
        ("shop/prices.py", "gross"),
        ("shop/prices.py", "net"),
        ("tests/test_prices.py", "test_gross"),
    }
    import_time = {(d.path, d.qualname) for d in baseline.import_time}  # type: ignore[attr-defined]
    assert ("shop/rates.py", "<module>") in import_time
    # "from shop import rates" imports the package too.
    imports = baseline.imports  # type: ignore[attr-defined]
    assert imports["shop/prices.py"] == frozenset({"shop/__init__.py", "shop/rates.py"})


@pytest.mark.parametrize(
    ("path", "old", "new", "selected"),
    [
        ("shop/prices.py", "return round(x, 2)", "return round(x, 1)", 3),
        ("shop/prices.py", "(100 - percent) / 100", "(100 - percent) / 10", 1),
        ("shop/prices.py", "(1 + rates.RATE)", "(1 - rates.RATE)", 1),
        # Import-time code every test file reaches through its imports: all of them.
        ("shop/rates.py", "RATE = 0.2", "RATE = 0.25", 5),
        ("shop/rates.py", "    return RATE", "    return RATE * 2", 1),
    ],
)
def test_every_failure_of_the_full_suite_is_selected(
    project: Path, path: str, old: str, new: str, selected: int
) -> None:
    """A fault injected into the code: the tests the full suite fails are all selected."""
    _, baseline = record_baseline(project)
    selection = edit_and_select(project, path, old, new, baseline)
    failing = failing_tests(project)
    assert failing, "the injected fault must fail some test"
    chosen = set(selection.node_ids)  # type: ignore[attr-defined]
    assert failing <= chosen, (failing, selection)
    assert len(chosen) == selected


def test_a_changed_function_selects_only_its_callers(project: Path) -> None:
    """Changing discount selects test_discount alone, for the changed block."""
    _, baseline = record_baseline(project)
    selection = edit_and_select(
        project, "shop/prices.py", "(100 - percent) / 100", "(100 - percent) / 10", baseline
    )
    assert [(t.node_id, t.reason, t.detail) for t in selection.selected] == [  # type: ignore[attr-defined]
        ("tests/test_prices.py::test_discount", Reason.BLOCK_CHANGED, "shop/prices.py::discount")
    ]


def test_a_comment_selects_nothing(project: Path) -> None:
    """A comment added to a function selects no test."""
    _, baseline = record_baseline(project)
    selection = edit_and_select(
        project, "shop/prices.py", "return round(x, 2)", "return round(x, 2)  # cents", baseline
    )
    assert selection.selected == ()  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    "core", ["sysmon", "ctrace"] if sys.version_info >= (3, 12) else ["ctrace"]
)
def test_recording_under_coverage_run_keeps_coverage(project: Path, core: str) -> None:
    """``coverage run -m pytest`` reports the same lines with the recording plugin loaded."""
    (project.parent / "recording_plugin.py").write_text(RECORDING_PLUGIN)
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("COV", "PYTEST_"))},
        "UETF_DEPS_OUT": str(project.parent / "deps.json"),
        "PYTHONPATH": os.pathsep.join([str(project.parent), os.environ.get("PYTHONPATH", "")]),
        "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1",
        "COVERAGE_CORE": core,
    }
    import subprocess

    def total(*plugin: str) -> str:
        run = [sys.executable, "-m", "coverage", "run", "--source=shop", "-m", "pytest", "-q"]
        done = subprocess.run([*run, *plugin], cwd=project, env=env, capture_output=True, text=True)
        assert done.returncode == 0, done.stdout + done.stderr
        report = subprocess.run(
            [sys.executable, "-m", "coverage", "report", "--show-missing"],
            cwd=project,
            env=env,
            capture_output=True,
            text=True,
            check=True,
        )
        return report.stdout

    plain = total()
    assert plain == total("-p", "recording_plugin")
    assert "100%" in plain
