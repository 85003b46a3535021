"""Per-test dependency recording: which of the project's code objects each test entered.

The recorder runs in the same process as coverage.py's measurement and never
touches it. On Python 3.12+ it is a ``sys.monitoring`` tool of its own
(:mod:`uetf_core.impact.sysmon`); before 3.12 the C profiler of the standard
library in the profile slot, or a chained profile function
(:mod:`uetf_core.impact.profiler`). Both give the same thing: for each scope (a
test, or the time outside tests such as collection), the set of code objects
entered, reduced at the end of the scope to :class:`EnteredCode` in project files.

The hot path (a code object entered) appends or stores one reference; the
reduction to project files happens once per scope, in :meth:`end_test`.
"""

from __future__ import annotations

import sys

from uetf_core.impact.project import ProjectFiles
from uetf_core.impact.scopes import (
    DependencyRecorder,
    EnteredCode,
    RecorderUnavailable,
    Reducer,
    ScopeDependencies,
)

__all__ = [
    "DependencyRecorder",
    "EnteredCode",
    "RecorderUnavailable",
    "Reducer",
    "ScopeDependencies",
    "new_recorder",
]


def new_recorder(project: ProjectFiles) -> DependencyRecorder:
    """The cheapest recorder this interpreter offers (not started)."""
    if sys.version_info >= (3, 12):  # pragma: no cover - Python 3.12+, tested there
        from uetf_core.impact.sysmon import SysmonRecorder

        return SysmonRecorder(project)
    from uetf_core.impact.profiler import LsprofRecorder, ProfileRecorder

    if sys.getprofile() is None:
        return LsprofRecorder(project)
    return ProfileRecorder(project)
