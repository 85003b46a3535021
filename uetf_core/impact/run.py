"""Test impact analysis in one run, on the process that records it.

The front end (the pytest plugin) asks :meth:`ImpactRun.select` at the start,
removes the tests the selection leaves out, hands over each test's entered code
(:meth:`add_test`, or a worker's whole output with :meth:`add_wire`) and the
tests it left out (:meth:`left_out`); :meth:`finish` runs inside
:meth:`RunSession.finish <uetf_core.session.RunSession.finish>` before the gates
judge: it carries the left-out tests' results and coverage from the baseline,
stores the selection and every test's dependencies, in a few bulk writes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from uetf_core.impact.carry import carried_coverage
from uetf_core.impact.dependencies import BlockIndex
from uetf_core.impact.environment import Environment, current_environment
from uetf_core.impact.planner import SelectionPlan, plan_selection, source_at
from uetf_core.impact.recorder import EnteredCode
from uetf_core.impact.selection import BlockDependency, Reason, relied_on, select_tests
from uetf_core.impact.stored import RecordedRun, SelectionRecord

if TYPE_CHECKING:
    from uetf_core.ledger.base import Ledger
    from uetf_core.run import RunRecorder

MODES = ("affected", "shadow")

# Entered code as it travels from an xdist worker: (path, first line, qualname).
WireCode = tuple[str, int, str]


def to_wire(entered: Iterable[EnteredCode]) -> list[WireCode]:
    return [(e.path, e.first_line, e.qualname) for e in entered]


def from_wire(codes: Iterable[Sequence[Any]]) -> frozenset[EnteredCode]:
    return frozenset(EnteredCode(str(p), int(line), str(q)) for p, line, q in codes)


class ImpactRun:
    """What the run selected and recorded, and what it stores at its end.

    ``mode``: "affected" (run the selection, carry the rest), "shadow" (run all,
    note what selection would have left out) or None (record dependencies only).
    """

    def __init__(self, root: Path, mode: str | None, input_globs: Sequence[str] = ()) -> None:
        self.root = root
        self.mode = mode
        self.input_globs = tuple(input_globs)  # [tool.uetf] impact_inputs
        self.plan: SelectionPlan | None = None
        self.mechanism: str | None = None  # None: no recorder could start
        self.problem: str | None = None  # why dependencies were not recorded
        self.tests: dict[str, frozenset[EnteredCode]] = {}
        self.outside: set[EnteredCode] = set()
        self.collected: list[str] | None = None  # before selection removed any
        self.removed: list[str] = []
        self.carried = 0
        self.ran = 0
        self.environment = current_environment()
        # Failures whose code did not change since they passed: (node id, that run, blocks).
        self.likely_flaky: list[tuple[str, str, int]] = []

    # -- the start --------------------------------------------------------------

    def select(
        self, ledger: Ledger, base: str | None, suite_key: str | None, run_id: str
    ) -> SelectionPlan:
        """Decide, before collection, which of the baseline's tests selection leaves out."""
        self.plan = plan_selection(
            ledger,
            self.root,
            base=base,
            suite_key=suite_key,
            exclude=run_id,
            input_globs=self.input_globs,
            environment=self.environment,
        )
        return self.plan

    @property
    def left_out_ids(self) -> frozenset[str]:
        """The tests to remove from the collection (none in shadow mode)."""
        if self.mode != "affected" or self.plan is None:
            return frozenset()
        return self.plan.unselected

    # -- what the processes hand over ---------------------------------------------

    def add_test(self, node_id: str, entered: frozenset[EnteredCode]) -> None:
        known = self.tests.get(node_id)
        self.tests[node_id] = entered if known is None else known | entered

    def left_out(self, collected: Sequence[str], removed: Sequence[str]) -> None:
        """What one process collected and removed (every xdist worker collects the same)."""
        if self.collected is None:
            self.collected = list(collected)
            self.removed = list(removed)

    def add_wire(self, wire: dict[str, Any]) -> None:
        """A worker's output: its mechanism, tests, time outside tests, collection."""
        if wire.get("problem"):
            self.problem = str(wire["problem"])
        elif wire.get("mechanism"):
            self.mechanism = str(wire["mechanism"])
        for node_id, codes in wire.get("tests", ()):
            self.add_test(str(node_id), from_wire(codes))
        self.outside.update(from_wire(wire.get("outside", ())))
        if wire.get("collected") is not None:
            self.left_out(list(wire["collected"]), list(wire.get("removed", ())))

    # -- the end ----------------------------------------------------------------

    def finish(
        self, recorder: RunRecorder, coverage: dict[str, Any] | None
    ) -> dict[str, Any] | None:
        """Carry, store the selection and the dependencies; the coverage, made whole."""
        ledger, run_id = recorder.ledger, recorder.run_id
        recorder.flush()  # the run's own records, read back below (its failures)
        plan = self.plan
        removed = list(self.removed) if self.mode == "affected" else []
        baseline_id = plan.baseline_run_id if plan is not None else None
        if removed and baseline_id is not None:
            self.carried = ledger.carry_results(run_id, baseline_id, removed)
            if coverage is not None:
                assert plan is not None
                coverage = carried_coverage(
                    coverage,
                    ledger.coverage(baseline_id),
                    plan.change.changed_files,
                    self._source_at(plan.baseline_commit),
                    self._source_now,
                )
        self.ran = len(self.tests) if self.tests else len(self.collected or ()) - len(removed)
        if plan is not None and self.mode is not None:
            ledger.save_selection(run_id, self._selection_record(plan))
        environment = self.environment
        index = BlockIndex(self.root)
        ledger.save_dependencies(run_id, self._recorded(removed, environment, index))
        if self.mechanism is not None:
            self.likely_flaky = likely_flaky(ledger, run_id, environment, index)
            if self.likely_flaky:
                ledger.save_likely_flaky(run_id, self.likely_flaky)
        return coverage

    def _source_at(self, commit: str | None) -> Callable[[str], bytes | None] | None:
        if commit is None:
            return None
        return lambda path: source_at(self.root, commit, path)

    def _source_now(self, path: str) -> bytes | None:
        try:
            return (self.root / path).read_bytes()
        except OSError:
            return None

    def _selection_record(self, plan: SelectionPlan) -> SelectionRecord:
        collected = self.collected if self.collected is not None else list(plan.change.collected)
        selection = select_tests(
            plan.recorded.as_baseline(plan.baseline_run_id or "") if plan.recorded else None,
            replace(plan.change, collected=tuple(collected)),
        )
        reasons: dict[str, tuple[str, str] | None] = {n: None for n in selection.deselected}
        for test in selection.selected:
            reasons[test.node_id] = (test.reason.name, test.detail)
        whole = selection.whole_suite
        return SelectionRecord(
            self.mode or "",
            plan.baseline_run_id,
            whole.reason.name if whole else None,
            whole.detail if whole else None,
            reasons,
        )

    def _recorded(
        self, carried: Sequence[str], environment: Environment, index: BlockIndex
    ) -> RecordedRun:
        if self.mechanism is None:
            return RecordedRun(self.problem or "unavailable", environment, {}, complete=False)
        tests: dict[str, frozenset[BlockDependency] | None] = {
            node_id: index.dependencies(entered) for node_id, entered in self.tests.items()
        }
        paths = {e.path for e in self.outside}
        for entered in self.tests.values():
            paths.update(e.path for e in entered)
        recorded = self.plan.recorded if self.plan is not None else None
        for node_id in carried:
            if node_id in tests:
                continue
            # Selection left it out because none of its blocks changed: they still hold.
            deps = recorded.tests.get(node_id) if recorded is not None else None
            tests[node_id] = deps
            paths.update(d.path for d in deps or ())
        return RecordedRun(
            self.mechanism,
            environment,
            tests,
            index.import_time(paths),
            index.imports(paths),
        )


