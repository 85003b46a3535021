"""The controller's role: pytest's events translated into a :class:`RunSession`'s calls.

The controller is the process that runs a serial session, or xdist's controlling
process; it alone records (xdist's workers have :mod:`pytest_uetf.worker`).
Nothing here decides anything about the run: the sequence, the verdict and the
reports are :class:`uetf_core.session.RunSession`'s; the terminal summary only
shows the outcome. Only :meth:`UetfController.pytest_runtest_logreport` runs
per test: it keeps the reports of the test in flight in a dict and, at
teardown, hands one record on.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from time import process_time
from typing import TYPE_CHECKING, Any, NoReturn, cast

import pytest

from pytest_uetf.costs import COST_PROPERTY, peak_rss_mb
from pytest_uetf.reports import (
    build_record,
    collection_skip_record,
    crash_record,
    error_capture,
    record_of,
)
from uetf_core.config import RunConfig
from uetf_core.errors import UetfError
from uetf_core.events import GateEvaluated, RecordAdded, RunFinished, RunStarted
from uetf_core.render import (
    coverage_line,
    gate_rows,
    totals_line,
    uncovered_patch_rows,
    verdict_lines,
)
from uetf_core.run import CONTROLLER, Outcome
from uetf_core.session import RunSession
from uetf_core.terminal import visible_line  # recorded data is shown, never obeyed

if TYPE_CHECKING:
    from pytest_uetf.nodes import WorkerNode
    from pytest_uetf.options import Selection
    from pytest_uetf.scheduling import PlannedScheduling
    from uetf_core.documents import GateDocument
    from uetf_core.measure import Measurement
    from uetf_core.records import ExecutionRecord


def exit_on(error: UetfError) -> NoReturn:
    """End the pytest session with the error's one line and its documented exit code."""
    pytest.exit(str(error), returncode=error.exit_code)


