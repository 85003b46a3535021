"""What UETF reads of xdist's handle on a worker; xdist ships no type hints of its own."""

from __future__ import annotations

from typing import Protocol


class Gateway(Protocol):
    """execnet's channel to the worker process."""

    id: str  # the worker's name: gw0, gw1...


class WorkerNode(Protocol):
    """xdist's ``WorkerController``: one worker, as the controller and its scheduler see it."""

    gateway: Gateway
    workerinput: dict[str, object]  # sent to the worker when it starts
    shutting_down: bool

    def shutdown(self) -> None: ...

    def send_runtest_some(self, indices: list[int]) -> None: ...
