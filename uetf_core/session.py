"""One run from its start to its verdict, driven by whichever front end runs the tests.

The pytest plugin, UETF's own tests and any other front end translate their
events into these calls, in this order: :meth:`RunSession.begin` (open the
ledger, create the run, read the code and the change under test, plan),
:meth:`RunSession.collected`, :meth:`RunSession.start_tests`,
:meth:`RunSession.record` once per test attempt (the only per-test call: an
append and a few dictionary reads), :meth:`RunSession.finish` (coverage, the
verdict, the reports) and :meth:`RunSession.close`. The sequence lives here
once; a front end knows its own events and nothing of the ledger.

A call that cannot go on raises :class:`~uetf_core.errors.UetfError` after
recording what it must; the front end ends the process with the error's line
and exit code.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from time import perf_counter
from typing import TYPE_CHECKING, Any

from uetf_core.config import RunConfig
from uetf_core.errors import ConfigError, UetfError
from uetf_core.events import EventBus
from uetf_core.exitcodes import ExitCode
from uetf_core.gates.catalog import PATCH_GATES
from uetf_core.ledger import open_ledger
from uetf_core.ledger.base import Ledger
from uetf_core.monitor import Progress, RunMonitor
from uetf_core.patch import commit_and_tree_state, detect_patch, patch_from_diff_file
from uetf_core.preflight import check_options
from uetf_core.records import AnyRecord, essentials
from uetf_core.run import CONTROLLER, Outcome, RunRecorder
from uetf_core.states import RunState, WorkerState

if TYPE_CHECKING:
    from uetf_core.measure import Measurement
    from uetf_core.planning import Plan
    from uetf_core.records import ErrorCapture, ExecutionRecord
    from uetf_core.reports import Written

# The tests in flight and their workers, read from the monitor thread.
Running = Callable[[], list[tuple[str, str]]]
# Where a scheduler sent a test: node id, worker, strategy, expected seconds, why, when.
Route = tuple[str, str, str, "float | None", "str | None", float]
BeforeJudging = Callable[[RunRecorder, "dict[str, Any] | None"], "dict[str, Any] | None"]


class RunSession:
    """Records one run in the ledger and judges it: the run's whole sequence, once."""

    def __init__(
        self,
        config: RunConfig,
        invocation_dir: Path,
        measurement: Measurement | None = None,
    ) -> None:
        self.config = config
        self.invocation_dir = invocation_dir  # where relative paths the user typed start
        self.measurement = measurement
        # Subscribe before begin() to hear RunStarted.
        self.bus = EventBus()
        self.recorder: RunRecorder | None = None
        self.outcome: Outcome | None = None
        self.stopped_by: UetfError | None = None  # a ledger error that ended the tests
        self.collection_errors = 0
        self.plan: Plan | None = None
        self.patch: dict[str, Any] | None = None  # the change under test, read at the start
        self.spooled: tuple[str, str] | None = None  # (spool path, why) when the ledger was away
        self.reports: Written | None = None
        self.report_problem: str | None = None
        # Sources that matched no file: said even when no coverage gate judges them.
        self.coverage_problems: tuple[str, ...] = ()
        self.progress = Progress()
        self.partial: str | None = None  # why this run covers part of the suite
        self.monitor: RunMonitor | None = None
        self._routes: list[Route] = []
        # Test impact analysis (uetf_core.impact.run.ImpactRun.finish): what it must
        # store and carry before the gates judge; it returns the coverage, made whole.
        self.before_judging: BeforeJudging | None = None
        # Workers past the move to busy: the per-test path skips the state check.
        self._settled_workers: set[str] = set()

    # -- the start --------------------------------------------------------------

    def begin(
        self,
        suite_key: str | None = None,
        partial: str | None = None,
        also_written: Sequence[str] = (),
    ) -> RunRecorder:
        """Create the run and check everything the options name before any test runs.

        ``suite_key`` identifies the suite's definition (a baseline must share it);
        ``partial`` says why this run covers only part of it (``-k``, node ids);
        ``also_written``: files the test runner writes besides UETF's reports (pytest's
        JUnit XML), which say nothing of the code under test.
        """
        try:
            ledger, self.spooled = _open_or_spool(self.config)
            ledger.reap_abandoned(_host(), _now(), self.config.stale_after)
            recorder = self.recorder = RunRecorder(ledger, self.config, self.bus)
            recorder.start()
            config = self.config
            outputs = [*_report_files(config.reports), *also_written]
            where = self.invocation_dir
            head, branch, tree = commit_and_tree_state(  # one git process
                config.rootdir, [where / path for path in outputs]
            )
            why = ", ".join(r for r in (partial, config.shard and f"shard {config.shard}") if r)
            if why:
                recorder.mark_partial(why)
            self.partial = why or None
            code = {"tree_state": tree, "suite_key": suite_key, "python": _python()}
            try:
                check_options(ledger, config, self.invocation_dir)
                self.patch = _detect_patch(config, self.invocation_dir, recorder)
            except UetfError:
                recorder.set_commit(head, branch, **code)  # what the errored run was to test
                raise
            # The code under test in one write, with the merge-base its change starts from.
            recorder.set_commit(head, branch, merge_base=self._merge_base(head, branch), **code)
            if config.workstream:
                step = (config.phase, recorder.run_id, config.shard, config.depends_on)
                ledger.add_step(config.workstream, *step)
            if config.dist or config.order or config.shard:
                self.plan = _plan(ledger, config)
            recorder.transition(RunState.COLLECTING)
        except UetfError as exc:
            if self.recorder is not None:
                # Errored, with the error's exit status.
                self.recorder.abort(str(exc).removeprefix("uetf: "), int(exc.exit_code))
            raise
        return recorder

    def _merge_base(self, head: str | None, branch: str | None) -> str | None:
        """The merge-base of the run's change: the detected patch's, else looked up
        (a failure is new or pre-existing whatever gates are declared)."""
        if self.patch is not None:
            return self.patch.get("merge_base")
        from uetf_core.merge_base import find_merge_base

        sink = self.recorder.record_tool if self.recorder is not None else None
        return find_merge_base(self.config.rootdir, head, branch, sink=sink)

    def stopped_early(self, why: str) -> None:
        """The session stopped before its last test (``-x``, ``--maxfail``, ``--sw``):
        the run is partial, never a baseline, unless every collected test ran after all."""
        recorder = self.recorder
        if recorder is None or self.finished:
            return
        ran, planned = len(set(self.progress.finished)), len(self.progress.tests)
        if ran < planned:
            stop = f"{why}: {ran} of {planned} ran"
            self.partial = f"{self.partial}, {stop}" if self.partial else stop
            recorder.mark_partial(self.partial)

    def narrowed_nothing(self) -> None:
        """The options that made the run partial took no test away (``-k`` matching
        every test, ``--lf`` with no failure to rerun): the run is whole after all,
        unless it is a shard."""
        recorder = self.recorder
        if recorder is None or self.finished:
            return
        shard = self.config.shard and f"shard {self.config.shard}"
        self.partial = shard or None
        recorder.mark_partial(self.partial)

    # -- collection -------------------------------------------------------------

    def collected(self, node_ids: list[str]) -> None:
        """The run's tasks, in collection order."""
        if self.recorder is None:
            return
        self.progress.tests = node_ids
        try:
            self.recorder.add_tasks(node_ids)
        except UetfError as exc:
            self.stopped_by = exc
            raise

    def scheduled(self, node_ids: Sequence[str]) -> None:
        """The order the plan put the tests in, with each one's priority and reason."""
        assert self.recorder is not None and self.plan is not None
        shard = f"shard {self.config.shard}" if self.config.shard else None
        entries = []
        for position, node_id in enumerate(node_ids):
            priority, reason = self.plan.priority(node_id)
            entries.append((node_id, position, priority, shard, reason))
        self.recorder.ledger.add_schedule(self.recorder.run_id, entries)

    def collection_error(self, error: ErrorCapture) -> None:
        """A file or module that could not be collected."""
        if self.recorder is not None:
            self.collection_errors += 1
            self.recorder.add_error(error)

    def collection_skipped(self, record: ExecutionRecord) -> None:
        """A module that skipped itself as it was collected: a skipped entry of its own,
        outside the collected tests (as pytest counts it: "collected 1 item / 1 skipped")."""
        if self.recorder is not None:
            self.recorder.add_collection_skip(record)

    def route(
        self,
        node_id: str,
        worker: str,
        strategy: str,
        seconds: float | None,
        reason: str | None,
        at: float,
    ) -> None:
        """Where the scheduler sent a test; written with the run's end."""
        self._routes.append((node_id, worker, strategy, seconds, reason, at))

    # -- the tests --------------------------------------------------------------

    def start_tests(
        self,
        running: Running | None = None,
        workers: int = 1,
        alert: Callable[[str], None] | None = None,
    ) -> None:
        """The tests start: the run moves to running and the progress monitor starts.

        ``running`` tells the tests in flight (without it, nothing watches the
        progress); ``alert`` writes a stall to the terminal.
        """
        recorder = self.recorder
        if recorder is None or recorder.state is not RunState.COLLECTING:
            return
        recorder.transition(RunState.RUNNING)
        if running is None:
            return
        recorder.flush()  # the move to running, for `uetf watch`
        config = self.config
        path = config.progress_file
        self.progress.begin()
        self.monitor = RunMonitor(
            recorder.ledger_dsn,
            recorder.run_id,
            self.progress,
            running,
            workers,
            config.progress_interval,
            config.stall_timeout,
            Path(self.invocation_dir, path) if path else None,
            alert,
        )
        self.monitor.start()

    def worker_ready(self, worker_id: str) -> None:
        if self.recorder is not None:
            self.recorder.worker(worker_id, WorkerState.READY)

    def worker_down(
        self,
        worker_id: str,
        error: str | None,
        coverage: bytes | Mapping[str, Any] | None = None,
        peak_rss_mb: float | None = None,
    ) -> None:
        """A worker ended (``error``: why it crashed), handing over its coverage and memory."""
        recorder = self.recorder
        if recorder is None:
            return
        if coverage is not None and self.measurement is not None:
            self.measurement.merge(coverage)
        if peak_rss_mb is not None:
            recorder.add_cost("worker", worker_id, "peak_rss_mb", peak_rss_mb, "MB")
        if error:
            recorder.worker(worker_id, WorkerState.CRASHED, reason=error[:500])
        else:
            recorder.worker(worker_id, WorkerState.STOPPED)

    def record(self, record: AnyRecord) -> None:
        """One test attempt: counted for progress and appended to the batch."""
        recorder = self.recorder
        if recorder is None:
            return
        node_id, worker, outcome, finished_at, error = essentials(record)
        if worker not in self._settled_workers:
            state = recorder.worker_state(worker)
            # A crashed worker's last test is reported after the worker is recorded down.
            if state not in (WorkerState.BUSY, WorkerState.CRASHED, WorkerState.STOPPED):
                recorder.worker(worker, WorkerState.BUSY)
            self._settled_workers.add(worker)
        self.progress.add(node_id, outcome, finished_at)
        if self.monitor is not None and self.monitor.stalls:
            self._drain_stalls()
        try:
            recorder.add_record(record, (worker, error))
        except UetfError as exc:
            self.stopped_by = exc
            raise

    def add_cost(self, scope: str, subject: str, name: str, amount: float, unit: str) -> None:
        """A cost of a test, a worker or the run."""
        if self.recorder is not None:
            self.recorder.add_cost(scope, subject, name, amount, unit)

    def _drain_stalls(self) -> None:
        monitor = self.monitor
        if monitor is None or not monitor.stalls or self.recorder is None:
            return
        stalls, monitor.stalls = monitor.stalls, []
        for stall in stalls:
            self.recorder.note("stall", self.recorder.run_id, **stall)

    # -- the end ----------------------------------------------------------------

    @property
    def finished(self) -> bool:
        """Whether the run has no more to record: never begun, or judged already."""
        recorder = self.recorder
        return recorder is None or recorder.state in (
            RunState.PASSED,
            RunState.FAILED,
            RunState.ERRORED,
        )

    def finish(
        self,
        test_status: int,
        interrupted: bool = False,
        in_flight: Iterable[ExecutionRecord] = (),
        peak_rss_mb: float | None = None,
    ) -> Outcome | None:
        """Judge the run: coverage, gates, final state and exit status; then its reports.

        ``test_status`` is the tests' own exit status; ``in_flight`` the attempts
        that never ended (the run was interrupted mid-test), recorded as errors;
        ``peak_rss_mb`` the memory of the process that ran the session.
        ``None`` when there is nothing to judge. Raises the error that ended the
        run when the process must end with it.
        """
        recorder = self.recorder
        if recorder is None or self.finished:
            return None
        if self.stopped_by is not None:
            self._end_stopped(recorder, self.stopped_by)
            return None
        for record in in_flight:
            recorder.add_record(_interrupted(record) if record.outcome == "passed" else record)
        if self.monitor is not None:
            self.monitor.stop(recorder.ledger)
            self._drain_stalls()
        if self._routes:
            recorder.ledger.add_routing(recorder.run_id, self._routes)
            self._routes = []
        if peak_rss_mb is not None:
            recorder.add_cost("worker", CONTROLLER, "peak_rss_mb", peak_rss_mb, "MB")
        coverage = None
        problem: UetfError | None = None
        try:
            coverage = self._coverage(recorder)
        except UetfError as exc:
            # Finish the run (errored, every record kept), then say what to fix.
            problem, test_status = exc, int(exc.exit_code)
        if self.before_judging is not None and problem is None:
            coverage = self.before_judging(recorder, coverage)
        self.outcome = recorder.finish(
            test_status,
            interrupted=interrupted,
            coverage=coverage,
            patch=self._measured_patch(),
            collection_errors=self.collection_errors,
        )
        if problem is not None:
            raise problem
        if self.config.workstream:
            state = self.outcome.state.value
            recorder.ledger.set_step_state(
                recorder.run_id, state if state in ("passed", "failed") else "errored"
            )
        if self.config.reports:
            self._write_reports(recorder)
        return self.outcome

    def _end_stopped(self, recorder: RunRecorder, error: UetfError) -> None:
        """End a run the ledger stopped (a full disk) with that reason, not as one
        interrupted: the one small write, if the ledger still takes it."""
        from uetf_core.errors import LedgerFullError

        if self.monitor is not None:
            with contextlib.suppress(Exception):
                self.monitor.stop()
        reason = "ledger disk full" if isinstance(error, LedgerFullError) else str(error)
        with contextlib.suppress(UetfError):
            recorder.abort(reason.removeprefix("uetf: "), int(error.exit_code))

    def _coverage(self, recorder: RunRecorder) -> dict[str, Any] | None:
        if self.measurement is None:
            return None
        from uetf_core.measure import coverage_document  # coverage.py only when measuring

        # The ledger keeps each unchanged file's parse, so a repeat run skips it.
        started = perf_counter()
        document = coverage_document(self.measurement.result(store=recorder.ledger))
        self.coverage_problems = tuple(document["problems"])
        # What measuring cost after the tests: combining and analysing the data.
        seconds = round(perf_counter() - started, 6)
        recorder.add_cost("run", recorder.run_id, "coverage_analysis_seconds", seconds, "s")
        return document

    def _measured_patch(self) -> dict[str, Any] | None:
        if self.patch is None:
            return None
        return {**self.patch, "state": "measured" if self.measurement is not None else "detected"}

    def _write_reports(self, recorder: RunRecorder) -> None:
        """The reports the run asked for, from the ledger, as ``uetf report`` would write them."""
        from uetf_core.reports import parse_report_spec, write_reports

        try:
            self.reports = write_reports(
                recorder.ledger,
                recorder.run_id,
                [parse_report_spec(text) for text in self.config.reports],
                self.config.rootdir / ".ledger" / "reports",
            )
        except UetfError as exc:
            # The run is recorded and judged; say what to fix, and fail a run that passed.
            self._report_failed(recorder, str(exc), int(exc.exit_code))
        except Exception as exc:  # a bug in a report: the verdict and the summary still stand
            why = f"internal error writing a report: {type(exc).__name__}: {exc}"
            self._report_failed(recorder, why, int(ExitCode.INTERNAL_ERROR))

    def _report_failed(self, recorder: RunRecorder, why: str, status: int) -> None:
        self.report_problem = f"uetf: {why.removeprefix('uetf: ')}"
        if self.outcome is not None and self.outcome.exit_status == 0:
            recorder.amend_exit_status(status, why.removeprefix("uetf: "))
            self.outcome = self.outcome._replace(exit_status=status)

    def ledger_spooled(self) -> tuple[str, str] | None:
        """(spool path, why) when this run went on in a local spool: at the start or later."""
        return self.spooled or (self.recorder.spooled if self.recorder else None)

    def close(self) -> None:
        """Stop the monitor and the writer; release the ledger."""
        if self.monitor is not None and self.monitor.is_alive():
            self.monitor.stop()
        recorder = self.recorder
        if recorder is None:
            return
        recorder.ledger.close()


