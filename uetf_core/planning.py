"""Estimates, shards and orderings from the durations and outcomes the ledger remembers.

A :class:`Plan` is computed once on the controller from the ledger and is
plain data, so it crosses to xdist workers (which never open the ledger) and
every process orders and shards a collection the same way.
"""

from __future__ import annotations

import hashlib
import heapq
import statistics
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from uetf_core.errors import ConfigError

STRATEGIES = ("duration", "module", "hash")
ORDERS = ("failed-first", "new-first", "longest-first")
# Durations per test taken into its estimate: the median of the most recent ones.
RECENT = 5
# The most shards a suite is split into: far more CI jobs than any build runs, and few
# enough that a plan of every shard stays small (--uetf-shard=1/99999999999999 asked
# for a list of 10**14 loads).
MAX_SHARDS = 10_000


def module_of(node_id: str) -> str:
    return node_id.split("::", 1)[0]


def stable_hash(node_id: str) -> int:
    """The same number for a node id in every process and on every machine."""
    return int.from_bytes(hashlib.blake2b(node_id.encode(), digest_size=8).digest(), "big")


@dataclass(frozen=True)
class Estimate:
    seconds: float
    fallback: str | None = None  # why the test's own durations were not used


@dataclass(frozen=True)
class Shard:
    index: int  # 1-based, as users write it
    count: int

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"


def parse_shard(text: str) -> Shard:
    """``K/N`` with 1 <= K <= N <= MAX_SHARDS."""
    index, sep, count = text.partition("/")
    try:
        shard = Shard(int(index), int(count))
    except ValueError:
        shard = None
    if not sep or shard is None or not 1 <= shard.index <= shard.count:
        raise ConfigError(f"--uetf-shard {text!r}: give K/N with 1 <= K <= N, e.g. 2/4")
    check_shard_count(shard.count, f"--uetf-shard {text!r}")
    return shard


def check_shard_count(count: int, where: str) -> int:
    """Refuse a number of shards below 1 or above MAX_SHARDS, in one line."""
    if not 1 <= count <= MAX_SHARDS:
        raise ConfigError(f"{where}: the number of shards must be 1 to {MAX_SHARDS:,}, got {count}")
    return count


