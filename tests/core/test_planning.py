"""Estimates, shards and orders from recorded history, without pytest."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from uetf_core.errors import ConfigError
from uetf_core.planning import Plan, Shard, lpt_bins, parse_shard, shard_plan

HISTORY = {
    "a.py::slow": [2.0, 2.2, 1.8],
    "a.py::quick": [0.1, 0.1],
    "b.py::mid": [1.0],
    "b.py::tiny": [0.01, 5.0, 0.01, 0.01, 0.01, 9.0],  # only the newest five count
}


def test_estimates_fall_back_from_test_to_module_to_suite() -> None:
    plan = Plan.from_history(HISTORY, failed=[], known=[])
    assert plan.estimate("a.py::slow").seconds == 2.0
    assert plan.estimate("b.py::tiny").seconds == 0.01
    new_in_a = plan.estimate("a.py::new")
    assert new_in_a.fallback == "never recorded: median of its module"
    assert new_in_a.seconds == pytest.approx((2.0 + 0.1) / 2)
    elsewhere = plan.estimate("c.py::new")
    assert elsewhere.fallback == "never recorded: median of the suite"
    empty = Plan.from_history({}, failed=[], known=[]).estimate("x.py::t")
    assert (empty.seconds, empty.fallback) == (0.0, "no durations recorded in the ledger yet")


def test_orders() -> None:
    ids = ["a.py::quick", "b.py::mid", "a.py::slow", "c.py::new"]
    failed = Plan.from_history(HISTORY, failed=["b.py::mid"], known=[], order="failed-first")
    assert failed.ordered(ids)[0] == "b.py::mid"
    new = Plan.from_history(HISTORY, failed=[], known=list(HISTORY), order="new-first")
    assert new.ordered(ids)[0] == "c.py::new"
    longest = Plan.from_history(HISTORY, failed=[], known=[], order="longest-first")
    # c.py::new gets the suite median, 0.55 s: between mid (1.0) and quick (0.1).
    assert longest.ordered(ids) == ["a.py::slow", "b.py::mid", "c.py::new", "a.py::quick"]
    assert Plan().ordered(ids) == ids


def test_shards_are_balanced_and_travel_to_workers() -> None:
    plan = Plan.from_history(HISTORY, failed=[], known=[], shard=Shard(1, 2))
    assert plan.shard_of["a.py::slow"] != plan.shard_of["b.py::mid"]
    again = Plan.from_wire(plan.to_wire())
    collected = [*HISTORY, "new.py::t1", "new.py::t2"]
    assert again.shards_of(collected) == plan.shards_of(collected)
    assert {n: plan.shards_of(collected)[n] for n in HISTORY} == plan.shard_of
    shards = shard_plan(list(HISTORY), plan, 2)
    assert sorted(len(s["tests"]) for s in shards) == [1, 3]
    assert max(s["seconds"] for s in shards) == 2.0


@given(st.integers(1, 40), st.integers(1, 8))
def test_a_suite_never_seen_splits_evenly(tests: int, count: int) -> None:
    """With an empty ledger each shard gets its share of the tests, give or take one,
    in whatever order the tests were collected."""
    ids = [f"t{i % 3}.py::test_{i}" for i in range(tests)]
    plans = [Plan(shard=Shard(k, count)) for k in range(1, count + 1)]
    split = plans[0].shards_of(ids)
    assert all(p.shards_of(list(reversed(ids))) == split for p in plans)
    sizes = [list(split.values()).count(k) for k in range(1, count + 1)]
    assert max(sizes) - min(sizes) <= 1 and sum(sizes) == tests


def test_new_tests_fill_the_shards_known_tests_left_light() -> None:
    plan = Plan.from_history(HISTORY, failed=[], known=[], shard=Shard(1, 2))
    split = plan.shards_of([*HISTORY, "new.py::t1", "new.py::t2"])
    light = 1 + (plan.shard_of["a.py::slow"] == 1)  # the shard without the 2-second test
    assert split["new.py::t1"] == split["new.py::t2"] == light


def test_without_durations_shards_split_by_count() -> None:
    ids = [f"t.py::t{i}" for i in range(10)]
    bins = lpt_bins(ids, Plan(), 3)
    assert sorted(list(bins.values()).count(b) for b in (1, 2, 3)) == [3, 3, 4]


@given(st.dictionaries(st.text(min_size=1), st.floats(0, 100), min_size=1), st.integers(1, 6))
def test_every_test_lands_in_exactly_one_shard(durations: dict[str, float], count: int) -> None:
    plan = Plan.from_history({k: [v] for k, v in durations.items()}, [], [], shard=Shard(1, count))
    ids = [*durations, "unrecorded::x"]
    shards = shard_plan(ids, plan, count)
    placed = [node_id for s in shards for node_id in s["tests"]]
    assert sorted(placed) == sorted(ids)
    # LPT's bound: no shard exceeds an even split by more than the longest test.
    longest = max(plan.estimate(n).seconds for n in ids)
    assert (
        max(s["seconds"] for s in shards)
        <= sum(s["seconds"] for s in shards) / count + longest + 1e-6
    )


@pytest.mark.parametrize("text", ["0/4", "5/4", "a/b", "3", "1/0"])
def test_bad_shard_is_a_usage_error(text: str) -> None:
    with pytest.raises(ConfigError, match="K/N"):
        parse_shard(text)
    assert str(parse_shard("2/4")) == "2/4"