def likely_flaky(
    ledger: Ledger, run_id: str, environment: Environment, index: BlockIndex
) -> list[tuple[str, str, int]]:
    """The run's failures whose every block reads the same as when the test last passed on
    this environment: the failure cannot come from a change of its code (DeFlaker's
    evidence, without a rerun). Each as (node id, run where it passed, blocks compared)."""
    failed = ledger.failed_here(run_id)
    if not failed:
        return []
    passes = ledger.last_passes(failed, environment.python, environment.distributions, run_id)
    found = []
    recorded: dict[str, RecordedRun | None] = {}  # the runs where they passed, read once
    for node_id, (since, blocks) in sorted(passes.items()):
        if not blocks or not all(_unchanged(block, index) for block in blocks):
            continue
        if since not in recorded:
            recorded[since] = ledger.recorded_dependencies(since)
        passed_run = recorded[since]
        if passed_run is None:
            continue
        # Code that runs on import (a module's constants, a class body) is no block a
        # test enters: a test reading a changed constant fails with every block it ran
        # unchanged. Compared as selection compares it (Reason.IMPORT_TIME_CHANGED).
        imported = _import_time_unchanged(node_id, blocks, passed_run, index)
        if imported is not None:
            found.append((node_id, since, len(blocks) + imported))
    return found


def _import_time_unchanged(
    node_id: str, blocks: Iterable[BlockDependency], passed: RecordedRun, index: BlockIndex
) -> int | None:
    """How many import-time blocks the test relied on, all as in the run where it
    passed; None when one changed. It relied on those of every project file its test
    file or the code it entered imports, directly or not."""
    reached = relied_on(node_id, blocks)
    frontier = sorted(reached)
    while frontier:
        for imported in sorted(passed.imports.get(frontier.pop(), ())):
            if imported not in reached:
                reached.add(imported)
                frontier.append(imported)
    before: dict[str, dict[str, str]] = {}
    for dep in passed.import_time:
        if dep.path in reached:
            before.setdefault(dep.path, {})[dep.qualname] = dep.fingerprint
    for path, then in before.items():
        current = index.file_blocks(path)
        blocks_now = current.blocks if current is not None else ()
        now = {b.qualname: b.fingerprint for b in blocks_now if b.import_time}
        if now != then:
            return None
    return sum(len(then) for then in before.values())


def _unchanged(block: BlockDependency, index: BlockIndex) -> bool:
    current = index.file_blocks(block.path)
    if current is None:
        return False
    now = current.by_qualname().get(block.qualname)
    return now is not None and now.fingerprint == block.fingerprint


def reason_text(name: str | None) -> str:
    """A stored reason's words (``Reason`` member name -> its value)."""
    if name is None:
        return "not selected"
    try:
        return Reason[name].value
    except KeyError:
        return name
