"""Translating pytest's reports into UETF's execution records and error captures."""

from __future__ import annotations

import re
import time

import pytest

from uetf_core.lazy_pattern import LazyPattern
from uetf_core.records import AnyRecord, ErrorCapture, ExecutionRecord, PhaseResult, storable

Phase = pytest.TestReport | None  # a test's setup, call or teardown report, if it came

_EXC_TYPE = LazyPattern(r"^([A-Za-z_][\w.]*)(?::\s?(.*))?$", re.DOTALL)


def error_capture(
    report: pytest.TestReport | pytest.CollectReport, attempt: int, phase: str
) -> ErrorCapture:
    """The error capture of a failed report: type, message, place and traceback text."""
    longrepr = report.longrepr
    crash = getattr(longrepr, "reprcrash", None)
    text = report.longreprtext or ""
    if crash is not None:
        first = crash.message or ""
        path, lineno = crash.path, crash.lineno
    else:
        lines = [line for line in text.splitlines() if line.strip()]
        first = (lines[-1] if lines else "").removeprefix("E   ").strip()
        path, lineno = None, None
    match = _EXC_TYPE.match(first.strip())
    if match and match.group(2) is not None:
        exc_type, message = match.group(1), match.group(2)
    elif match:
        exc_type, message = match.group(1), ""
    elif first.startswith("assert "):
        # pytest shortens a rewritten assertion's crash line to the bare assert.
        exc_type, message = "AssertionError", first
    else:
        exc_type, message = "Error", first
    context = getattr(report, "context", None)  # a subtest's: its message and parameters
    if context is not None:
        message = f"subtest {subtest_description(report, context)}: {message}"
    return ErrorCapture.bounded(
        report.nodeid, attempt, phase, exc_type, message, path, lineno, text
    )


def subtest_description(report: object, context: object) -> str:
    """A subtest as pytest names it in its summary: ``[message] (key=value, ...)``."""
    # pytest's own wording where it has one (its parameters are repr'd before or
    # after they travel from an xdist worker, depending on pytest's version).
    describe = getattr(report, "_sub_test_description", None)
    if callable(describe):
        try:
            return str(describe())
        except Exception:  # a private method whose shape may change: fall back
            pass
    msg = getattr(context, "msg", None)
    kwargs = getattr(context, "kwargs", None) or {}
    parts = [f"[{msg}]"] if msg is not None else []
    if kwargs:
        parts.append("(" + ", ".join(f"{k}={v!r}" for k, v in kwargs.items()) + ")")
    return " ".join(parts) or "(<subtest>)"


def skip_reason(report: pytest.TestReport) -> str | None:
    """The reason given to ``pytest.skip`` or a skip marker, without its prefix."""
    longrepr = report.longrepr
    if isinstance(longrepr, tuple) and len(longrepr) == 3:
        return str(longrepr[2]).removeprefix("Skipped: ")
    return None


def record_of(
    setup: Phase, call: Phase, teardown: Phase, attempt: int, worker: str, cpu: float | None = None
) -> AnyRecord:
    """The record of one test attempt; a ``PassedRow`` when its three phases passed."""
    if (
        # Most tests of most runs: three phases, each passed, not an xpass.
        setup is not None
        and call is not None
        and teardown is not None
        and setup.outcome == call.outcome == teardown.outcome == "passed"
        and not hasattr(call, "wasxfail")
    ):
        return (
            setup.nodeid,
            attempt,
            worker,
            setup.duration,
            call.duration,
            teardown.duration,
            setup.start,
            teardown.stop,
            # _microseconds, spelled out: this runs for every test
            None if cpu is None else int(cpu * 1_000_000 + 0.5) / 1_000_000,
        )
    return build_record(setup, call, teardown, attempt, worker, cpu)


