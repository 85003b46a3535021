"""Per-test recording beside a real coverage.py measurement, in a fresh interpreter.

Each case runs a driver script in a subprocess: it starts coverage.py (the core
it picks on this Python, or the one COVERAGE_CORE names), starts the recorder,
imports a small package and calls its code in "test" scopes, then prints what
the recorder saw and what coverage.py measured. The same driver run without the
recorder gives the coverage figures the recorder must not change.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

CALC = textwrap.dedent(
    """\
    import threading


    def add(a, b):
        return a + b


    def mul(a, b):
        if a:
            return a * b
        return 0


    def outer():
        def inner(x):
            return x + 1
        return inner(1) + sum(i for i in range(3))


    class Box:
        def size(self):
            return 3


    def in_thread():
        out = []
        worker = threading.Thread(target=lambda: out.append(mul(2, 2)))
        worker.start()
        worker.join()
        return out


    def fetch_lazily():
        from pkg import lazy
        return lazy.VALUE
    """
)

DRIVER = textwrap.dedent(
    """\
    import json, sys
    import coverage

    root, options = sys.argv[1], json.loads(sys.argv[2])
    sys.path.insert(0, root)
    cov = coverage.Coverage(source=["pkg"], data_file=None, config_file=False)
    cov.start()
    recorder = None
    if options.get("occupy"):
        for tool_id in options["occupy"]:
            sys.monitoring.use_tool_id(tool_id, "someone else")
    previous_calls = []
    if options.get("profile") == "python":
        sys.setprofile(lambda frame, event, arg: previous_calls.append(event))
    elif options.get("profile") == "cprofile":
        import cProfile
        cProfile.Profile().enable()
    if options.get("record"):
        from uetf_core.impact import ProjectFiles, RecorderUnavailable, new_recorder
        from uetf_core.impact.sysmon import SysmonRecorder

        project = ProjectFiles(root)
        if options.get("tool_ids"):
            recorder = SysmonRecorder(project, tuple(options["tool_ids"]))
        else:
            recorder = new_recorder(project)
        try:
            recorder.start()
        except RecorderUnavailable as exc:
            cov.stop()
            print(json.dumps({"unavailable": str(exc)}))
            sys.exit(0)
    import pkg.calc as calc

    cases = [
        ("add", lambda: calc.add(1, 2)),
        ("mul", lambda: calc.mul(2, 3)),
        ("add_again", lambda: [calc.add(i, i) for i in range(5)]),
        ("nothing", lambda: None),
        ("nested", calc.outer),
        ("method", lambda: calc.Box().size()),
        ("thread", calc.in_thread),
        ("lazy_import", calc.fetch_lazily),
        ("mul_again", lambda: calc.mul(0, 1)),
        ("checkpointed", lambda: calc.add(1, 1)),
        ("add_after_checkpoint", lambda: calc.add(2, 2)),
    ]
    scopes = {}
    for name, run in cases:
        if recorder:
            recorder.begin_test()
        run()
        if recorder and name == "checkpointed":
            scopes["before_checkpoint"] = sorted(
                [e.path, e.first_line, e.qualname] for e in recorder.checkpoint().entered
            )
            calc.mul(1, 1)
        if recorder:
            scopes[name] = sorted(
                [e.path, e.first_line, e.qualname] for e in recorder.end_test().entered
            )
    outside, mechanism = [], None
    if recorder:
        outside = sorted([e.path, e.qualname] for e in recorder.outside_tests().entered)
        mechanism = recorder.mechanism
        recorder.stop()
        recorder.stop()
    cov.stop()
    data = cov.get_data()
    lines = {
        f.replace(root, "").lstrip("/\\\\"): sorted(data.lines(f) or ())
        for f in data.measured_files()
    }
    print(json.dumps({
        "lines": lines,
        "scopes": scopes,
        "outside": outside,
        "mechanism": mechanism,
        "core": cov._collector.tracer_name() if hasattr(cov, "_collector") else None,
        "previous_calls": len(previous_calls),
        "profile_after": repr(sys.getprofile()) if options.get("profile") else None,
    }))
    """
)


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A small package under a project root, and the driver beside (not in) the root."""
    root = tmp_path / "project"
    (root / "pkg").mkdir(parents=True)
    (root / "pkg" / "__init__.py").write_text("")
    (root / "pkg" / "calc.py").write_text(CALC)
    (root / "pkg" / "lazy.py").write_text("VALUE = 42\n")
    (tmp_path / "driver.py").write_text(DRIVER)
    return root


def drive(root: Path, core: str | None = None, **options: Any) -> dict[str, Any]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("COV")}
    env["PYTHONPATH"] = os.pathsep.join([str(Path(__file__).parents[3]), env.get("PYTHONPATH", "")])
    if core:
        env["COVERAGE_CORE"] = core
    done = subprocess.run(
        [sys.executable, str(root.parent / "driver.py"), str(root), json.dumps(options)],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.splitlines()[-1])  # type: ignore[no-any-return]


def qualified(expected: set[str]) -> set[str]:
    """Before 3.11 code objects carry their name only, not their qualified name."""
    if sys.version_info >= (3, 11):
        return expected
    return {f"{n.split('::')[0]}::{n.rsplit('.', 1)[-1].split('::')[-1]}" for n in expected}


def names(entries: list[list[Any]]) -> set[str]:
    return {f"{path}::{qualname}" for path, _, qualname in entries}


