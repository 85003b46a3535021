"""Shards and run order applied to the collected items, the same way in every process.

Registered on the controller of a serial run and on each xdist worker (which
receives the plan from the controller, never the ledger), so that workers
report the same, already sharded and ordered, collection.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from uetf_core.planning import Plan

Ordered = Callable[[list[str]], None]


class PlannedItems:
    """Deselects the tests of other shards and orders the rest by the plan."""

    def __init__(self, plan: Plan, on_ordered: Ordered | None = None) -> None:
        self.plan = plan
        self.on_ordered = on_ordered

    @pytest.hookimpl(trylast=True)
    def pytest_collection_modifyitems(
        self, session: pytest.Session, config: pytest.Config, items: list[pytest.Item]
    ) -> None:
        plan = self.plan
        if plan.shard is not None:
            mine = plan.shard.index
            shard_of = plan.shards_of([item.nodeid for item in items])
            kept = [item for item in items if shard_of[item.nodeid] == mine]
            others = [item for item in items if shard_of[item.nodeid] != mine]
            if others:
                config.hook.pytest_deselected(items=others)
            items[:] = kept
        if plan.order is not None:
            position = {item.nodeid: item for item in items}
            items[:] = [position[node_id] for node_id in plan.ordered(list(position))]
            if self.on_ordered is not None:
                self.on_ordered([item.nodeid for item in items])
