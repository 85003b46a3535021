"""The recorder before Python 3.12: a ``sys.setprofile`` hook, chained.

coverage.py measures with ``sys.settrace`` (its C tracer) there; the profile hook
is a separate slot, so the two do not displace each other. The hook is called on
every call and return, so it does the least possible: on a ``call`` it stores the
code object in a dict keyed by ``id`` (cheaper than hashing a code object). A
profile function set before the recorder starts is called after UETF's, with the
same arguments; a C-level profiler (cProfile) cannot be chained from Python, and
the recorder then refuses to start rather than displace it.
"""

from __future__ import annotations

import sys
import threading
from types import CodeType, FrameType
from typing import Any

from uetf_core.impact.project import ProjectFiles
from uetf_core.impact.recorder import RecorderUnavailable, Reducer, ScopeDependencies

ProfileFunction = Any  # sys.setprofile's own type is private to typeshed


class ProfileRecorder:
    """Records the code objects each test enters with a chained ``sys.setprofile`` hook."""

    mechanism = "sys.setprofile"

    def __init__(self, project: ProjectFiles) -> None:
        self._reducer = Reducer(project)
        self._entered: dict[int, CodeType] = {}
        self._outside: dict[int, CodeType] = {}
        self._previous: ProfileFunction = None
        self._hook: ProfileFunction = None

    def start(self) -> None:
        previous = sys.getprofile()
        if previous is not None and not _is_python_function(previous):
            raise RecorderUnavailable(
                f"cannot record test dependencies: a profiler ({type(previous).__name__}) is "
                "already set; run without it or without impact recording"
            )
        self._previous = previous
        entered = self._entered

        if previous is None:

            def hook(frame: FrameType, event: str, arg: object) -> None:
                if event == "call":
                    code = frame.f_code
                    entered[id(code)] = code

        else:
            chained: ProfileFunction = previous

            def hook(frame: FrameType, event: str, arg: object) -> None:
                if event == "call":
                    code = frame.f_code
                    entered[id(code)] = code
                chained(frame, event, arg)

        self._hook = hook
        sys.setprofile(hook)
        threading.setprofile(hook)

    def begin_test(self) -> None:
        self._outside.update(self._entered)
        self._entered.clear()

    def end_test(self) -> ScopeDependencies:
        codes = list(self._entered.values())
        self._entered.clear()
        return ScopeDependencies(self._reducer.reduce(codes))

    def outside_tests(self) -> ScopeDependencies:
        codes = [*self._outside.values(), *self._entered.values()]
        return ScopeDependencies(self._reducer.reduce(codes))

    def stop(self) -> None:
        """Put back the profile function found at start (safe to call twice)."""
        if self._hook is None:
            return
        self._outside.update(self._entered)
        self._entered.clear()
        if sys.getprofile() is self._hook:
            sys.setprofile(self._previous)
        threading.setprofile(self._previous)
        self._hook = None


def _is_python_function(candidate: object) -> bool:
    return callable(candidate) and hasattr(candidate, "__code__")