@dataclass
class Plan:
    """What the ledger says about the tests: durations, last failures, known tests."""

    durations: dict[str, float] = field(default_factory=dict)  # median of the recent ones
    failed: set[str] = field(default_factory=set)  # failed or errored when they last ran
    known: set[str] = field(default_factory=set)  # ever recorded
    order: str | None = None
    shard: Shard | None = None
    # The shard of each test the ledger knows, fixed when the plan is made, so
    # that every shard job computes the same split.
    shard_of: dict[str, int] = field(default_factory=dict)

    @classmethod
    def from_history(
        cls,
        recent: Mapping[str, Sequence[float]],
        failed: Iterable[str],
        known: Iterable[str],
        order: str | None = None,
        shard: Shard | None = None,
    ) -> Plan:
        """``recent``: per test its durations, newest first."""
        durations = {
            node_id: statistics.median(values[:RECENT])
            for node_id, values in recent.items()
            if values
        }
        plan = cls(durations, set(failed), set(known), order, shard)
        if shard is not None:
            plan.shard_of = lpt_bins(list(durations), plan, shard.count)
        return plan

    # -- estimates ---------------------------------------------------------

    def _medians(self) -> tuple[dict[str, float], float | None]:
        cached = getattr(self, "_cache", None)
        if cached is None:
            by_module: dict[str, list[float]] = {}
            for node_id, seconds in self.durations.items():
                by_module.setdefault(module_of(node_id), []).append(seconds)
            modules = {m: statistics.median(v) for m, v in by_module.items()}
            suite = statistics.median(self.durations.values()) if self.durations else None
            cached = (modules, suite)
            object.__setattr__(self, "_cache", cached)
        return cached

    def estimate(self, node_id: str) -> Estimate:
        """Expected seconds: the test's own recent median, else its module's, else the suite's."""
        own = self.durations.get(node_id)
        if own is not None:
            return Estimate(own)
        modules, suite = self._medians()
        module = modules.get(module_of(node_id))
        if module is not None:
            return Estimate(module, "never recorded: median of its module")
        if suite is not None:
            return Estimate(suite, "never recorded: median of the suite")
        return Estimate(0.0, "no durations recorded in the ledger yet")

    # -- shards and order ----------------------------------------------------

    def shards_of(self, node_ids: Sequence[str]) -> dict[str, int]:
        """The 1-based shard of each collected test.

        Tests the plan knows keep their shard; the others are spread over the
        shards, longest estimate first, onto the least loaded one (by time,
        then by count), so a suite the ledger has never seen splits evenly
        (hashing alone put 4 new tests of 4 in one shard of 2, one time in 8).
        The same collection gives the same split in every shard job and worker.
        """
        assert self.shard is not None
        placed = {n: self.shard_of[n] for n in node_ids if n in self.shard_of}
        loads = [0.0] * self.shard.count
        counts = [0] * self.shard.count
        for node_id, index in placed.items():
            loads[index - 1] += self.estimate(node_id).seconds
            counts[index - 1] += 1
        heap = [(loads[b], counts[b], b) for b in range(self.shard.count)]
        heapq.heapify(heap)
        fresh = sorted(
            {n for n in node_ids if n not in placed}, key=lambda n: (-self.estimate(n).seconds, n)
        )
        for node_id in fresh:
            load, count, target = heap[0]
            heapq.heapreplace(heap, (load + self.estimate(node_id).seconds, count + 1, target))
            placed[node_id] = target + 1
        return placed

    def priority(self, node_id: str) -> tuple[float, str]:
        """The test's priority under ``order`` (higher runs earlier) and why."""
        if self.order == "failed-first":
            if node_id in self.failed:
                return 1.0, "failed when it last ran"
            return 0.0, "passed or did not fail when it last ran"
        if self.order == "new-first":
            if node_id not in self.known:
                return 1.0, "new: never recorded in the ledger"
            return 0.0, "recorded before"
        estimate = self.estimate(node_id)
        return estimate.seconds, f"estimated {estimate.seconds:.3f} s" + (
            f" ({estimate.fallback})" if estimate.fallback else ""
        )

    def ordered(self, node_ids: Sequence[str]) -> list[str]:
        """``node_ids`` by priority, highest first; ties keep their collected order."""
        if self.order is None:
            return list(node_ids)
        return sorted(node_ids, key=lambda n: -self.priority(n)[0])

    # -- crossing to xdist workers -------------------------------------------

    def to_wire(self) -> dict[str, Any]:
        return {
            "durations": self.durations,
            "failed": sorted(self.failed),
            "known": sorted(self.known) if self.order == "new-first" else [],
            "order": self.order,
            "shard": [self.shard.index, self.shard.count] if self.shard else None,
            "shard_of": self.shard_of,
        }

    @classmethod
    def from_wire(cls, data: Mapping[str, Any]) -> Plan:
        shard = Shard(*data["shard"]) if data["shard"] else None
        return cls(
            dict(data["durations"]),
            set(data["failed"]),
            set(data["known"]),
            data["order"],
            shard,
            dict(data["shard_of"]),
        )


def lpt_bins(node_ids: Sequence[str], plan: Plan, bins: int) -> dict[str, int]:
    """Longest processing time first: each test, longest first, to the least loaded bin.

    Deterministic: ties in duration break by node id, ties in load by bin number.
    Returns 1-based bins.
    """
    # A heap of (load, tests, bin): the least loaded bin first, fewer tests breaking ties
    # (with no durations at all this balances the number of tests), then the lower bin.
    heap = [(0.0, 0, b) for b in range(bins)]
    placed: dict[str, int] = {}
    for node_id in sorted(node_ids, key=lambda n: (-plan.estimate(n).seconds, n)):
        load, count, target = heap[0]
        heapq.heapreplace(heap, (load + plan.estimate(node_id).seconds, count + 1, target))
        placed[node_id] = target + 1
    return placed


def shard_plan(node_ids: Sequence[str], plan: Plan, count: int) -> list[dict[str, Any]]:
    """Per shard: its tests and their expected seconds (what ``uetf plan`` prints)."""
    bins = lpt_bins(node_ids, plan, count)
    tests: list[list[str]] = [[] for _ in range(count)]
    seconds = [0.0] * count
    for node_id in node_ids:
        tests[bins[node_id] - 1].append(node_id)
        seconds[bins[node_id] - 1] += plan.estimate(node_id).seconds
    return [
        {"shard": f"{i + 1}/{count}", "tests": tests[i], "seconds": round(seconds[i], 3)}
        for i in range(count)
    ]