class UetfController:
    """Records one pytest session as a UETF run: the hooks of the controlling process."""

    def __init__(
        self,
        config: pytest.Config,
        run_config: RunConfig,
        measurement: Measurement | None = None,
        selection: Selection | None = None,
    ) -> None:
        self.config = config
        self.run = RunSession(run_config, config.invocation_params.dir, measurement)
        self.selection = selection
        self.interrupted = False
        # The test in flight on each worker: [setup report, call report, attempt].
        self._open: dict[str, list[Any]] = {}
        self._attempts: dict[str, int] = {}
        # The first failed subtest of a test in flight, until its teardown is recorded.
        self._failed_subtests: dict[str, pytest.TestReport] = {}
        self._tasks_recorded = False
        self._deselected = 0  # tests pytest deselected in this process (-k, -m, plugins)
        self._xdist = False
        self._cpu_mark = process_time()
        self._record = self.run.record  # bound once: the per-test path calls it

    # -- start ------------------------------------------------------------

    @pytest.hookimpl(tryfirst=True)
    def pytest_sessionstart(self, session: pytest.Session) -> None:
        self._bridge_hooks()
        selection = self.selection
        try:
            xml = getattr(self.config.option, "xmlpath", None)  # pytest's --junitxml
            self.run.begin(
                suite_key=selection.suite_key if selection else None,
                partial=selection.partial if selection else None,
                also_written=[xml] if xml else (),
            )
        except UetfError as exc:
            exit_on(exc)
        plan = self.run.plan
        if plan is not None:
            from pytest_uetf.ordering import PlannedItems

            # Serial runs order and shard here; xdist workers get the plan (pytest_configure_node).
            self.config.pluginmanager.register(
                PlannedItems(plan, on_ordered=self.run.scheduled), "uetf-plan"
            )
        self._xdist = bool(getattr(self.config.option, "numprocesses", None)) and (
            self.config.pluginmanager.has_plugin("dsession")
        )
        if not self._xdist:
            self.run.worker_ready(CONTROLLER)

    def _bridge_hooks(self) -> None:
        """Forward the run's events to the ``pytest_uetf_*`` hooks that have implementations."""
        hook = self.config.hook
        bus = self.run.bus
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

    @pytest.hookimpl(optionalhook=True)
    def pytest_configure_node(self, node: WorkerNode) -> None:
        node.workerinput["uetf"] = True  # workers measure their tests' CPU and memory
        if self.run.plan is not None:
            node.workerinput["uetf_plan"] = self.run.plan.to_wire()

    @pytest.hookimpl(optionalhook=True)
    def pytest_xdist_make_scheduler(
        self, config: pytest.Config, log: object
    ) -> PlannedScheduling | None:
        plan, strategy = self.run.plan, self.run.config.dist
        if plan is None or strategy is None:
            return None
        from pytest_uetf.scheduling import PlannedScheduling

        return PlannedScheduling(config, log, plan, strategy, self.run.route)

    # -- collection -------------------------------------------------------

    def pytest_collectreport(self, report: pytest.CollectReport) -> None:
        if report.failed:
            self.run.collection_error(error_capture(report, 1, "collect"))
        elif report.skipped and report.nodeid:  # a module that skipped itself on import
            self.run.collection_skipped(collection_skip_record(report, CONTROLLER))

    def pytest_deselected(self, items: list[pytest.Item]) -> None:
        self._deselected += len(items)

    def pytest_collection_finish(self, session: pytest.Session) -> None:
        if self._xdist:
            return  # collected, and deselected, on the workers
        # Node ids only: item.location runs reportinfo() and path arithmetic per
        # item, a measurable cost on large suites; the ledger takes the file part.
        self._collected([item.nodeid for item in session.items])
        selection = self.selection
        narrowed = self._deselected or self._failures_to_rerun()
        if selection and selection.undone_if_nothing_deselected and not narrowed:
            self.run.narrowed_nothing()

    def _failures_to_rerun(self) -> bool:
        """Whether ``--lf`` had failures to rerun (the files it then skips collecting are
        not deselected, so a deselection count cannot tell)."""
        if not self.config.getoption("lf", False):
            return False
        cache = getattr(self.config, "cache", None)
        if cache is None or self.config.getoption("last_failed_no_failures", "all") != "all":
            return True
        return bool(cache.get("cache/lastfailed", {}))

    @pytest.hookimpl(optionalhook=True)
    def pytest_xdist_node_collection_finished(self, node: WorkerNode, ids: list[str]) -> None:
        # Every worker collects the same items; the first list is the run's tasks.
        if not self._tasks_recorded:
            self._collected(list(ids))
            plan = self.run.plan
            if plan is not None and plan.order is not None:
                self.run.scheduled(list(ids))

    def _collected(self, node_ids: list[str]) -> None:
        self._tasks_recorded = True
        try:
            self.run.collected(node_ids)
        except UetfError as exc:
            exit_on(exc)

    @pytest.hookimpl(wrapper=True, tryfirst=True)
    def pytest_runtestloop(self, session: pytest.Session) -> Iterator[None]:
        workers = int(getattr(self.config.option, "numprocesses", None) or 1)
        self.run.start_tests(self._running, workers, self._terminal_alert())
        self._cpu_mark = process_time()
        return (yield)

    # -- xdist workers ----------------------------------------------------

    @pytest.hookimpl(optionalhook=True)
    def pytest_testnodeready(self, node: WorkerNode) -> None:
        self.run.worker_ready(_worker_id(node))

    @pytest.hookimpl(optionalhook=True)
    def pytest_testnodedown(self, node: WorkerNode, error: object) -> None:
        output: dict[str, Any] = getattr(node, "workeroutput", {})
        self.run.worker_down(
            _worker_id(node),
            str(error) if error else None,
            coverage=output.get("uetf_cov"),
            peak_rss_mb=output.get("uetf_peak_rss_mb"),
        )

    # -- the per-test path --------------------------------------------------

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        # Three calls per test; the call phase needs the least work, and returns first.
        when = report.when
        if when == "call":
            entry = self._open.get(report.nodeid)
            if entry is not None:
                previous = entry[1]
                # A test with subtests reports each of them as a call, then itself,
                # last; the first that failed fails the test (_subtest_failed).
                if previous is not None and previous.failed:
                    self._failed_subtests.setdefault(report.nodeid, previous)
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
            else:  # measured on the xdist worker (pytest_uetf.worker)
                cpu = getattr(report, "uetf_cpu", None)
            try:
                if self._failed_subtests and nodeid in self._failed_subtests:
                    self._record(self._subtest_failed(entry, report, worker, cpu))
                else:
                    self._record(record_of(entry[0], entry[1], report, entry[2], worker, cpu))
            except UetfError as exc:
                exit_on(exc)
            if report.user_properties:
                self._custom_costs(nodeid, report.user_properties)
        else:  # xdist reports a test whose worker crashed with when="???"
            entry = self._open.pop(nodeid, None)
            self._failed_subtests.pop(nodeid, None)
            attempt = entry[2] if entry else self._attempts.get(nodeid, 0) + 1
            # xdist's report of a crashed worker carries the worker's node, not its id.
            node = getattr(report, "node", None)
            worker = getattr(report, "worker_id", None) or (
                _worker_id(node) if node is not None else CONTROLLER
            )
            try:
                self._record(crash_record(report, attempt, worker))
            except UetfError as exc:
                exit_on(exc)

    def _subtest_failed(
        self, entry: list[Any], teardown: pytest.TestReport, worker: str, cpu: float | None
    ) -> ExecutionRecord:
        """The record of a test one of whose subtests failed: failed, with the first
        failed subtest's error. pytest counts the subtest as a failure and exits 1, but
        unittest's ``subTest`` leaves the test's own call report passed."""
        subtest = self._failed_subtests.pop(teardown.nodeid)
        return build_record(entry[0], entry[1], teardown, entry[2], worker, cpu, subtest)

    def _custom_costs(self, nodeid: str, properties: list[tuple[str, object]]) -> None:
        """The costs a test declared through the ``uetf_cost`` fixture."""
        for key, value in properties:
            if key == COST_PROPERTY:
                name, amount, unit = cast("tuple[str, float, str]", value)  # CostRecorder's
                self.run.add_cost("test", nodeid, name, amount, unit)

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

    def _terminal_alert(self) -> Callable[[str], None] | None:
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

    # -- the end ----------------------------------------------------------

    def pytest_keyboard_interrupt(self, excinfo: pytest.ExceptionInfo[BaseException]) -> None:
        # pytest stops on a collection error by raising its own KeyboardInterrupt
        # subclass; that is no Ctrl-C.
        if self.run.collection_errors and isinstance(excinfo.value, pytest.Session.Interrupted):
            return
        self.interrupted = True

    @pytest.hookimpl(trylast=True)
    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> None:
        if self.run.finished:
            return
        stopped = session.shouldfail or session.shouldstop  # -x, --maxfail, --sw
        if stopped and not self.interrupted:
            self.run.stopped_early(str(stopped))
        try:
            outcome = self.run.finish(
                int(exitstatus),
                interrupted=self.interrupted,
                in_flight=self._in_flight(),
                peak_rss_mb=peak_rss_mb(),
            )
        except UetfError as exc:
            exit_on(exc)
        if outcome is not None:
            session.exitstatus = outcome.exit_status

    def _in_flight(self) -> Iterator[ExecutionRecord]:
        """The tests still in flight (interrupted mid-test), as records of what was reported."""
        for nodeid, (setup, call, attempt) in list(self._open.items()):
            if setup is not None:
                worker = getattr(setup, "worker_id", None) or CONTROLLER
                yield build_record(setup, call, None, attempt, worker)
            del self._open[nodeid]

    def pytest_terminal_summary(self, terminalreporter: pytest.TerminalReporter) -> None:
        run = self.run
        outcome = run.outcome
        if outcome is None or run.recorder is None:
            return
        width = self.config.get_terminal_writer().fullwidth
        _write_summary(terminalreporter, run, outcome, width)

    def close(self) -> None:
        self.run.close()


