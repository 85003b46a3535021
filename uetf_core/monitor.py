"""Live progress and stalls, watched from a background thread.

The per-test path only counts (``done``, outcomes, the time the last test
ended, the finished node ids); a daemon thread turns that into a progress
snapshot every ``interval`` seconds, written to the ledger over its own
connection (so ``uetf watch`` sees it even while a test hangs) and to the
``--uetf-progress`` JSON file, and notices when no test has finished for
``stall_timeout`` seconds.
"""

from __future__ import annotations

import json
import os
import sys
import threading
import time
from collections.abc import Callable
from itertools import islice
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from uetf_core.ledger.base import Ledger

OUTCOMES = ("passed", "failed", "skipped", "xfailed", "xpassed", "error", "rerun")


class Progress:
    """What the per-test path updates; read by the monitor thread."""

    def __init__(self) -> None:
        self.started = time.time()
        self.done = 0
        self.outcomes = dict.fromkeys(OUTCOMES, 0)
        self.last_finished = self.started
        self.finished: list[str] = []
        self.tests: list[str] = []  # the collected node ids, in order

    def begin(self) -> None:
        """The tests start now (after collection)."""
        self.started = self.last_finished = time.time()

    def add(self, node_id: str, outcome: str, finished_at: float) -> None:
        self.done += 1
        self.outcomes[outcome] = self.outcomes.get(outcome, 0) + 1
        self.last_finished = finished_at
        self.finished.append(node_id)


