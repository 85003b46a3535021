"""One run from creation to verdict: its lifecycle, its workers and its batched records.

``RunRecorder`` is what the pytest plugin drives. The per-test path is
:meth:`RunRecorder.add_record`: an append to a list and a cheap check of
whether the batch is due; everything else happens a few times per run.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from uetf_core import __version__
from uetf_core.config import RunConfig
from uetf_core.errors import ConfigError, LedgerError
from uetf_core.events import (
    EventBus,
    GateEvaluated,
    RecordAdded,
    RunFinished,
    RunStarted,
    StateChanged,
)
from uetf_core.exitcodes import ExitCode
from uetf_core.gates.evaluate import GateResult, Verdict, overall_verdict
from uetf_core.ids import host_name, new_run_id
from uetf_core.judge import judge_gates, test_waivers
from uetf_core.ledger.base import Batch, Ledger, NewRun
from uetf_core.records import (
    AnyRecord,
    ErrorCapture,
    Event,
    ExecutionRecord,
    essentials,
    full_record,
)
from uetf_core.schemas import digest, validation_record
from uetf_core.states import RunState, WorkerState, check_transition
from uetf_core.summary import build_summary
from uetf_core.timeutil import iso
from uetf_core.verdict import final_exit_status

if TYPE_CHECKING:
    from typing import NamedTuple

    from uetf_core.documents import RunConfigDocument
    from uetf_core.report_documents import RunSummary
else:  # the same classes, defined at a fraction of the cost: see uetf_core.namedtuples
    from uetf_core.namedtuples import NamedTuple

CONTROLLER = "controller"

# One write to the ledger, holding its values: done at once or on the writer thread,
# and kept to be done again on a spool if a shared ledger goes away.
Write = Callable[[Ledger], object]


class Outcome(NamedTuple):
    """How a run ended: its final state, gate results, verdict and exit status."""

    state: RunState
    gates: Sequence[GateResult]
    verdict: Verdict | None
    exit_status: int
    summary: RunSummary
    notes: tuple[str, ...] = ()  # what the user should know: waivers that expired


class RunRecorder:
    """Records one run into a ledger and judges it at the end."""

    def __init__(
        self,
        ledger: Ledger,
        config: RunConfig,
        bus: EventBus | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        # Written in place, in batches: a writer thread contends with the tests for
        # the interpreter and measured slower on both back ends (docs/performance.md).
        self._ledger = ledger
        self.config = config
        self.bus = bus or EventBus()
        self.clock = clock
        self.run_id = new_run_id(clock())
        self.state = RunState.PENDING
        self.started_at = clock()
        self._seq = 0
        self._batch = Batch()
        self._batch_size = config.batch_size
        self._flush_interval = config.flush_interval
        self._next_flush = time.monotonic() + config.flush_interval
        self._workers: dict[str, dict[str, Any]] = {}
        self._publish_records = False
        self._tools: list[dict[str, Any]] = []
        # Every write, kept while the ledger is a server that may go away (PostgreSQL).
        self._journal: list[Write] | None = [] if ledger.may_go_away else None
        self.spooled: tuple[str, str] | None = None  # (spool path, why) after a failover
        # Seconds spent in ledger writes (a shared server's round trips included):
        # recorded with the run as its ledger_write_seconds cost.
        self.write_seconds = 0.0

    @property
    def ledger(self) -> Ledger:
        """The run's ledger."""
        return self._ledger

    @property
    def ledger_dsn(self) -> str:
        """Where the ledger is, to open another connection; does not wait for writes."""
        return str(self._ledger.dsn)

    # -- lifecycle --------------------------------------------------------

    def start(self) -> None:
        """Create the run in the ledger, record its validated config, and initialise."""
        config = self.config.as_dict()
        run = NewRun(
            run_id=self.run_id,
            state=self.state.value,
            started_at=self.started_at,
            pid=os.getpid(),
            host=host_name(),
            rootdir=str(self.config.rootdir),
            uetf_version=__version__,
            config=config,
        )
        self._write(lambda ledger: ledger.create_run(run))
        try:
            self._validate_config(config)
        except ConfigError as exc:
            self._end(RunState.ERRORED, str(exc), int(ExitCode.USAGE_ERROR), None, self.clock())
            raise
        self.bus.publish(RunStarted(self.run_id, config))
        self._publish_records = self.bus.has_subscribers(RecordAdded)
        self.transition(RunState.INITIALIZING)

    def _validate_config(self, config: RunConfigDocument) -> None:
        """Validate the config against its schema, or reuse an identical earlier verdict."""
        subject = f"run {self.run_id} config"
        key = digest("run_config", config)
        record: dict[str, Any]
        if self.ledger.validated_before(key):
            record = {
                "subject": f"{subject} (identical to a configuration validated before)",
                "schema": "run_config",
                "valid": True,
                "errors": [],
                "at": iso(self.clock()),
            }
        else:
            record = validation_record("run_config", config, subject=subject)
        valid_key = key if record["valid"] else None
        self._write(lambda ledger: ledger.add_validation(self.run_id, record, valid_key))
        if not record["valid"]:
            first = record["errors"][0]
            message = f"run configuration invalid at {first['path']}: {first['message']}"
            raise ConfigError(message)

    def transition(self, target: RunState, reason: str | None = None, **data: Any) -> None:
        """Move the run to ``target`` (the table must allow it), persisted at once."""
        self._move(target, reason, data, {})

    def _move(
        self, target: RunState, reason: str | None, data: dict[str, Any], end: dict[str, Any]
    ) -> None:
        """The move's event, the new state and ``end`` (a final state's exit status, end
        time, reason and verdict) written in one transaction, with the pending batch."""
        check_transition(self.state, target)
        event = Event(
            self.clock(),
            "run_state",
            self.run_id,
            self.state.value,
            target.value,
            {"reason": reason, **data} if reason or data else None,
        )
        self.state = target
        self._event(event)
        self._batch.state = {"state": target.value, **end}
        self.flush()

    def _event(self, event: Event) -> None:
        self._batch.events.append((self._seq, event))
        self._seq += 1
        if event.kind in ("run_state", "worker_state"):
            self.bus.publish(StateChanged(self.run_id, event))

    def note(self, kind: str, subject: str, **data: Any) -> None:
        """Record a notable happening (a collection error, a stall) as an event."""
        self._event(Event(self.clock(), kind, subject, data=data or None))

    # -- writing, and falling back to a spool -------------------------------

    def _write(self, write: Write) -> None:
        """A write to the ledger, done at once. On a shared ledger (PostgreSQL)
        every write is also kept, so that if the server is lost for good the run
        can go on in a local spool holding all of it: the verdict never depends
        on the network. ``write`` must hold its values already: it may be called
        again, later, on that spool."""
        started = time.perf_counter()
        try:
            if self._journal is None:
                write(self._ledger)
                return
            self._journal.append(write)
            try:
                write(self._ledger)
            except LedgerError:
                try:  # a new transaction reconnects first, with back-off
                    write(self._ledger)
                except LedgerError as exc:
                    self._spool(exc)
        finally:
            self.write_seconds += time.perf_counter() - started

    def _spool(self, cause: LedgerError) -> None:
        """Replay every write of this run into a local spool; go on there."""
        from uetf_core.ledger import open_ledger, spool_location

        assert self._journal is not None
        path = spool_location(self.config.rootdir)
        spool = open_ledger(str(path))
        for write in self._journal:
            write(spool)
        lost, self._ledger, self._journal = self._ledger, spool, None
        with contextlib.suppress(Exception):
            lost.close()
        self.spooled = (str(path), str(cause).removeprefix("uetf: "))

    # -- workers ----------------------------------------------------------

    def worker(self, worker_id: str, target: WorkerState, reason: str | None = None) -> None:
        """Move a worker to ``target``, creating it in ``starting`` on first sight."""
        now = self.clock()
        current = self._workers.get(worker_id)
        if current is None:
            current = {"state": WorkerState.STARTING, "tests_run": 0, "started_at": now}
            self._workers[worker_id] = current
            self._event(Event(now, "worker_state", worker_id, None, WorkerState.STARTING.value))
        if current["state"] is target:
            return
        check_transition(current["state"], target)
        data = {"reason": reason} if reason else None
        self._event(
            Event(now, "worker_state", worker_id, current["state"].value, target.value, data)
        )
        current["state"] = target
        if target in (WorkerState.STOPPED, WorkerState.CRASHED):
            current["stopped_at"] = now
            current["reason"] = reason
        self._batch.workers[worker_id] = _worker_row(current)

    def worker_state(self, worker_id: str) -> WorkerState | None:
        """The current state of ``worker_id``, ``None`` before it was seen."""
        worker = self._workers.get(worker_id)
        return None if worker is None else worker["state"]

    # -- recording --------------------------------------------------------

    def add_tasks(self, node_ids: Sequence[str]) -> None:
        """Record the collected items, in order; a task's path is its node id's file part."""
        self.flush()
        self._write(lambda ledger: ledger.add_tasks(self.run_id, node_ids))

    def add_record(
        self, record: AnyRecord, known: tuple[str, ErrorCapture | None] | None = None
    ) -> None:
        """Append one test attempt to the batch; write the batch when it is due.

        ``known``: the record's worker and error, when the caller has read them already
        (the session, once per test)."""
        batch = self._batch
        batch.records.append(record)
        if known is None:
            _, name, _, _, error = essentials(record)
        else:
            name, error = known
        if error is not None:
            batch.errors.append(error)
        worker = self._workers.get(name)
        if worker is not None:
            worker["tests_run"] += 1
        if self._publish_records:
            self.bus.publish(RecordAdded(self.run_id, full_record(record)))
        if len(batch.records) >= self._batch_size or time.monotonic() >= self._next_flush:
            self.flush()

    def add_collection_skip(self, record: ExecutionRecord) -> None:
        """A module skipped as it was collected: a skipped record that no worker ran."""
        self._batch.records.append(record)

    def add_cost(self, scope: str, subject: str, name: str, amount: float, unit: str) -> None:
        """A cost of a test, worker or the run (custom costs, peak memory), batched."""
        self._batch.costs.append((scope, subject, name, amount, unit))

    def add_error(self, error: ErrorCapture) -> None:
        """Record an error outside any test: a collection error."""
        self._batch.errors.append(error)
        self.note("collection_error", error.node_id, exc_type=error.exc_type, message=error.message)

    def flush(self) -> None:
        """Write the batch, if any, in one transaction, and refresh the heartbeat."""
        self._next_flush = time.monotonic() + self._flush_interval
        for worker_id, worker in self._workers.items():
            self._batch.workers[worker_id] = _worker_row(worker)
        if not len(self._batch):
            return
        batch, self._batch = self._batch, Batch()
        now = self.clock()
        self._write(lambda ledger: ledger.write_batch(self.run_id, batch, now))

    # -- the end ----------------------------------------------------------

    def mark_partial(self, reason: str | None) -> None:
        """Record that this run covers part of the suite (-k, -m, --lf, node ids), or,
        with ``None``, that it covers the whole suite after all."""
        self.note("note", self.run_id, partial=reason)
        self._write(lambda ledger: ledger.set_partial(self.run_id, reason))

    def set_commit(
        self,
        head: str | None,
        branch: str | None,
        tree_state: str | None = None,
        suite_key: str | None = None,
        python: str | None = None,
        merge_base: str | None = None,
    ) -> None:
        """Record the code under test (commit, uncommitted changes, the merge-base of its
        change), the suite's definition and the interpreter, by which later runs find
        their baseline and tell a flaky test from a changed one."""
        self._write(
            lambda ledger: ledger.set_commit(
                self.run_id, head, branch, tree_state, suite_key, python, merge_base
            )
        )

    def record_tool(self, result: dict[str, Any]) -> None:
        """Keep the result of an external program (git) for the ledger."""
        self._tools.append(result)

    def finish(
        self,
        test_status: int,
        interrupted: bool = False,
        coverage: dict[str, Any] | None = None,
        patch: dict[str, Any] | None = None,
        collection_errors: int = 0,
    ) -> Outcome:
        """Judge the run: gates against the ledger's figures, final state, exit status.

        ``coverage`` and ``patch`` are the run's measured coverage and change
        under test, stored first so the verdict is computed from the ledger.
        """
        for worker_id, worker in self._workers.items():
            if worker["state"] in (WorkerState.BUSY, WorkerState.READY):
                self.worker(worker_id, WorkerState.IDLE if worker["tests_run"] else worker["state"])
            if self._workers[worker_id]["state"] not in (WorkerState.STOPPED, WorkerState.CRASHED):
                self.worker(worker_id, WorkerState.STOPPED)
        self.add_cost("run", self.run_id, "ledger_write_seconds", round(self.write_seconds, 6), "s")
        self.flush()
        self._write(lambda ledger: ledger.record_flips(self.run_id))
        for result in self._tools:
            self._write(_tool_result(self.run_id, result))
        if coverage is not None:
            measured = coverage
            self._write(lambda ledger: ledger.save_coverage(self.run_id, measured))
        if patch is not None:
            self._write(_patch_state(self.run_id, patch, "measured"))
        now = self.clock()
        if interrupted or test_status in (ExitCode.INTERRUPTED, ExitCode.INTERNAL_ERROR):
            interrupt = interrupted or test_status == ExitCode.INTERRUPTED
            cause = "interrupted" if interrupt else "internal error"
            if test_status == ExitCode.INTERRUPTED and not interrupted and collection_errors:
                # pytest stops before running anything when collection fails.
                plural = "s" if collection_errors != 1 else ""
                cause = f"{collection_errors} error{plural} during collection; no test ran"
            self._end(RunState.ERRORED, cause, int(test_status), None, now)
            return self._outcome([], None, int(test_status))

        self.transition(RunState.GATING)
        config = self.config.as_dict()
        results, notes = judge_gates(self.ledger, self.run_id, self.config.gates, config, now)
        for note in notes:
            self.note("waiver_expired", self.run_id, message=note)
        if test_status == ExitCode.TESTS_FAILED and _all_failures_waived(
            self.ledger, self.run_id, config, now
        ):
            test_status = ExitCode.OK
        documents = [result.as_dict() for result in results]
        self._write(lambda ledger: ledger.save_gates(self.run_id, documents))
        for document in documents:
            self.bus.publish(GateEvaluated(self.run_id, document))
        verdict = overall_verdict(results)
        exit_status = final_exit_status(test_status, verdict)
        if patch is not None:
            self._write(_patch_state(self.run_id, patch, "gated"))
        if test_status == ExitCode.USAGE_ERROR:
            self._end(RunState.ERRORED, "usage error", exit_status, verdict, now)
        elif exit_status == ExitCode.OK:
            self._end(RunState.PASSED, None, exit_status, verdict, now)
        else:
            reason = _failure_reason(test_status, verdict)
            self._end(RunState.FAILED, reason, exit_status, verdict, now)
        if patch is not None:
            accepted = exit_status == ExitCode.OK
            state = "accepted" if accepted else "rejected"
            self._write(_patch_state(self.run_id, patch, state))
        return self._outcome(results, verdict, exit_status, notes)

    def abort(self, reason: str, exit_status: int) -> None:
        """End the run ``errored`` before its tests ran (a usage error found at the start)."""
        if self.state.value in ("passed", "failed", "errored", "abandoned"):
            return
        self._end(RunState.ERRORED, reason[:500], exit_status, None, self.clock())

    def amend_exit_status(self, exit_status: int, reason: str) -> None:
        """Record the exit status the process really ends with, when something after the
        verdict (writing a report) changed it: the ledger never disagrees with the process."""
        state, end_reason = self.state.value, reason[:500]
        self._write(
            lambda ledger: ledger.set_run_state(
                self.run_id, state, exit_status=exit_status, end_reason=end_reason
            )
        )

    def _end(
        self,
        final: RunState,
        reason: str | None,
        exit_status: int,
        verdict: Verdict | None,
        now: float,
    ) -> None:
        end = {
            "finished_at": now,
            "exit_status": exit_status,
            "end_reason": reason,
            "verdict": verdict.value if verdict else None,
        }
        self._move(final, reason, {"exit_status": exit_status}, end)

    def _outcome(
        self,
        results: Sequence[GateResult],
        verdict: Verdict | None,
        exit_status: int,
        notes: Sequence[str] = (),
    ) -> Outcome:
        # The summary is built by this code from the ledger; the tests validate
        # it, and `uetf show --json` validates it before printing.
        summary = build_summary(self.ledger, self.run_id)
        self.bus.publish(RunFinished(self.run_id, summary))
        return Outcome(self.state, results, verdict, exit_status, summary, tuple(notes))


