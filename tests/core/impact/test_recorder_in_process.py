"""The recorders in this test process, beside whatever measures it (coverage.py under UETF).

test_recorder.py checks them against a coverage.py measurement in fresh
interpreters; these check the same behaviour where the suite's own measurement runs.
"""

from __future__ import annotations

import importlib.util
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from types import ModuleType

import pytest

from uetf_core.impact import DependencyRecorder, ProjectFiles, RecorderUnavailable, new_recorder
from uetf_core.impact.profiler import LsprofRecorder, ProfileRecorder
from uetf_core.impact.sysmon import SysmonRecorder

CODE = """\
def add(a, b):
    return a + b


def twice(x):
    return add(x, x)


class Box:
    def size(self):
        return 3
"""


@pytest.fixture
def module(tmp_path: Path) -> ModuleType:
    """A module of a project rooted at tmp_path/project, loaded from its file."""
    root = tmp_path / "project"
    root.mkdir()
    (root / "calc.py").write_text(CODE)
    spec = importlib.util.spec_from_file_location(f"calc_{id(tmp_path)}", root / "calc.py")
    assert spec is not None and spec.loader is not None
    loaded = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(loaded)
    return loaded


def project_of(module: ModuleType) -> ProjectFiles:
    return ProjectFiles(Path(str(module.__file__)).parent)


def names(recorder: DependencyRecorder, run: Callable[[], object]) -> set[str]:
    recorder.begin_test()
    run()
    return {e.qualname.rsplit(".", 1)[-1] for e in recorder.end_test().entered}


def kinds() -> Iterator[str]:
    if sys.version_info >= (3, 12):
        yield "sysmon"
        yield "sysmon-one-id"
    else:
        yield "lsprof"
        yield "python"


def make(kind: str, project: ProjectFiles) -> DependencyRecorder:
    if kind == "sysmon":
        return SysmonRecorder(project)
    if kind == "sysmon-one-id":
        return SysmonRecorder(project, (4,))
    if kind == "lsprof":
        return LsprofRecorder(project)
    return ProfileRecorder(project)


@pytest.fixture
def free_profile_slot() -> Iterator[None]:
    """The profile slot as the test found it, restored after."""
    before = sys.getprofile()
    if before is not None and sys.version_info < (3, 12):
        pytest.skip("a profiler is set in this process")
    yield
    sys.setprofile(before)


@pytest.mark.parametrize("kind", list(kinds()))
def test_records_each_test_scope(module: ModuleType, kind: str, free_profile_slot: None) -> None:
    """Entered code per scope, re-armed between scopes, checkpoints, threads, then stopped."""
    recorder = make(kind, project_of(module))
    recorder.start()
    try:
        assert names(recorder, lambda: module.add(1, 2)) == {"add"}
        assert names(recorder, lambda: module.twice(2)) == {"twice", "add"}
        assert names(recorder, lambda: [module.add(i, i) for i in range(3)]) == {"add"}
        assert names(recorder, lambda: None) == set()
        recorder.begin_test()
        module.add(1, 1)
        first = {e.qualname for e in recorder.checkpoint().entered}
        module.Box().size()
        rest = {e.qualname.rsplit(".", 1)[-1] for e in recorder.end_test().entered}
        assert first == {"add"}
        assert "size" in rest

        def in_thread() -> None:
            worker = threading.Thread(target=module.twice, args=(1,))
            worker.start()
            worker.join()

        assert {"twice", "add"} <= names(recorder, in_thread)
        module.add(0, 0)  # outside any test
        outside = {e.qualname for e in recorder.outside_tests().entered}
        # With one tool id, code re-arms as the next test begins: not seen in between.
        assert ("add" in outside) is (kind != "sysmon-one-id")
        assert recorder.mechanism
    finally:
        recorder.stop()
        recorder.stop()
    assert names(recorder, lambda: module.add(1, 2)) == set()  # stopped: nothing recorded


@pytest.mark.skipif(sys.version_info >= (3, 12), reason="the profile slot is the pre-3.12 path")
def test_new_recorder_picks_the_c_profiler_or_chains(
    module: ModuleType, free_profile_slot: None
) -> None:
    """A free slot gets _lsprof; a Python profile function set before is chained."""
    project = project_of(module)
    assert isinstance(new_recorder(project), LsprofRecorder)
    events: list[str] = []
    sys.setprofile(lambda frame, event, arg: events.append(event))
    chained = new_recorder(project)
    assert isinstance(chained, ProfileRecorder)
    chained.start()
    try:
        assert names(chained, lambda: module.add(1, 2)) == {"add"}
    finally:
        chained.stop()
    assert "call" in events
    with pytest.raises(RecorderUnavailable, match="a profiler"):
        LsprofRecorder(project).start()


@pytest.mark.skipif(sys.version_info >= (3, 12), reason="the profile slot is the pre-3.12 path")
def test_a_c_profiler_is_refused(module: ModuleType, free_profile_slot: None) -> None:
    """cProfile in the slot: neither profile recorder displaces it."""
    import cProfile

    profiler = cProfile.Profile()
    profiler.enable()
    try:
        with pytest.raises(RecorderUnavailable, match=r"a profiler \(Profile\)"):
            ProfileRecorder(project_of(module)).start()
    finally:
        profiler.disable()


@pytest.mark.skipif(sys.version_info >= (3, 12), reason="before 3.12 only")
def test_sys_monitoring_recorder_needs_312(tmp_path: Path) -> None:
    """Before 3.12 the sys.monitoring recorder says it cannot run, in one line."""
    with pytest.raises(RecorderUnavailable, match=r"3\.12"):
        SysmonRecorder(ProjectFiles(tmp_path))


@pytest.mark.skipif(sys.version_info < (3, 12), reason="sys.monitoring is 3.12+")
def test_new_recorder_picks_sys_monitoring(tmp_path: Path) -> None:
    """On 3.12+ the recorder is a sys.monitoring tool."""
    assert isinstance(new_recorder(ProjectFiles(tmp_path)), SysmonRecorder)
