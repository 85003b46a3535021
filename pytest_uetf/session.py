"""The per-session recorder: pytest's hooks translated into ``uetf_core`` calls.

Only :meth:`UetfSession.pytest_runtest_logreport` runs per test. It keeps the
reports of the test in flight in a dict and, at teardown, appends one record;
the recorder writes batches.
"""

from __future__ import annotations

import contextlib
from time import perf_counter, process_time
from typing import TYPE_CHECKING, Any

import pytest

from pytest_uetf.costs import COST_PROPERTY, peak_rss_mb
from pytest_uetf.monitor import Progress, RunMonitor
from pytest_uetf.plugin import exit_on, selection_key
from pytest_uetf.reports import build_record, crash_record, error_capture, record_of
from uetf_core.config import RunConfig
from uetf_core.errors import ConfigError, UetfError
from uetf_core.events import GateEvaluated, RecordAdded, RunFinished, RunStarted
from uetf_core.gates.catalog import PATCH_GATES
from uetf_core.ledger import open_ledger
from uetf_core.patch import commit_and_tree_state, detect_patch, patch_from_diff_file
from uetf_core.preflight import check_options
from uetf_core.records import PASSED_FINISHED_AT, PASSED_NODE_ID, PASSED_WORKER, AnyRecord
from uetf_core.render import (
    coverage_line,
    gate_rows,
    totals_line,
    uncovered_patch_rows,
    verdict_line,
)
from uetf_core.run import CONTROLLER, Outcome, RunRecorder
from uetf_core.states import RunState, WorkerState

if TYPE_CHECKING:
    from uetf_core.measure import Measurement
    from uetf_core.planning import Plan
    from uetf_core.reports import Written