def _tool_result(run_id: str, result: dict[str, Any]) -> Write:
    return lambda ledger: ledger.add_tool_result(run_id, result)


def _patch_state(run_id: str, patch: dict[str, Any], state: str) -> Write:
    return lambda ledger: ledger.save_patch(run_id, {**patch, "state": state})


def _worker_row(worker: dict[str, Any]) -> dict[str, Any]:
    """A worker's row for the ledger: its state by name."""
    return {**worker, "state": worker["state"].value}


def _all_failures_waived(
    ledger: Ledger, run_id: str, config: RunConfigDocument, now: float
) -> bool:
    """Whether waivers excuse every failing test of the run (and no collection failed)."""
    waived = test_waivers(ledger, run_id, config, now)[0]
    if not waived:
        return False
    troubled = ledger.troubled(run_id)
    failing = {n for n, (final, _) in troubled.items() if final in ("failed", "error")}
    collection_broke = any(e["phase"] == "collect" for e in ledger.error_captures(run_id))
    return failing <= set(waived) and not collection_broke


def _failure_reason(test_status: int, verdict: Verdict) -> str:
    if test_status == ExitCode.TESTS_FAILED:
        return "tests failed"
    if test_status == ExitCode.NO_TESTS:
        return "no tests collected"
    if verdict is Verdict.ERROR:
        return "a gate could not be evaluated"
    return "gates failed"
