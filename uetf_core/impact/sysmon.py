"""The recorder on Python 3.12+: ``sys.monitoring`` tools of UETF's own.

Only ``PY_START`` is used, and each code object costs one callback per test
however often it runs. Two tool ids when two are free (the usual case):

- a *discovery* tool has ``PY_START`` on globally; the first time any code object
  starts, it decides whether the code is the project's, arms the *recording*
  tool's local ``PY_START`` on project code, and returns ``DISABLE`` for good:
  library and standard-library code never calls UETF again;
- the *recording* tool's callback appends the code object to the current scope
  and returns ``DISABLE``; ``end_test`` re-arms exactly the code objects the
  test entered, by turning the tool's local events on that code off and on
  (``begin_test`` those entered between tests).

Measured on a suite of thousands of small tests under coverage.py
(benchmarks/impact_overhead.py), re-arming with ``sys.monitoring.restart_events()``
instead costs more than half the coverage run again: it re-arms every tool's
disabled events, coverage.py's included, so both tools see every code object of
pytest's own machinery again in every test. It is kept as the fallback when only
one tool id is free.

coverage.py's tool (``COVERAGE_ID``, 1, or the next free id) is left alone:
events are delivered per tool, and disabling or re-arming UETF's tools' events
does not change coverage.py's. Tests check its figures are unchanged.
"""

from __future__ import annotations

import sys
from types import CodeType
from typing import Any

from uetf_core.impact.project import ProjectFiles
from uetf_core.impact.scopes import RecorderUnavailable, Reducer, ScopeDependencies

# By convention 0 is a debugger's, 1 coverage.py's, 2 a profiler's and 5 an
# optimizer's; 3 and 4 are free. coverage.py moves up from 1 when 1 is taken, so
# UETF takes 4 first (recording), then 3 (discovery): the last ones it would reach.
TOOL_IDS = (4, 3)
TOOL_NAME = "uetf"

_monitoring: Any = getattr(sys, "monitoring", None)


class SysmonRecorder:  # pragma: no cover - Python 3.12+, where its tests run
    """Records the code objects each test enters with ``sys.monitoring`` tool ids."""

    def __init__(self, project: ProjectFiles, tool_ids: tuple[int, ...] = TOOL_IDS) -> None:
        if _monitoring is None:
            raise RecorderUnavailable("sys.monitoring needs Python 3.12 or newer")
        self._project = project
        self._reducer = Reducer(project)
        self._tool_ids = tool_ids
        self.recording_id: int | None = None
        self.discovery_id: int | None = None
        self._entered: list[CodeType] = []
        self._last_test: list[CodeType] = []
        # By id: hashing a code object hashes its constants, nested code included.
        self._outside: dict[int, CodeType] = {}

    @property
    def mechanism(self) -> str:
        if self.discovery_id is None:
            return f"sys.monitoring tool {self.recording_id} (restart_events)"
        return f"sys.monitoring tools {self.recording_id}, {self.discovery_id}"

    def start(self) -> None:
        """Claim free tool ids and enable PY_START; refuse clearly when none is free."""
        claimed = self._claim()
        if not claimed:
            taken = ", ".join(f"{i} ({_monitoring.get_tool(i)})" for i in self._tool_ids)
            raise RecorderUnavailable(
                f"cannot record test dependencies: sys.monitoring tool ids {taken} are in use; "
                "run without the tool holding them or without impact recording"
            )
        self.recording_id = claimed[0]
        self.discovery_id = claimed[1] if len(claimed) > 1 else None
        py_start = _monitoring.events.PY_START
        disable = _monitoring.DISABLE
        # Bound once: these run on the hot path.
        append = self._entered.append
        recording_id = self.recording_id

        def on_start(code: CodeType, offset: int) -> object:
            append(code)
            return disable

        _monitoring.register_callback(recording_id, py_start, on_start)
        if self.discovery_id is None:
            _monitoring.set_events(recording_id, py_start)
            return
        relative = self._project.relative
        set_local_events = _monitoring.set_local_events

        def on_first_start(code: CodeType, offset: int) -> object:
            if relative(code.co_filename) is not None:
                # This first run is recorded here; the recording tool sees the next ones.
                append(code)
                set_local_events(recording_id, code, py_start)
            return disable

        _monitoring.register_callback(self.discovery_id, py_start, on_first_start)
        _monitoring.set_events(self.discovery_id, py_start)

    def _claim(self) -> list[int]:
        claimed = []
        for tool_id in self._tool_ids:
            if _monitoring.get_tool(tool_id) is not None:
                continue
            try:
                _monitoring.use_tool_id(tool_id, TOOL_NAME)
            except ValueError:  # claimed between the check and the claim (another thread)
                continue
            claimed.append(tool_id)
        return claimed

    def begin_test(self) -> None:
        outside = self._take()
        for code in outside:
            self._outside[id(code)] = code
        if self.discovery_id is None:
            _monitoring.restart_events()
        else:
            self._rearm([*self._last_test, *outside])
        self._last_test.clear()

    def checkpoint(self) -> ScopeDependencies:
        codes = self._take()
        self._last_test.extend(codes)
        return ScopeDependencies(self._reducer.reduce(codes))

    def end_test(self) -> ScopeDependencies:
        found = self.checkpoint()
        if self.discovery_id is not None:
            # Re-armed now, so code run between tests is seen outside them too.
            self._rearm(self._last_test)
            self._last_test.clear()
        return found

    def _rearm(self, codes: list[CodeType]) -> None:
        """Local PY_START off and on again: clears the DISABLE of these code objects only."""
        py_start = _monitoring.events.PY_START
        set_local_events = _monitoring.set_local_events
        for code in {id(code): code for code in codes}.values():
            set_local_events(self.recording_id, code, 0)
            set_local_events(self.recording_id, code, py_start)

    def _take(self) -> list[CodeType]:
        """The codes entered so far; one another thread appends meanwhile is kept for later."""
        codes = self._entered[:]
        del self._entered[: len(codes)]
        return codes

    def outside_tests(self) -> ScopeDependencies:
        return ScopeDependencies(self._reducer.reduce([*self._outside.values(), *self._entered]))

    def stop(self) -> None:
        """Turn events off and free the tool ids (safe to call twice)."""
        for tool_id in (self.recording_id, self.discovery_id):
            if tool_id is None:
                continue
            _monitoring.set_events(tool_id, 0)
            _monitoring.register_callback(tool_id, _monitoring.events.PY_START, None)
            _monitoring.free_tool_id(tool_id)
        self.recording_id = self.discovery_id = None
