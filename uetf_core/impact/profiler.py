"""The recorders before Python 3.12: the profile slot (``sys.setprofile``).

coverage.py measures with ``sys.settrace`` (its C tracer) there; the profile slot
is a separate one, so the two do not displace each other. The profile function
is called on every call and return of every function, so what runs there decides
the cost. Measured under coverage.py on a suite of 2,000 small tests (3.11):

- the standard library's C profiler (``_lsprof``, cProfile's core) in the slot,
  read and cleared once per test: about a sixth more run time;
- a Python profile function: about half more;
- coverage.py's own per-test contexts (``dynamic_context = test_function``),
  which would give the same map from its C tracer: about 45% more, and only
  for the measured source.

So :class:`LsprofRecorder` is the default. ``_lsprof`` profiles the thread that
starts it; threads started later get a Python profile function (through
``threading.setprofile``) that records into the same scope. When a Python
profile function is already set, :class:`ProfileRecorder` chains it; a C-level
profiler already set cannot be chained, and both refuse to start rather than
displace it.
"""

from __future__ import annotations

import _lsprof
import sys
import threading
from types import CodeType, FrameType
from typing import Any

from uetf_core.impact.project import ProjectFiles
from uetf_core.impact.scopes import RecorderUnavailable, Reducer, ScopeDependencies

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
        # The hooks run as the profile function, where coverage.py's tracer is off:
        # they are measured by what they record (tests), not by coverage.

        if previous is None:

            def hook(frame: FrameType, event: str, arg: object) -> None:  # pragma: no cover
                if event == "call":
                    code = frame.f_code
                    entered[id(code)] = code

        else:
            chained: ProfileFunction = previous

            def hook(frame: FrameType, event: str, arg: object) -> None:  # pragma: no cover
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

    def checkpoint(self) -> ScopeDependencies:
        codes = list(self._entered.values())
        self._entered.clear()
        return ScopeDependencies(self._reducer.reduce(codes))

    def end_test(self) -> ScopeDependencies:
        return self.checkpoint()

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


class LsprofRecorder:
    """Records the code objects each test enters with the standard library's C profiler."""

    mechanism = "_lsprof (sys.setprofile)"

    def __init__(self, project: ProjectFiles) -> None:
        self._reducer = Reducer(project)
        self._profiler = _lsprof.Profiler(subcalls=False, builtins=False)
        self._threads: dict[int, CodeType] = {}  # entered in threads started later
        self._outside: dict[int, CodeType] = {}
        self._started = False

    def start(self) -> None:
        previous = sys.getprofile()
        if previous is not None:
            raise RecorderUnavailable(
                f"cannot record test dependencies: a profiler ({type(previous).__name__}) is "
                "already set; run without it or without impact recording"
            )
        threads = self._threads

        def in_thread(frame: FrameType, event: str, arg: object) -> None:  # pragma: no cover
            if event == "call":
                code = frame.f_code
                threads[id(code)] = code

        threading.setprofile(in_thread)
        self._profiler.enable(subcalls=False, builtins=False)
        self._started = True

    def _take(self) -> list[CodeType]:
        codes = [entry.code for entry in self._profiler.getstats()]
        self._profiler.clear()
        codes.extend(self._threads.values())
        self._threads.clear()
        # Entries of builtins carry a string; builtins=False keeps them out, but be sure.
        return [code for code in codes if isinstance(code, CodeType)]

    def begin_test(self) -> None:
        for code in self._take():
            self._outside[id(code)] = code

    def checkpoint(self) -> ScopeDependencies:
        return ScopeDependencies(self._reducer.reduce(self._take()))

    def end_test(self) -> ScopeDependencies:
        return self.checkpoint()

    def outside_tests(self) -> ScopeDependencies:
        self.begin_test()
        return ScopeDependencies(self._reducer.reduce(self._outside.values()))

    def stop(self) -> None:
        """Stop profiling (safe to call twice)."""
        if not self._started:
            return
        self._profiler.disable()
        threading.setprofile(None)
        self.begin_test()
        self._started = False
