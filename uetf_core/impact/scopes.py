"""What a dependency recorder gives and shares: the code a scope entered, reduced to
the project's files, and the one error a recorder raises.

:mod:`uetf_core.impact.recorder` chooses a recorder; its two kinds
(:mod:`uetf_core.impact.sysmon`, :mod:`uetf_core.impact.profiler`) build on these.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from types import CodeType
from typing import Protocol

from uetf_core.errors import UetfError
from uetf_core.exitcodes import ExitCode
from uetf_core.impact.project import ProjectFiles


class RecorderUnavailable(UetfError):
    """Dependencies cannot be recorded here (every tool id taken, another profiler set).

    A run is expected to warn and go on without dependency data (its tests are then
    always selected), not to stop; the exit code applies only where it cannot.
    """

    slug = "impact-recorder"
    exit_code = ExitCode.USAGE_ERROR


@dataclass(frozen=True, order=True)
class EnteredCode:
    """One code object a scope entered: its file (relative to the root), first line, name.

    ``first_line`` is ``co_firstlineno`` (a decorated function's first decorator);
    ``qualname`` is ``co_qualname`` (``co_name`` before 3.11). Lambdas and
    comprehensions count toward the block that contains them (see blocks.py).
    """

    path: str
    first_line: int
    qualname: str


@dataclass(frozen=True)
class ScopeDependencies:
    """What one scope (a test, or the time outside tests) entered, in project files."""

    entered: frozenset[EnteredCode]

    def paths(self) -> frozenset[str]:
        """The project files the scope entered code in."""
        return frozenset(e.path for e in self.entered)


class DependencyRecorder(Protocol):
    """Start once, then ``begin_test``/``end_test`` around every test; stop at the end."""

    @property
    def mechanism(self) -> str:
        """How it records ("sys.monitoring tool 4", "sys.setprofile"), for reports."""

    def start(self) -> None: ...

    def begin_test(self) -> None:
        """Start a test's scope; what ran since the last scope counts as outside tests."""

    def checkpoint(self) -> ScopeDependencies:
        """What the test entered since it began or since the last checkpoint.

        Nothing is re-armed, so a code object entered before the checkpoint and again
        after it may be reported in one piece only (on 3.12+) or in both: the test's
        dependencies are the union of its pieces. The plugin brackets the setup of a fixture
        shared between tests with checkpoints, so the fixture's dependencies can
        be given to every test that uses it, not only to the first.
        """

    def end_test(self) -> ScopeDependencies:
        """End the test's scope and return what it entered since its last checkpoint."""

    def outside_tests(self) -> ScopeDependencies:
        """Everything entered outside any test so far (imports at collection, hooks)."""

    def stop(self) -> None: ...


def _qualname(code: CodeType) -> str:
    return getattr(code, "co_qualname", code.co_name)


class Reducer:
    """Turns the code objects a scope entered into project :class:`EnteredCode` values.

    Each code object is resolved once: the answer is cached by ``id`` with a
    reference to the code, so the id cannot be reused while cached. Code outside
    the project resolves to None and is skipped.
    """

    def __init__(self, project: ProjectFiles) -> None:
        self.project = project
        self._known: dict[int, tuple[CodeType, EnteredCode | None]] = {}

    def reduce(self, codes: Iterable[CodeType]) -> frozenset[EnteredCode]:
        known = self._known
        found = set()
        for code in codes:
            hit = known.get(id(code))
            if hit is None:
                hit = known[id(code)] = (code, self._resolve(code))
            if hit[1] is not None:
                found.add(hit[1])
        return frozenset(found)

    def _resolve(self, code: CodeType) -> EnteredCode | None:
        path = self.project.relative(code.co_filename)
        if path is None:
            return None
        return EnteredCode(path, code.co_firstlineno, _qualname(code))
