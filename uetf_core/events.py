"""A small typed publish/subscribe bus, so other code can observe a run as it happens.

The pytest plugin bridges it to its ``pytest_uetf_*`` hooks; a program using
``uetf_core`` directly subscribes here. Subscribers are called in the order
they subscribed, synchronously; a subscriber's exception propagates.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

from uetf_core.records import Event, ExecutionRecord

if TYPE_CHECKING:
    from typing import NamedTuple

    from uetf_core.documents import GateDocument, RunConfigDocument
    from uetf_core.report_documents import RunSummary
else:  # the same classes, defined at a fraction of the cost: see uetf_core.namedtuples
    from uetf_core.namedtuples import NamedTuple


class RunStarted(NamedTuple):
    """A run was created in the ledger."""

    run_id: str
    config: RunConfigDocument


class StateChanged(NamedTuple):
    """A run or a worker moved from one state to another."""

    run_id: str
    event: Event


class RecordAdded(NamedTuple):
    """A test attempt finished and its execution record joined the batch."""

    run_id: str
    record: ExecutionRecord


class GateEvaluated(NamedTuple):
    """A gate was judged; ``gate`` is its ``test_gate`` document."""

    run_id: str
    gate: GateDocument


class RunFinished(NamedTuple):
    """A run reached its final state; ``summary`` is its ``run_summary`` document."""

    run_id: str
    summary: RunSummary


E = TypeVar("E")


class EventBus:
    """Routes each published event to the subscribers of its type."""

    def __init__(self) -> None:
        self._subscribers: dict[type[Any], list[Callable[[Any], None]]] = defaultdict(list)

    def subscribe(self, kind: type[E], callback: Callable[[E], None]) -> None:
        """Call ``callback(event)`` for every published event of type ``kind``."""
        self._subscribers[kind].append(callback)

    def has_subscribers(self, kind: type[Any]) -> bool:
        """Whether publishing ``kind`` would reach anyone (lets hot paths skip building it)."""
        return bool(self._subscribers.get(kind))

    def publish(self, event: object) -> None:
        """Deliver ``event`` to its type's subscribers."""
        for callback in self._subscribers.get(type(event), ()):
            callback(event)
