"""Ledger writes done on a thread of their own while the tests run.

SQLite and PostgreSQL do their work (B-tree inserts, the write-ahead log, the
network) without holding Python's GIL, so a batch written on this thread
overlaps the tests running on the main one; on a machine with two cores or
more, the run does not wait for its own records.

While anything is queued the thread owns the ledger: whoever else wants the
ledger calls :meth:`BackgroundWriter.settle` first, which waits for the queue
to empty. Writes keep their order. A write that failed is raised again in the
caller's thread, at its next submit or settle, so the run stops with the same
one-line error as a write done in place.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable
from typing import ParamSpec

P = ParamSpec("P")
Job = Callable[[], object]


class BackgroundWriter:
    """Runs submitted writes, in order, on one daemon thread."""

    def __init__(self, name: str = "uetf-writer") -> None:
        self._queue: queue.SimpleQueue[Job | None] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._idle = threading.Event()
        self._idle.set()
        self._pending = 0
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._work, name=name, daemon=True)
        self._thread.start()

    def submit(self, write: Callable[P, object], *args: P.args, **kwargs: P.kwargs) -> None:
        """Queue ``write(*args, **kwargs)``; raise here a failure of an earlier write."""
        self._raise_failure()
        with self._lock:
            self._pending += 1
            self._idle.clear()
        self._queue.put(lambda: write(*args, **kwargs))

    def settle(self) -> None:
        """Wait until every submitted write is done; raise a failure of any."""
        self._idle.wait()
        self._raise_failure()

    def close(self) -> None:
        """Finish the queued writes and stop the thread (a failure is raised)."""
        try:
            self.settle()
        finally:
            self._queue.put(None)
            self._thread.join()

    def _raise_failure(self) -> None:
        error, self._error = self._error, None
        if error is not None:
            raise error

    def _work(self) -> None:
        while True:
            item = self._queue.get()
            if item is None:
                return
            try:
                item()
            except BaseException as exc:  # handed to the caller's thread
                if self._error is None:
                    self._error = exc
            finally:
                with self._lock:
                    self._pending -= 1
                    if not self._pending:
                        self._idle.set()