def _worker_id(node: WorkerNode) -> str:
    return str(node.gateway.id)


# -- the verdict in pytest's terminal summary ------------------------------------

_COLOURS = {
    "passed": "green",
    "failed": "red",
    "error": "red",
    "warned": "yellow",
    "waived": "yellow",
    # Not judged by this run, as pytest shows a skipped test.
    "skipped": "yellow",
    "deferred": "yellow",
}


def _write_summary(
    terminal: pytest.TerminalReporter, run: RunSession, outcome: Outcome, width: int
) -> None:
    """The ``uetf`` section; under ``-q`` only what must not be missed."""
    assert run.recorder is not None
    summary = outcome.summary
    verdict = verdict_lines(summary, run.recorder.ledger.location, width)
    failing = any(g["verdict"] in ("failed", "error") for g in summary["gates"])
    # Coloured as pytest colours its last line: red when the run fails (a gate or its
    # tests), yellow when it passed with something unjudged or excused (a deferred or
    # warned gate, a waived failure), green when every gate judged it and passed.
    if failing or outcome.exit_status != 0:
        colour = "red"
    elif any(g["verdict"] in ("warned", "deferred") for g in summary["gates"]) or any(
        f["classification"] == "waived" for f in summary["failures"]
    ):
        colour = "yellow"
    else:
        colour = "green"
    written = run.reports
    # Workflow commands must reach standard output whatever the verbosity.
    for command in written.stdout if written else ():
        terminal.write_line(command)
    if run.report_problem:
        terminal.write_line(visible_line(run.report_problem), red=True)
    for note in outcome.notes:  # an expired waiver matters even under -q
        terminal.write_line(visible_line(f"uetf: {note}"), yellow=True)
    for problem in run.coverage_problems:  # coverage of nothing is no 0% to shrug at
        terminal.write_line(visible_line(f"uetf: warning: {problem}"), yellow=True)
    spooled = run.ledger_spooled()
    if spooled:
        spool, why = spooled
        terminal.write_line(
            visible_line(
                f"uetf: {why}; this run is recorded in the spool {spool};"
                f" send it later with: uetf push {spool}"
            ),
            yellow=True,
        )
    if terminal.verbosity < 0:
        if failing:  # CI logs often run -q: the rows that failed the run, then why
            bad = [g for g in summary["gates"] if g["verdict"] in ("failed", "error")]
            _write_gates(terminal, bad, width)
            for line in verdict:
                terminal.write_line(visible_line(line), red=True)
        return
    # write_sep ends pytest's progress line first, as pytest's own sections do;
    # section() would leave that newline to the section's first line.
    terminal.write_sep("=", "uetf")
    if summary["gates"]:
        _write_gates(terminal, summary["gates"], width)
    for row in uncovered_patch_rows(summary):
        terminal.write_line(visible_line(row))
    measured = coverage_line(summary)
    if measured:
        terminal.write_line(measured)
    waived = sum(1 for f in summary["failures"] if f["classification"] == "waived")
    terminal.write_line(totals_line(summary["totals"], waived))
    if written:
        for note in written.notes:
            terminal.write_line(visible_line(note))
        for document in written.files:
            terminal.write_line(visible_line(f"report ({document['kind']}): {document['path']}"))
    for line in verdict:
        terminal.write_line(visible_line(line), **{colour: True})


def _write_gates(terminal: pytest.TerminalReporter, gates: list[GateDocument], width: int) -> None:
    """The gate table fitted to the terminal, each verdict coloured as pytest colours
    outcomes (``--color`` decides whether colour is written at all)."""
    for text, verdict in gate_rows(gates, width):
        colour = _COLOURS.get(verdict or "")
        terminal.write_line(visible_line(text), **({colour: True} if colour else {}))