class UetfSession:
    """Records one pytest session as a UETF run and gates it."""

    def __init__(
        self, config: pytest.Config, run_config: RunConfig, measurement: Measurement | None = None
    ) -> None:
        self.config = config
        self.run_config = run_config
        self.measurement = measurement
        self.recorder: RunRecorder | None = None
        self.outcome: Outcome | None = None
        self.interrupted = False
        self.stopped_by: UetfError | None = None  # a ledger error that ended the tests
        self.collection_errors = 0
        self._open: dict[str, list[Any]] = {}
        # Workers past the move to busy: the per-test path skips the state check.
        self._settled_workers: set[str] = set()
        self._attempts: dict[str, int] = {}
        self._tasks_recorded = False
        self._xdist = False
        self.reports: Written | None = None
        self.report_problem: str | None = None
        # Sources that matched no file: said even when no coverage gate judges them.
        self.coverage_problems: tuple[str, ...] = ()
        self.plan: Plan | None = None
        self.patch: dict[str, Any] | None = None  # the change under test, read at the start
        self.spooled: tuple[str, str] | None = None  # (spool path, why) when the ledger was away
        self._routes: list[tuple[Any, ...]] = []
        self._cpu_mark = process_time()
        self.progress = Progress()
        self.monitor: RunMonitor | None = None

    # -- start ------------------------------------------------------------

    @pytest.hookimpl(tryfirst=True)
    def pytest_sessionstart(self, session: pytest.Session) -> None:
        try:
            ledger = self._open_ledger()
            ledger.reap_abandoned(_host(), _now(), self.run_config.stale_after)
            # Written in place, on either back end: a writer thread (the core's
            # RunRecorder(background=True)) contends with the tests for the
            # interpreter, and measured slower for SQLite and, once a batch was
            # a few round trips, for PostgreSQL too (paired 1.15x-1.28x of SQLite
            # with the thread, 1.02x-1.05x in place).
            self.recorder = RunRecorder(ledger, self.run_config)
            self._bridge_hooks(self.recorder)
            self.recorder.start()
            config = self.run_config
            selection = self.config.stash.get(selection_key, None)
            root = config.rootdir
            head, branch, tree = commit_and_tree_state(root)  # one git process
            self.recorder.set_commit(
                head,
                branch,
                tree_state=tree,
                suite_key=selection.suite_key if selection else None,
            )
            partial = ", ".join(
                reason
                for reason in (
                    selection.partial if selection else None,
                    config.shard and f"shard {config.shard}",
                )
                if reason
            )
            if partial:
                self.recorder.mark_partial(partial)
            # Every option that names something is checked before any test runs.
            check_options(ledger, config, self.config.invocation_params.dir)
            self.patch = self._detect_patch(self.recorder)
            if config.workstream:
                ledger.add_step(
                    config.workstream,
                    config.phase,
                    self.recorder.run_id,
                    config.shard,
                    config.depends_on,
                )
            if config.dist or config.order or config.shard:
                self._plan(ledger)
            self.recorder.transition(RunState.COLLECTING)
        except UetfError as exc:
            if self.recorder is not None:
                # Recorded as the process ends: errored, with the error's exit status.
                self.recorder.abort(str(exc).removeprefix("uetf: "), int(exc.exit_code))
            exit_on(exc)
        self._xdist = bool(getattr(self.config.option, "numprocesses", None)) and (
            self.config.pluginmanager.has_plugin("dsession")
        )
        if not self._xdist:
            self.recorder.worker(CONTROLLER, WorkerState.READY)

    def _open_ledger(self) -> Any:
        """The configured ledger; a spool file when a ledger server cannot be reached.

        The run's own verdict must not depend on the network: it is recorded and
        judged in the spool, and ``uetf push`` sends it on later.
        """
        from uetf_core.errors import LedgerUnreachableError

        try:
            return open_ledger(self.run_config.ledger)
        except LedgerUnreachableError as exc:
            from uetf_core.ledger import spool_location

            spool = spool_location(self.run_config.rootdir)
            self.spooled = (str(spool), str(exc).removeprefix("uetf: "))
            return open_ledger(str(spool))

    def _plan(self, ledger: Any) -> None:
        """Durations and outcomes from the ledger, for routing, ordering and sharding."""
        from pytest_uetf.ordering import PlannedItems
        from uetf_core.planning import Plan, parse_shard

        config = self.run_config
        outcomes = ledger.last_outcomes(20) if config.order == "failed-first" else {}
        self.plan = Plan.from_history(
            ledger.recent_durations(20, exclude_workstream=config.workstream),
            failed=[n for n, outcome in outcomes.items() if outcome in ("failed", "error")],
            known=ledger.known_tests() if config.order == "new-first" else (),
            order=config.order,
            shard=parse_shard(config.shard) if config.shard else None,
        )
        # Serial runs order and shard here; xdist workers get the plan (pytest_configure_node).
        self.config.pluginmanager.register(
            PlannedItems(self.plan, on_ordered=self._record_schedule), "uetf-plan"
        )

    def _record_schedule(self, node_ids: list[str]) -> None:
        assert self.recorder is not None and self.plan is not None
        shard = f"shard {self.run_config.shard}" if self.run_config.shard else None
        entries = []
        for position, node_id in enumerate(node_ids):
            priority, reason = self.plan.priority(node_id)
            entries.append((node_id, position, priority, shard, reason))
        self.recorder.ledger.add_schedule(self.recorder.run_id, entries)

    @pytest.hookimpl(optionalhook=True)
    def pytest_configure_node(self, node: Any) -> None:
        node.workerinput["uetf"] = True  # workers measure their tests' CPU and memory
        if self.plan is not None:
            node.workerinput["uetf_plan"] = self.plan.to_wire()

    @pytest.hookimpl(optionalhook=True)
    def pytest_xdist_make_scheduler(self, config: pytest.Config, log: Any) -> Any:
        if self.plan is None or self.run_config.dist is None:
            return None
        from pytest_uetf.scheduling import PlannedScheduling

        return PlannedScheduling(config, log, self.plan, self.run_config.dist, self._route)

    def _route(self, *decision: Any) -> None:
        self._routes.append(decision)

    def _bridge_hooks(self, recorder: RunRecorder) -> None:
        """Forward the core's events to the ``pytest_uetf_*`` hooks that have implementations."""
        hook = self.config.hook
        bus = recorder.bus
        if hook.pytest_uetf_run_start.get_hookimpls():
            bus.subscribe(
                RunStarted, lambda e: hook.pytest_uetf_run_start(run_id=e.run_id, config=e.config)
            )
        if hook.pytest_uetf_record.get_hookimpls():
            bus.subscribe(
                RecordAdded, lambda e: hook.pytest_uetf_record(run_id=e.run_id, record=e.record)
            )
        if hook.pytest_uetf_gate_verdict.get_hookimpls():
            bus.subscribe(
                GateEvaluated, lambda e: hook.pytest_uetf_gate_verdict(run_id=e.run_id, gate=e.gate)
            )
        if hook.pytest_uetf_run_end.get_hookimpls():
            bus.subscribe(
                RunFinished, lambda e: hook.pytest_uetf_run_end(run_id=e.run_id, summary=e.summary)
            )

    # -- collection -------------------------------------------------------

    def pytest_collectreport(self, report: pytest.CollectReport) -> None:
        if report.failed and self.recorder is not None:
            self.collection_errors += 1
            self.recorder.add_error(error_capture(report, 1, "collect"))

    def pytest_collection_finish(self, session: pytest.Session) -> None:
        if self.recorder is None or self._xdist:
            return
        # Node ids only: item.location runs reportinfo() and path arithmetic per
        # item, a measurable cost on large suites; the ledger takes the file part.
        self._record_tasks([item.nodeid for item in session.items])

    @pytest.hookimpl(optionalhook=True)
    def pytest_xdist_node_collection_finished(self, node: Any, ids: list[str]) -> None:
        # Every worker collects the same items; the first list is the run's tasks.
        if self.recorder is not None and not self._tasks_recorded:
            self._record_tasks(list(ids))
            if self.plan is not None and self.plan.order is not None:
                self._record_schedule(list(ids))

    def _record_tasks(self, node_ids: list[str]) -> None:
        assert self.recorder is not None
        self._tasks_recorded = True
        self.progress.tests = node_ids
        try:
            self.recorder.add_tasks(node_ids)
        except UetfError as exc:
            self.stopped_by = exc
            exit_on(exc)

    @pytest.hookimpl(wrapper=True, tryfirst=True)
    def pytest_runtestloop(self, session: pytest.Session) -> Any:
        if self.recorder is not None and self.recorder.state is RunState.COLLECTING:
            self.recorder.transition(RunState.RUNNING)
            self._start_monitor(self.recorder)
        self._cpu_mark = process_time()
        return (yield)

    # -- xdist workers ----------------------------------------------------

    @pytest.hookimpl(optionalhook=True)
    def pytest_testnodeready(self, node: Any) -> None:
        if self.recorder is not None:
            self.recorder.worker(_worker_id(node), WorkerState.READY)

    @pytest.hookimpl(optionalhook=True)
    def pytest_testnodedown(self, node: Any, error: Any) -> None:
        if self.recorder is None:
            return
        worker_id = _worker_id(node)
        output = getattr(node, "workeroutput", {})
        data = output.get("uetf_cov")
        if data is not None and self.measurement is not None:
            self.measurement.merge(data)
        if output.get("uetf_peak_rss_mb") is not None:
            self.recorder.add_cost(
                "worker", worker_id, "peak_rss_mb", output["uetf_peak_rss_mb"], "MB"
            )
        if error:
            self.recorder.worker(worker_id, WorkerState.CRASHED, reason=str(error)[:500])
        else:
            self.recorder.worker(worker_id, WorkerState.STOPPED)

    # -- the per-test path --------------------------------------------------

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        # Three calls per test; the call phase needs the least work, and returns first.
        when = report.when
        if when == "call":
            entry = self._open.get(report.nodeid)
            if entry is not None:
                entry[1] = report
            return
        nodeid = report.nodeid
        if when == "setup":
            attempts = self._attempts
            attempt = attempts[nodeid] = attempts.get(nodeid, 0) + 1
            self._open[nodeid] = [report, None, attempt]
        elif when == "teardown":
            entry = self._open.pop(nodeid, None)
            if entry is None:
                entry = [None, None, self._attempts.get(nodeid, 0) + 1]
            worker = getattr(report, "worker_id", None)
            if worker is None:  # ran in this process: its CPU since the previous test ended
                worker = CONTROLLER
                mark = process_time()
                cpu: float | None = mark - self._cpu_mark
                self._cpu_mark = mark
            else:  # measured on the xdist worker (WorkerCosts)
                cpu = getattr(report, "uetf_cpu", None)
            self._add(record_of(entry[0], entry[1], report, entry[2], worker, cpu))
            if report.user_properties:
                self._custom_costs(nodeid, report.user_properties)
        else:  # xdist reports a test whose worker crashed with when="???"
            entry = self._open.pop(nodeid, None)
            attempt = entry[2] if entry else self._attempts.get(nodeid, 0) + 1
            # xdist's report of a crashed worker carries the worker's node, not its id.
            node = getattr(report, "node", None)
            worker = getattr(report, "worker_id", None) or (
                _worker_id(node) if node is not None else CONTROLLER
            )
            self._add(crash_record(report, attempt, worker))

    def _start_monitor(self, recorder: RunRecorder) -> None:
        from pathlib import Path

        config = self.run_config
        recorder.flush()  # the move to running, for `uetf watch`
        workers = int(getattr(self.config.option, "numprocesses", None) or 1)
        path = config.progress_file
        self.progress.begin()
        self.monitor = RunMonitor(
            recorder.ledger_dsn,
            recorder.run_id,
            self.progress,
            self._running,
            workers,
            config.progress_interval,
            config.stall_timeout,
            Path(self.config.invocation_params.dir, path) if path else None,
            self._terminal_alert(),
        )
        self.monitor.start()

    def _terminal_alert(self) -> Any:
        """A writer to the real stderr, which pytest's capture does not swallow mid-test.

        pytest keeps a duplicate of the terminal's descriptor while it captures
        output; a stall is reported while a test runs, so it must go there.
        """
        import os
        import sys

        capman = self.config.pluginmanager.getplugin("capturemanager")
        err = getattr(getattr(capman, "_global_capturing", None), "err", None)
        fd = getattr(err, "targetfd_save", None)
        if not isinstance(fd, int):
            return None

        def alert(text: str) -> None:
            try:
                os.write(fd, text.encode("utf-8", "replace"))
            except OSError:
                sys.stderr.write(text)

        return alert

    def _running(self) -> list[tuple[str, str]]:
        """The tests in flight and their workers (read from the monitor thread)."""
        for _ in range(3):
            try:
                entries = list(self._open.items())
                break
            except RuntimeError:  # the dict changed while copying; try again
                continue
        else:
            return []
        return [
            (node_id, getattr(entry[0], "worker_id", None) or CONTROLLER)
            for node_id, entry in entries
            if entry[0] is not None
        ]

    def _drain_stalls(self) -> None:
        monitor = self.monitor
        if monitor is None or not monitor.stalls or self.recorder is None:
            return
        stalls, monitor.stalls = monitor.stalls, []
        for stall in stalls:
            self.recorder.note("stall", self.recorder.run_id, **stall)

    def _custom_costs(self, nodeid: str, properties: list[tuple[str, Any]]) -> None:
        """The costs a test declared through the ``uetf_cost`` fixture."""
        if self.recorder is None:
            return
        for key, value in properties:
            if key == COST_PROPERTY:
                name, amount, unit = value
                self.recorder.add_cost("test", nodeid, name, amount, unit)

    def _add(self, record: AnyRecord) -> None:
        recorder = self.recorder
        if recorder is None:
            return
        if isinstance(record, tuple):  # a PassedRow
            node_id, worker = record[PASSED_NODE_ID], record[PASSED_WORKER]
            outcome, finished_at = "passed", record[PASSED_FINISHED_AT]
        else:
            node_id, worker = record.node_id, record.worker
            outcome, finished_at = record.outcome, record.finished_at
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
            recorder.add_record(record)
        except UetfError as exc:
            self.stopped_by = exc
            exit_on(exc)

    # -- the end ----------------------------------------------------------

    def pytest_keyboard_interrupt(self, excinfo: Any) -> None:
        # pytest stops on a collection error by raising its own KeyboardInterrupt
        # subclass; that is no Ctrl-C.
        if self.collection_errors and isinstance(excinfo.value, pytest.Session.Interrupted):
            return
        self.interrupted = True

    @pytest.hookimpl(trylast=True)
    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> None:
        recorder = self.recorder
        if recorder is None or recorder.state in (
            RunState.PASSED,
            RunState.FAILED,
            RunState.ERRORED,
        ):
            return
        if self.stopped_by is not None:
            self._end_stopped(recorder, self.stopped_by)
            return
        try:  # the batches still being written, and whether they could be
            recorder.settle()
        except UetfError as exc:
            self._end_stopped(recorder, exc)
            exit_on(exc)
        # Tests still in flight (interrupted mid-test) are recorded as errors.
        for nodeid, (setup, call, attempt) in list(self._open.items()):
            if setup is not None:
                worker = getattr(setup, "worker_id", None) or CONTROLLER
                record = build_record(setup, call, None, attempt, worker)
                if record.outcome == "passed":
                    record = _interrupted(record)
                recorder.add_record(record)
            del self._open[nodeid]
        if self.monitor is not None:
            self.monitor.stop(recorder.ledger)
            self._drain_stalls()
        if self._routes:
            recorder.ledger.add_routing(recorder.run_id, self._routes)
            self._routes = []
        peak = peak_rss_mb()
        if peak is not None:
            recorder.add_cost("worker", CONTROLLER, "peak_rss_mb", peak, "MB")
        status = int(exitstatus)
        coverage = None
        problem: UetfError | None = None
        try:
            coverage = self._coverage(recorder)
        except UetfError as exc:
            # Finish the run (errored, every record kept), then say what to fix.
            problem, status = exc, int(exc.exit_code)
        try:
            patch = self._measured_patch()
            self.outcome = recorder.finish(
                status,
                interrupted=self.interrupted,
                coverage=coverage,
                patch=patch,
                collection_errors=self.collection_errors,
            )
        except UetfError as exc:
            exit_on(exc)
        if problem is not None:
            exit_on(problem)
        session.exitstatus = self.outcome.exit_status
        if self.run_config.workstream:
            state = self.outcome.state.value
            recorder.ledger.set_step_state(
                recorder.run_id, state if state in ("passed", "failed") else "errored"
            )
        if self.run_config.reports:
            self._write_reports(session, recorder)

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

    def _write_reports(self, session: pytest.Session, recorder: RunRecorder) -> None:
        """The reports the run asked for, from the ledger, as ``uetf report`` would write them."""
        from uetf_core.reports import parse_report_spec, write_reports

        try:
            self.reports = write_reports(
                recorder.ledger,
                recorder.run_id,
                [parse_report_spec(text) for text in self.run_config.reports],
                self.run_config.rootdir / ".ledger" / "reports",
            )
        except UetfError as exc:
            # The run is recorded and judged; say what to fix, and fail a run that passed.
            self._report_failed(session, recorder, str(exc), int(exc.exit_code))
        except Exception as exc:  # a bug in a report: the verdict and the summary still stand
            why = f"internal error writing a report: {type(exc).__name__}: {exc}"
            self._report_failed(session, recorder, why, int(pytest.ExitCode.INTERNAL_ERROR))

    def _report_failed(
        self, session: pytest.Session, recorder: RunRecorder, why: str, status: int
    ) -> None:
        self.report_problem = f"uetf: {why.removeprefix('uetf: ')}"
        if session.exitstatus == 0:
            session.exitstatus = status
            recorder.amend_exit_status(status, why.removeprefix("uetf: "))
            if self.outcome is not None:
                self.outcome = self.outcome._replace(exit_status=status)

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

    def _detect_patch(self, recorder: RunRecorder) -> dict[str, Any] | None:
        """The change under test, when a gate or option asks for it, read before the tests
        run: the code they test (a test may write into the work tree)."""
        config = self.run_config
        wanted = (
            config.base
            or config.diff_file
            or any(spec.name in PATCH_GATES for spec in config.gates)
        )
        if not wanted:
            return None
        if config.diff_file:
            diff = self.config.invocation_params.dir / config.diff_file
            entry = patch_from_diff_file(diff, config.rootdir)
        else:
            entry = detect_patch(config.rootdir, config.base, sink=recorder.record_tool)
            if config.base and entry.merge_base is None and entry.base_missing:
                # A base the user named that this repository does not have: a typo, or
                # a branch to fetch; either way, say so before running the tests.
                raise ConfigError(f"{entry.problem} (--uetf-base or [tool.uetf] base)")
        return entry.as_dict(recorder.run_id)

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        outcome = self.outcome
        if outcome is None or self.recorder is None:
            return
        from uetf_core.terminal import visible_line  # recorded data is shown, never obeyed

        summary = outcome.summary
        line = verdict_line(summary, self.recorder.ledger.location)
        failing = any(g["verdict"] in ("failed", "error") for g in summary["gates"])
        written = self.reports
        # Workflow commands must reach standard output whatever the verbosity.
        for command in written.stdout if written else ():
            terminalreporter.write_line(command)
        if self.report_problem:
            terminalreporter.write_line(visible_line(self.report_problem), red=True)
        for note in outcome.notes:  # an expired waiver matters even under -q
            terminalreporter.write_line(visible_line(f"uetf: {note}"), yellow=True)
        for problem in self.coverage_problems:  # coverage of nothing is no 0% to shrug at
            terminalreporter.write_line(visible_line(f"uetf: warning: {problem}"), yellow=True)
        spooled = self.spooled or (self.recorder.spooled if self.recorder else None)
        if spooled:
            spool, why = spooled
            terminalreporter.write_line(
                visible_line(
                    f"uetf: {why}; this run is recorded in the spool {spool};"
                    f" send it later with: uetf push {spool}"
                ),
                yellow=True,
            )
        width = self.config.get_terminal_writer().fullwidth
        if terminalreporter.verbosity < 0:
            if failing:  # CI logs often run -q: the rows that failed the run, then why
                bad = [g for g in summary["gates"] if g["verdict"] in ("failed", "error")]
                self._write_gates(terminalreporter, bad, width)
                terminalreporter.write_line(visible_line(line), red=True)
            return
        terminalreporter.section("uetf")
        if summary["gates"]:
            self._write_gates(terminalreporter, summary["gates"], width)
        for row in uncovered_patch_rows(summary):
            terminalreporter.write_line(visible_line(row))
        measured = coverage_line(summary)
        if measured:
            terminalreporter.write_line(measured)
        waived = sum(1 for f in summary["failures"] if f["classification"] == "waived")
        terminalreporter.write_line(totals_line(summary["totals"], waived))
        if written:
            for note in written.notes:
                terminalreporter.write_line(visible_line(note))
            for document in written.files:
                report_line = f"report ({document['kind']}): {document['path']}"
                terminalreporter.write_line(visible_line(report_line))
        terminalreporter.write_line(
            visible_line(line), red=failing, green=not failing and outcome.exit_status == 0
        )

    @staticmethod
    def _write_gates(terminalreporter: Any, gates: list[dict[str, Any]], width: int) -> None:
        """The gate table fitted to the terminal, each verdict coloured as pytest colours
        outcomes (``--color`` decides whether colour is written at all)."""
        from uetf_core.terminal import visible_line

        colours = {"passed": "green", "failed": "red", "error": "red", "warned": "yellow"}
        colours["waived"] = "yellow"
        for text, verdict in gate_rows(gates, width):
            colour = colours.get(verdict or "")
            terminalreporter.write_line(visible_line(text), **({colour: True} if colour else {}))

    def close(self) -> None:
        if self.monitor is not None and self.monitor.is_alive():
            self.monitor.stop()
        recorder = self.recorder
        if recorder is None:
            return
        try:
            recorder.close()
        except UetfError as exc:  # a write queued after the verdict failed
            import sys

            sys.stderr.write(f"{exc}\n")
        recorder.ledger.close()


def _interrupted(record: Any) -> Any:
    from dataclasses import replace

    return replace(record, outcome="error")


def _worker_id(node: Any) -> str:
    return str(node.gateway.id)


def _host() -> str:
    from uetf_core.ids import host_name

    return host_name()


def _now() -> float:
    import time

    return time.time()
