"""The records a run produces, as small value objects with their schema documents.

Execution records are built once per test (when its teardown report arrives)
and appended to a batch; their dictionaries are only made for output. A test
that plainly passed is recorded as a ``PassedRow`` tuple instead, the cheapest
thing Python builds; ``full_record`` gives its ExecutionRecord.

The per-test classes are plain classes with ``__slots__`` and their own
``__init__``, compared and shown field by field (:class:`_Value`). Every
``pytest --uetf`` imports them: a ``@dataclass(slots=True)`` compiles its
generated methods and builds each class twice at import (docs/performance.md
counts it), and a frozen one sets each field
through ``object.__setattr__``, four times as slow to build, a cost paid for
every test. Nothing mutates a record after it is built. An event, made a few
times per run, is a named tuple (see ``uetf_core.metrics``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Final

from uetf_core.timeutil import iso

if TYPE_CHECKING:
    from typing import NamedTuple
else:  # the same classes, defined at a fraction of the cost: see uetf_core.namedtuples
    from uetf_core.namedtuples import NamedTuple

MAX_MESSAGE = 4096
MAX_TRACEBACK = 16384


class _Value:
    """Equality and ``repr`` field by field, over the ``__slots__`` of a record class."""

    __slots__: tuple[str, ...] = ()

    def __eq__(self, other: object) -> bool:
        if other.__class__ is not self.__class__:
            return NotImplemented
        return all(getattr(self, name) == getattr(other, name) for name in self.__slots__)

    __hash__ = None  # type: ignore[assignment]  # mutable by type, as a dataclass's

    def __repr__(self) -> str:
        fields = ", ".join(f"{name}={getattr(self, name)!r}" for name in self.__slots__)
        return f"{type(self).__name__}({fields})"


class PhaseResult(_Value):
    """The outcome and duration of setup, call or teardown."""

    __slots__ = ("outcome", "duration")  # noqa: RUF023  # in field order, as repr shows

    def __init__(self, outcome: str, duration: float) -> None:
        self.outcome = outcome
        self.duration = duration

    def as_dict(self) -> dict[str, Any]:
        return {"outcome": self.outcome, "duration": self.duration}


def storable(text: str) -> str:
    """``text`` as both back ends can hold it, the same wherever it is read: NUL shown
    as ``\\x00`` (PostgreSQL's text cannot hold it), and what UTF-8 cannot encode
    (the lone surrogates Python decodes an undecodable file name's bytes to, as in
    ``FileNotFoundError: 'caf\\udce9.txt'``) shown as its escape."""
    if not text.isascii():
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            text = text.encode("utf-8", "backslashreplace").decode("utf-8")
    return text.replace("\x00", "\\x00") if "\x00" in text else text


class ErrorCapture(_Value):
    """Why a test (or a collector) failed: type, message, place, bounded traceback."""

    __slots__ = (  # noqa: RUF023  # in field order, as repr shows them
        "node_id",
        "attempt",
        "phase",
        "exc_type",
        "message",
        "path",
        "lineno",
        "traceback",
        "truncated",
    )

    def __init__(
        self,
        node_id: str,
        attempt: int,
        phase: str,
        exc_type: str,
        message: str,
        path: str | None,
        lineno: int | None,
        traceback: str,
        truncated: bool,
    ) -> None:
        self.node_id = node_id
        self.attempt = attempt
        self.phase = phase
        self.exc_type = exc_type
        self.message = message
        self.path = path
        self.lineno = lineno
        self.traceback = traceback
        self.truncated = truncated

    @classmethod
    def bounded(
        cls,
        node_id: str,
        attempt: int,
        phase: str,
        exc_type: str,
        message: str,
        path: str | None,
        lineno: int | None,
        traceback: str,
    ) -> ErrorCapture:
        """An error capture with message and traceback cut to their size limits.

        The traceback keeps its head and its tail: the tail holds the failing
        line, the head the test that led there.
        """
        message, traceback = storable(message), storable(traceback)
        truncated = len(traceback) > MAX_TRACEBACK or len(message) > MAX_MESSAGE
        if len(traceback) > MAX_TRACEBACK:
            marker = "\n... [traceback cut by uetf] ...\n"
            keep = (MAX_TRACEBACK - len(marker)) // 2
            traceback = traceback[:keep] + marker + traceback[-keep:]
        return cls(
            node_id,
            attempt,
            phase,
            exc_type or "Error",
            message[:MAX_MESSAGE],
            path and storable(path),
            lineno,
            traceback,
            truncated,
        )

    def as_dict(self) -> dict[str, Any]:
        """The ``error_capture`` document."""
        return {
            "node_id": self.node_id,
            "attempt": self.attempt,
            "phase": self.phase,
            "exc_type": self.exc_type,
            "message": self.message,
            "path": self.path,
            "lineno": self.lineno,
            "traceback": self.traceback,
            "truncated": self.truncated,
        }


class ExecutionRecord(_Value):
    """One attempt at one test: its phases, outcome, timing and worker."""

    __slots__ = (  # noqa: RUF023  # in field order, as repr shows them
        "node_id",
        "attempt",
        "worker",
        "outcome",
        "setup",
        "call",
        "teardown",
        "duration",
        "started_at",
        "finished_at",
        "skip_reason",
        "xfail_reason",
        "error",
        "cpu",
    )

    def __init__(
        self,
        node_id: str,
        attempt: int,
        worker: str,
        outcome: str,
        setup: PhaseResult | None,
        call: PhaseResult | None,
        teardown: PhaseResult | None,
        duration: float,
        started_at: float,
        finished_at: float,
        skip_reason: str | None = None,
        xfail_reason: str | None = None,
        error: ErrorCapture | None = None,
        cpu: float | None = None,  # CPU seconds of the process while the test ran
    ) -> None:
        self.node_id = node_id
        self.attempt = attempt
        self.worker = worker
        self.outcome = outcome
        self.setup = setup
        self.call = call
        self.teardown = teardown
        self.duration = duration
        self.started_at = started_at
        self.finished_at = finished_at
        self.skip_reason = skip_reason
        self.xfail_reason = xfail_reason
        self.error = error
        self.cpu = cpu

    def replaced(self, **changes: Any) -> ExecutionRecord:
        """A copy with the fields named in ``changes`` set to their new values."""
        copy = ExecutionRecord.__new__(ExecutionRecord)
        for name in self.__slots__:
            setattr(copy, name, changes.pop(name, getattr(self, name)))
        if changes:
            raise TypeError(f"ExecutionRecord has no field {next(iter(changes))!r}")
        return copy

    def as_dict(self, run_id: str) -> dict[str, Any]:
        """The ``test_execution_record`` document."""
        return {
            "run_id": run_id,
            "node_id": self.node_id,
            "attempt": self.attempt,
            "worker": self.worker,
            "outcome": self.outcome,
            "setup": self.setup.as_dict() if self.setup else None,
            "call": self.call.as_dict() if self.call else None,
            "teardown": self.teardown.as_dict() if self.teardown else None,
            "duration": self.duration,
            "started_at": iso(self.started_at),
            "finished_at": iso(self.finished_at),
            "skip_reason": self.skip_reason,
            "xfail_reason": self.xfail_reason,
            "error": self.error.as_dict() if self.error else None,
            "cpu_seconds": self.cpu,
        }


# A test whose setup, call and teardown all passed (most tests of most runs),
# as the plugin records it: a plain tuple of (node_id, attempt, worker,
# setup_duration, call_duration, teardown_duration, started_at, finished_at,
# cpu_seconds). Its outcome and its phases' outcomes are "passed", its duration
# the sum of the three. Building an ExecutionRecord and its three PhaseResults
# costs several times what the tuple does, every test; the full record is
# made (``full_record``) only for whoever asks for one.
PassedRow = tuple[str, int, str, float, float, float, float, float, float | None]
AnyRecord = ExecutionRecord | PassedRow
# Where code that reads one field of a PassedRow finds it.
PASSED_NODE_ID: Final = 0
PASSED_WORKER: Final = 2
PASSED_FINISHED_AT: Final = 7


def essentials(record: AnyRecord) -> tuple[str, str, str, float, ErrorCapture | None]:
    """Node id, worker, outcome, end and error of a record in either form: the one
    place outside the ledger's row layouts that tells a PassedRow apart."""
    if isinstance(record, tuple):
        return (
            record[PASSED_NODE_ID],
            record[PASSED_WORKER],
            "passed",
            record[PASSED_FINISHED_AT],
            None,
        )
    return record.node_id, record.worker, record.outcome, record.finished_at, record.error


def full_record(record: AnyRecord) -> ExecutionRecord:
    """The ExecutionRecord of a record in either form."""
    if not isinstance(record, tuple):
        return record
    node_id, attempt, worker, setup, call, teardown, started_at, finished_at, cpu = record
    return ExecutionRecord(
        node_id,
        attempt,
        worker,
        "passed",
        PhaseResult("passed", setup),
        PhaseResult("passed", call),
        PhaseResult("passed", teardown),
        setup + call + teardown,
        started_at,
        finished_at,
        cpu=cpu,
    )


class Event(NamedTuple):
    """A state transition or notable happening, as persisted in the ledger."""

    at: float
    kind: str
    subject: str
    from_state: str | None = None
    to_state: str | None = None
    data: dict[str, Any] | None = None

    def as_dict(self, run_id: str, seq: int) -> dict[str, Any]:
        """The ``execution_event`` document."""
        return {
            "run_id": run_id,
            "seq": seq,
            "at": iso(self.at),
            "kind": self.kind,
            "subject": self.subject,
            "from_state": self.from_state,
            "to_state": self.to_state,
            "data": self.data or {},
        }