class RunMonitor(threading.Thread):
    """Snapshots every ``interval`` seconds; a stall after ``stall_timeout`` seconds."""

    def __init__(
        self,
        ledger_location: str,
        run_id: str,
        progress: Progress,
        running: Callable[[], list[tuple[str, str]]],
        workers: int,
        interval: float,
        stall_timeout: float,
        progress_path: Path | None,
        alert: Callable[[str], None] | None = None,
    ) -> None:
        super().__init__(name="uetf-monitor", daemon=True)
        self.alert = alert or (lambda text: (sys.stderr.write(text), sys.stderr.flush()))
        self.location = ledger_location
        self.run_id = run_id
        self.progress = progress
        self.running = running
        self.workers = max(workers, 1)
        self.interval = interval
        self.stall_timeout = stall_timeout
        self.progress_path = progress_path
        self.stalls: list[dict[str, Any]] = []  # drained into the run's events by the session
        self._halt = threading.Event()
        self._estimates: dict[str, float] = {}
        self._default = 0.0
        self._expected_done = 0.0
        self._counted = 0
        self._stalled_since: float | None = None
        self._last_write: float | None = None  # the last snapshot's time; None: none yet
        self._ledger: Ledger | None = None
        self._loaded = False
        self.failed = False

    # -- the thread -------------------------------------------------------

    def run(self) -> None:
        try:
            while not self._halt.wait(self._until_due(time.time())):
                self._tick()
        except Exception as exc:  # the monitor must never take the run down
            self.failed = True
            sys.stderr.write(f"uetf: progress monitor stopped: {exc}\n")

    def stop(self, ledger: Ledger | None = None) -> None:
        """Stop the thread, write the final snapshot, close the thread's connection.

        ``ledger``: the run's own connection, for the final snapshot of a run that
        ended before the thread's first tick opened one.
        """
        self._halt.set()
        self.join(timeout=10)
        if self.is_alive():
            return
        own = self._ledger
        self._ledger = own or ledger
        try:
            if not self.failed and self._ledger is not None:
                self._write(self.snapshot())
        finally:
            if own is not None:
                own.close()
            self._ledger = None

    def _until_due(self, now: float) -> float:
        """Seconds until a snapshot is due or the run would count as stalled, if sooner.

        The thread sleeps until then rather than waking every second: each wake
        takes the interpreter from the thread running the tests, and a run of
        quick tests finishes one every few hundred microseconds, so its stall
        deadline keeps moving and is only looked at when it could have passed.
        """
        snapshot_at = self._snapshot_due()
        quiet_since = self.progress.last_finished
        if self._stalled_since == quiet_since:
            # This quiet spell is reported; the next one can end no sooner than
            # a full timeout after now (a test finishing now starts it).
            stall_at = now + self.stall_timeout
        else:
            stall_at = quiet_since + self.stall_timeout
        return max(min(snapshot_at, stall_at) - now, 0.0)

    def _snapshot_due(self) -> float:
        """When the next snapshot is due: ``interval`` after the last, or after the start."""
        last = self.progress.started if self._last_write is None else self._last_write
        return last + self.interval

    def _tick(self) -> None:
        now = time.time()
        self._check_stall(now)
        if now >= self._snapshot_due():
            self._last_write = now
            if self._ledger is None:
                # Connect when the first snapshot is due: a run shorter than the
                # interval opens no second connection (its last snapshot is
                # written over the run's own, in stop()).
                from uetf_core.ledger import open_ledger

                self._ledger = open_ledger(self.location)
            if not self._loaded:
                self._load_estimates()
            self._write(self.snapshot(now))

    def _load_estimates(self) -> None:
        """Recorded medians for the ETA, read once, when the first snapshot is due."""
        import statistics  # only for a run that lasts past its first snapshot

        self._loaded = True
        # The newest 5 runs, each test's median of them: this runs on the monitor's
        # thread while tests run, and 20 runs of a 5,000-test suite took a quarter
        # of a second to read (the tests the 5 runs missed get the default).
        assert self._ledger is not None  # opened by _tick before the first snapshot
        durations = self._ledger.recent_durations(5)
        self._estimates = {n: statistics.median(v) for n, v in durations.items() if v}
        if self._estimates:
            self._default = statistics.median(self._estimates.values())

    # -- progress -----------------------------------------------------------

    def snapshot(self, now: float | None = None) -> dict[str, Any]:
        from uetf_core.timeutil import iso

        now = time.time() if now is None else now
        progress = self.progress
        done = progress.done
        finished = progress.finished
        counted = self._counted
        if counted < len(finished):  # the tests finished since the last snapshot
            estimates, default = self._estimates, self._default
            if estimates:
                self._expected_done += sum(
                    estimates.get(node_id, default) for node_id in islice(finished, counted, None)
                )
            else:  # no history (or no snapshot before the run's end): each the default
                self._expected_done += (len(finished) - counted) * default
            self._counted = len(finished)
        total = max(len(progress.tests), done)
        elapsed = max(now - progress.started, 0.0)
        return {
            "run_id": self.run_id,
            "at": iso(now),
            "done": done,
            "total": total,
            "elapsed_seconds": round(elapsed, 3),
            "eta_seconds": self._eta(done, total, elapsed),
            "outcomes": dict(progress.outcomes),
        }

    def _eta(self, done: int, total: int, elapsed: float) -> float | None:
        """Seconds left: the expected time of the tests not run yet, at this run's pace."""
        if done >= total:
            return 0.0
        expected_all = sum(self._estimates.get(n, self._default) for n in self.progress.tests)
        if expected_all > 0 and self._expected_done > 0:
            pace = elapsed / (self._expected_done / self.workers)  # >1: slower than history
            return round((expected_all - self._expected_done) / self.workers * pace, 1)
        if done == 0:
            return None
        return round(elapsed / done * (total - done), 1)

    def _write(self, snapshot: dict[str, Any]) -> None:
        if self._ledger is not None:
            self._ledger.add_progress(snapshot)
        if self.progress_path is not None:
            scratch = self.progress_path.with_name(self.progress_path.name + ".tmp")
            scratch.write_text(json.dumps(snapshot, indent=2, allow_nan=False) + "\n")
            os.replace(scratch, self.progress_path)  # readers never see half a file

    # -- stalls ---------------------------------------------------------------

    def _check_stall(self, now: float) -> None:
        quiet = now - self.progress.last_finished
        if quiet < self.stall_timeout:
            self._stalled_since = None
            return
        if self._stalled_since == self.progress.last_finished:
            return  # this stall is already reported
        self._stalled_since = self.progress.last_finished
        running = self.running()
        tests = ", ".join(f"{node_id} on {worker}" for node_id, worker in running) or "none known"
        message = f"no test finished for {quiet:.0f} s; running: {tests}"
        self.stalls.append({"message": message, "running": running, "seconds": round(quiet, 1)})
        from uetf_core.terminal import visible_line  # test ids are data: shown, never obeyed

        self.alert(f"\n{visible_line(f'uetf: {message}')}\n")