def _open_or_spool(config: RunConfig) -> tuple[Ledger, tuple[str, str] | None]:
    """The configured ledger; a spool file (and why) when a ledger server cannot be reached.

    The run's own verdict must not depend on the network: it is recorded and
    judged in the spool, and ``uetf push`` sends it on later.
    """
    from uetf_core.errors import LedgerUnreachableError

    try:
        return open_ledger(config.ledger), None
    except LedgerUnreachableError as exc:
        from uetf_core.ledger import spool_location

        spool = spool_location(config.rootdir)
        return open_ledger(str(spool)), (str(spool), str(exc).removeprefix("uetf: "))


def _plan(ledger: Ledger, config: RunConfig) -> Plan:
    """Durations and outcomes from the ledger, for routing, ordering and sharding."""
    from uetf_core.planning import Plan, parse_shard

    outcomes = ledger.last_outcomes(20) if config.order == "failed-first" else {}
    return Plan.from_history(
        ledger.recent_durations(20, exclude_workstream=config.workstream),
        failed=[n for n, outcome in outcomes.items() if outcome in ("failed", "error")],
        known=ledger.known_tests() if config.order == "new-first" else (),
        order=config.order,
        shard=parse_shard(config.shard) if config.shard else None,
    )


def _detect_patch(
    config: RunConfig, invocation_dir: Path, recorder: RunRecorder
) -> dict[str, Any] | None:
    """The change under test, when a gate or option asks for it, read before the tests
    run: the code they test (a test may write into the work tree)."""
    asked = any(spec.name in PATCH_GATES for spec in config.gates)
    if not (config.base or config.diff_file or asked):
        return None
    if config.diff_file:
        entry = patch_from_diff_file(invocation_dir / config.diff_file, config.rootdir)
    else:
        entry = detect_patch(config.rootdir, config.base, sink=recorder.record_tool)
        if config.base and entry.merge_base is None and entry.base_missing:
            # A base the user named that this repository does not have: a typo, or
            # a branch to fetch; either way, say so before running the tests.
            raise ConfigError(f"{entry.problem} (--uetf-base or [tool.uetf] base)")
    return entry.as_dict(recorder.run_id)


def _report_files(reports: Sequence[str]) -> list[str]:
    """The paths of the files the run's reports are written to (``FORMAT:PATH``)."""
    files = []
    for text in reports:
        _, sep, path = text.partition(":")
        if sep and path.strip() not in ("", "-"):
            files.append(path.strip())
    return files


def _python() -> str:
    """The interpreter as a baseline and a flip must share it: implementation and
    major.minor version ("cpython 3.12"); a test may pass on one and fail on another."""
    import sys

    version = sys.version_info
    return f"{sys.implementation.name} {version.major}.{version.minor}"


def _interrupted(record: ExecutionRecord) -> ExecutionRecord:
    return record.replaced(outcome="error")


def _host() -> str:
    from uetf_core.ids import host_name

    return host_name()


def _now() -> float:
    import time

    return time.time()