def build_record(
    setup: Phase,
    call: Phase,
    teardown: Phase,
    attempt: int,
    worker: str,
    cpu: float | None = None,
    failed_subtest: Phase = None,
) -> ExecutionRecord:
    """One execution record from the (up to) three reports of one test attempt.

    ``failed_subtest``: the first failed subtest's report, if any (unittest's
    ``subTest`` or pytest's ``subtests`` fixture): the test failed, with that error,
    whatever its own call report says (for ``subTest`` it says passed).
    """
    first = setup or call or teardown
    last = teardown or call or setup
    assert first is not None and last is not None
    outcome = "passed"
    failed_phase = None
    skip = xfail = None
    if setup is not None and setup.outcome != "passed":
        if setup.failed:
            outcome, failed_phase = "error", setup
        else:
            outcome, skip = "skipped", skip_reason(setup)
            if hasattr(setup, "wasxfail"):
                outcome, skip, xfail = "xfailed", None, setup.wasxfail
    elif call is not None:
        wasxfail = getattr(call, "wasxfail", None)
        if str(call.outcome) == "rerun":  # pytest-rerunfailures' own outcome
            outcome, failed_phase = "rerun", call
        elif call.failed:
            outcome, failed_phase = "failed", call
        elif call.skipped:
            if wasxfail is not None:
                outcome, xfail = "xfailed", wasxfail
            else:
                outcome, skip = "skipped", skip_reason(call)
        elif wasxfail is not None:
            outcome, xfail = "xpassed", wasxfail
    if failed_subtest is not None and outcome in ("passed", "failed"):
        outcome, failed_phase = "failed", failed_subtest
    if teardown is not None and teardown.failed and failed_phase is None:
        outcome, failed_phase = "error", teardown
    error = None
    if failed_phase is not None:
        error = error_capture(failed_phase, attempt, failed_phase.when or "call")
    # Spelled out rather than looped: this runs once per test.
    duration = 0.0
    setup_phase = call_phase = teardown_phase = None
    if setup is not None:
        setup_phase = PhaseResult(_phase_outcome(setup), setup.duration)
        duration += setup.duration
    if call is not None:
        call_outcome = "failed" if failed_subtest is not None else _phase_outcome(call)
        call_phase = PhaseResult(call_outcome, call.duration)
        duration += call.duration
    if teardown is not None:
        teardown_phase = PhaseResult(_phase_outcome(teardown), teardown.duration)
        duration += teardown.duration
    return ExecutionRecord(
        first.nodeid,
        attempt,
        worker,
        outcome,
        setup_phase,
        call_phase,
        teardown_phase,
        duration,
        first.start,
        last.stop,
        skip and storable(skip),
        storable(xfail) if xfail else None,
        error,
        _microseconds(cpu),
    )


def _microseconds(seconds: float | None) -> float | None:
    """Seconds to the microsecond; arithmetic, where round(x, 6) formats a string per test."""
    return None if seconds is None else int(seconds * 1_000_000 + 0.5) / 1_000_000


def _phase_outcome(report: pytest.TestReport) -> str:
    # pytest-rerunfailures marks a failed attempt "rerun"; in the phase it failed.
    outcome: str = report.outcome
    return "failed" if outcome == "rerun" else outcome


def crash_record(report: pytest.TestReport, attempt: int, worker: str) -> ExecutionRecord:
    """The record of a test whose worker died under it (xdist reports it with when='???')."""
    error = error_capture(report, attempt, "call")
    return ExecutionRecord(
        node_id=report.nodeid,
        attempt=attempt,
        worker=worker,
        # Failed, as pytest's summary line counts it; the worker's crash is recorded with it.
        outcome="failed",
        setup=None,
        call=PhaseResult("failed", report.duration),
        teardown=None,
        duration=report.duration,
        # xdist builds this report itself, with no timestamps: use "now".
        started_at=getattr(report, "start", 0.0) or time.time(),
        finished_at=getattr(report, "stop", 0.0) or time.time(),
        error=error,
    )


def collection_skip_record(report: pytest.CollectReport, worker: str) -> ExecutionRecord:
    """The record of a module skipped as it was collected (``pytest.skip(...,
    allow_module_level=True)``, ``pytest.importorskip``): one skipped entry under the
    module's node id, as pytest's summary line ("1 skipped") and its JUnit XML count it."""
    now = time.time()
    reason = skip_reason(report)  # type: ignore[arg-type]  # the same (path, line, reason)
    return ExecutionRecord(
        node_id=report.nodeid,
        attempt=1,
        worker=worker,
        outcome="skipped",
        setup=PhaseResult("skipped", 0.0),
        call=None,
        teardown=None,
        duration=0.0,
        started_at=now,
        finished_at=now,
        skip_reason=reason and storable(reason),
    )
