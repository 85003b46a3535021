"""Routing tests to xdist workers from recorded durations: an xdist scheduler.

Built on xdist's own ``LoadScheduling`` bookkeeping (node queues, crashes,
shutdown); only what is sent where and when differs:

- ``duration``: longest expected first, each worker kept busy with a queue
  just long enough to hide the round trip. Long tests go one or two at a
  time, so no worker is left with a long tail; quick ones in larger chunks.
- ``module``: a module's tests all go to one worker (its module fixtures are
  set up once), modules longest first.
- ``hash``: every test to the worker its node id hashes to; stable between runs.

Each assignment is reported through ``on_route`` as a routing decision.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

import pytest
from xdist.scheduler import LoadScheduling

from uetf_core.planning import Plan, module_of, stable_hash

if TYPE_CHECKING:
    from pytest_uetf.nodes import WorkerNode

Route = Callable[[str, str, str, float | None, str | None, float], None]


class PlannedScheduling(LoadScheduling):  # type: ignore[misc]  # xdist has no type hints
    """An xdist scheduler that routes by a :class:`Plan` from the ledger."""

    collection: list[str] | None  # LoadScheduling's: the node ids every worker collected

    def __init__(
        self, config: pytest.Config, log: object, plan: Plan, strategy: str, on_route: Route
    ) -> None:
        super().__init__(config, log)
        self.plan = plan
        self.strategy = strategy
        self.on_route = on_route
        self.units: list[list[int]] = []  # what is sent together, in sending order
        self.remaining = 0.0  # expected seconds of the tests not yet sent
        self.estimates: list[float] = []  # expected seconds of each test, by index
        self.fallbacks: list[str | None] = []  # why an estimate is a guess, by index

    @property
    def tests_finished(self) -> bool:
        return not self.units and bool(super().tests_finished)

    @property
    def has_pending(self) -> bool:
        return bool(self.units) or bool(super().has_pending)

    # -- the initial distribution ----------------------------------------------

    def schedule(self) -> None:
        assert self.collection_is_completed
        if self.collection is not None:  # a node joined late (a restart): refill everyone
            for node in self.nodes:
                self.check_schedule(node)
            return
        if not self._check_nodes_have_same_collection():
            self.log("**Different tests collected, aborting run**")
            return
        self.collection = list(next(iter(self.node2collection.values())))
        self.pending[:] = []
        if not self.collection:
            return
        estimate = [self.plan.estimate(node_id) for node_id in self.collection]
        self.estimates = [e.seconds for e in estimate]
        self.fallbacks = [e.fallback for e in estimate]
        self.remaining = sum(self.estimates)
        if self.strategy == "hash":
            self._send_by_hash()
            return
        if self.strategy == "module":
            groups: dict[str, list[int]] = {}
            for index, node_id in enumerate(self.collection):
                groups.setdefault(module_of(node_id), []).append(index)
            self.units = sorted(
                groups.values(), key=lambda g: (-self._priority(g), -self._seconds(g), g[0])
            )
        else:
            order = sorted(
                range(len(self.collection)),
                key=lambda i: (-self._priority([i]), -self.estimates[i], i),
            )
            self.units = [[i] for i in order]
        for node in self.nodes:
            self.check_schedule(node)

    def _priority(self, indices: Sequence[int]) -> float:
        """The ``--uetf-order`` priority of a unit: its highest, 0 without an order."""
        assert self.collection is not None
        if self.plan.order is None or self.plan.order == "longest-first":
            return 0.0
        return max(self.plan.priority(self.collection[i])[0] for i in indices)

    def _seconds(self, indices: Sequence[int]) -> float:
        return sum(self.estimates[i] for i in indices)

    def _send_by_hash(self) -> None:
        assert self.collection is not None
        nodes = sorted(self.nodes, key=lambda n: str(n.gateway.id))
        chosen: dict[WorkerNode, list[int]] = {node: [] for node in nodes}
        for index, node_id in enumerate(self.collection):
            chosen[nodes[stable_hash(node_id) % len(nodes)]].append(index)
        for node, indices in chosen.items():
            if indices:
                self._send(node, indices, None)
        for node in nodes:
            node.shutdown()

    # -- keeping workers busy --------------------------------------------------

    def check_schedule(self, node: WorkerNode, duration: float = 0) -> None:
        if node.shutting_down:
            return
        if self.pending:  # tests handed back by a crashed worker: anyone may take them
            self._send(node, list(self.pending), "its worker crashed; sent to another")
            self.pending[:] = []
        if not self.units:
            if self.strategy != "hash" or not self.node2pending[node]:
                node.shutdown()
            return
        queued = self.node2pending[node]
        if self.strategy == "module":
            if len(queued) < 2:
                self._send(node, self.units.pop(0), None)
            return
        # Queue at least two tests (a worker needs to know its next test), and
        # about an eighth of each worker's share of what is left.
        target = self.remaining / (len(self.node2pending) * 8)
        queued_seconds = sum(self.estimates[i] for i in queued[1:])
        batch: list[int] = []
        while self.units and (len(queued) + len(batch) < 2 or queued_seconds < target):
            (index,) = self.units.pop(0)
            batch.append(index)
            queued_seconds += self.estimates[index]
        if batch:
            self._send(node, batch, None)

    def _send(self, node: WorkerNode, indices: list[int], reason: str | None) -> None:
        assert self.collection is not None
        now = time.time()
        target = str(node.gateway.id)
        for index in indices:
            self.remaining -= self.estimates[index]
            self.on_route(
                self.collection[index],
                target,
                self.strategy,
                self.estimates[index],
                reason or self.fallbacks[index],
                now,
            )
        self.node2pending[node].extend(indices)
        node.send_runtest_some(indices)

    def mark_test_pending(self, item: str) -> None:
        assert self.collection is not None
        self.units.insert(0, [self.collection.index(item)])
        for node in self.nodes:
            self.check_schedule(node)