CORES = ["sysmon", "ctrace"] if sys.version_info >= (3, 12) else [None]


@pytest.mark.parametrize("core", CORES)
def test_each_scope_gets_the_code_it_entered(project: Path, core: str | None) -> None:
    """Every test scope lists the project code objects it entered, each time it enters them."""
    seen = drive(project, core, record=True)
    scopes = {name: names(entries) for name, entries in seen["scopes"].items()}
    assert scopes["add"] == {"pkg/calc.py::add"}
    assert scopes["mul"] == {"pkg/calc.py::mul"}
    # Entered again in a later test: the recorder was re-armed between tests.
    assert scopes["add_again"] == {"pkg/calc.py::add"}
    assert scopes["mul_again"] == {"pkg/calc.py::mul"}
    assert scopes["nothing"] == set()
    # A checkpoint splits a test's scope; the next test is re-armed for both pieces.
    assert scopes["before_checkpoint"] == {"pkg/calc.py::add"}
    assert scopes["checkpointed"] == {"pkg/calc.py::mul"}
    assert scopes["add_after_checkpoint"] == {"pkg/calc.py::add"}
    # Nested functions and generator expressions are code objects of their own;
    # blocks.py charges the generator expression to outer.
    assert scopes["nested"] == qualified(
        {
            "pkg/calc.py::outer",
            "pkg/calc.py::outer.<locals>.inner",
            "pkg/calc.py::outer.<locals>.<genexpr>",
        }
    )
    assert scopes["method"] == qualified({"pkg/calc.py::Box.size"})
    # Code another thread runs during the test is the test's.
    assert "pkg/calc.py::mul" in scopes["thread"]
    # A module imported during a test: its top level is the test's.
    assert "pkg/lazy.py::<module>" in scopes["lazy_import"]
    # The import of calc happened before any test: outside tests.
    assert ["pkg/calc.py", "<module>"] in seen["outside"]
    assert ["pkg/calc.py", "Box"] in seen["outside"]


@pytest.mark.parametrize("core", CORES)
def test_coverage_figures_do_not_change(project: Path, core: str | None) -> None:
    """coverage.py measures the same lines with and without the recorder running."""
    plain = drive(project, core)
    recorded = drive(project, core, record=True)
    assert plain["lines"] == recorded["lines"]
    assert plain["lines"]["pkg/calc.py"]  # coverage measured something
    assert plain["core"] == recorded["core"]
    if core:
        assert core.lower() in str(recorded["core"]).lower()


@pytest.mark.skipif(sys.version_info < (3, 12), reason="sys.monitoring is 3.12+")
def test_one_free_tool_id_falls_back_to_restarting_events(project: Path) -> None:
    """With one of UETF's ids taken, it records with the other and restart_events."""
    plain = drive(project, "sysmon")
    seen = drive(project, "sysmon", record=True, occupy=[3])
    assert seen["mechanism"] == "sys.monitoring tool 4 (restart_events)"
    assert names(seen["scopes"]["add_again"]) == {"pkg/calc.py::add"}
    assert names(seen["scopes"]["mul_again"]) == {"pkg/calc.py::mul"}
    assert seen["lines"] == plain["lines"]


@pytest.mark.skipif(sys.version_info < (3, 12), reason="sys.monitoring is 3.12+")
def test_no_free_tool_id_is_refused_with_one_line(project: Path) -> None:
    """Both ids taken: RecorderUnavailable names them and who holds them."""
    seen = drive(project, "sysmon", record=True, occupy=[3, 4])
    assert seen["unavailable"].startswith("uetf: cannot record test dependencies")
    assert "4 (someone else)" in seen["unavailable"]
    assert "\n" not in seen["unavailable"]


@pytest.mark.skipif(sys.version_info < (3, 12), reason="sys.monitoring is 3.12+")
def test_uses_two_tool_ids_beside_coverage(project: Path) -> None:
    """Normally the recorder takes ids 4 and 3, and coverage.py keeps its own."""
    seen = drive(project, "sysmon", record=True)
    assert seen["mechanism"] == "sys.monitoring tools 4, 3"


@pytest.mark.skipif(sys.version_info >= (3, 12), reason="the profile slot is the pre-3.12 path")
def test_a_python_profile_function_is_chained(project: Path) -> None:
    """A profile function set before keeps receiving events, and is put back at stop."""
    seen = drive(project, record=True, profile="python")
    assert seen["mechanism"] == "sys.setprofile"
    assert names(seen["scopes"]["add_again"]) == {"pkg/calc.py::add"}
    assert seen["previous_calls"] > 100
    assert "lambda" in seen["profile_after"]


@pytest.mark.skipif(sys.version_info >= (3, 12), reason="the profile slot is the pre-3.12 path")
def test_a_c_profiler_is_not_displaced(project: Path) -> None:
    """cProfile running: the recorder refuses to start, in one line."""
    seen = drive(project, record=True, profile="cprofile")
    assert seen["unavailable"].startswith("uetf: cannot record test dependencies: a profiler")


@pytest.mark.skipif(sys.version_info >= (3, 12), reason="the profile slot is the pre-3.12 path")
def test_the_c_profiler_is_the_default_before_312(project: Path) -> None:
    """With the profile slot free, the standard library's C profiler records."""
    assert drive(project, record=True)["mechanism"] == "_lsprof (sys.setprofile)"
