"""Test impact analysis in a pytest session: record each test's code, select, carry.

Registered by :mod:`pytest_uetf.plugin` when a recorded run measures coverage or
``--uetf-select`` is given: on the controller of a serial run (which records its
own tests), on xdist's controller (which selects and stores) and on each xdist
worker (which records its tests and hands them over in ``workeroutput``, as
coverage data travels). Per test, only the recorder's ``begin_test``/``end_test``
and one list append run; everything else happens once, at the start or the end.
"""

from __future__ import annotations

from collections.abc import Generator, Iterator
from typing import TYPE_CHECKING, Any

import pytest

from uetf_core.errors import UetfError
from uetf_core.impact.project import ProjectFiles
from uetf_core.impact.recorder import (
    DependencyRecorder,
    RecorderUnavailable,
    ScopeDependencies,
    new_recorder,
)
from uetf_core.impact.run import ImpactRun, to_wire
from uetf_core.terminal import visible_line

if TYPE_CHECKING:
    from pathlib import Path

    from pytest_uetf.controller import UetfController
    from pytest_uetf.nodes import WorkerNode
    from uetf_core.run import RunRecorder

WIRE_KEY = "uetf_impact"


class ImpactRecording:
    """Records the code each test of this process enters, and removes what selection leaves out."""

    def __init__(self, root: Path, record: bool, left_out: frozenset[str] = frozenset()) -> None:
        self.root = root
        self.record = record
        self.left_out_ids = left_out
        self.recorder: DependencyRecorder | None = None
        self.problem: str | None = None
        self.scopes: list[tuple[str, ScopeDependencies]] = []
        # The current test's scope, cut where shared fixtures were set up, and each
        # shared fixture's own scope (kept with its definition, so its id stays its own).
        self._pieces: list[ScopeDependencies] = []
        self.shared: dict[int, tuple[object, ScopeDependencies]] = {}
        self.collected: list[str] | None = None
        self.removed: list[str] = []

    def start(self) -> None:
        if not self.record or self.recorder is not None:
            return
        recorder = new_recorder(ProjectFiles(self.root))
        try:
            recorder.start()
        except RecorderUnavailable as exc:
            self.problem = str(exc).removeprefix("uetf: ")
            return
        self.recorder = recorder

    def stop(self) -> None:
        if self.recorder is not None:
            self.recorder.stop()

    @pytest.hookimpl(wrapper=True)
    def pytest_collection_modifyitems(
        self, session: pytest.Session, config: pytest.Config, items: list[pytest.Item]
    ) -> Iterator[None]:
        # After every other plugin (a shard's own deselection first): what is left out
        # here is this shard's to carry.
        result = yield
        self.collected = [item.nodeid for item in items]
        if self.left_out_ids:
            kept = [item for item in items if item.nodeid not in self.left_out_ids]
            gone = [item for item in items if item.nodeid in self.left_out_ids]
            if gone:
                config.hook.pytest_deselected(items=gone)
                items[:] = kept
                self.removed = [item.nodeid for item in gone]
        return result

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtestloop(self, session: pytest.Session) -> None:
        if self.removed and not session.testscollected:
            # Every test carried: a run of the whole suite, not pytest's "no tests collected".
            session.testscollected = len(self.removed)

    @pytest.hookimpl(wrapper=True, tryfirst=True)
    def pytest_runtest_protocol(
        self, item: pytest.Item, nextitem: pytest.Item | None
    ) -> Iterator[None]:
        recorder = self.recorder
        if recorder is None:
            return (yield)
        recorder.begin_test()
        try:
            return (yield)
        finally:
            scope = recorder.end_test()
            if self._pieces or self.shared:
                scope = self._whole_scope(item, scope)
            self.scopes.append((item.nodeid, scope))

    @pytest.hookimpl(wrapper=True)
    def pytest_fixture_setup(
        self, fixturedef: pytest.FixtureDef[Any], request: pytest.FixtureRequest
    ) -> Generator[None, object, object]:
        # A fixture shared between tests is set up in the first test that needs it: what
        # it runs belongs to every test that uses it, not to the first one alone.
        recorder = self.recorder
        if recorder is None or fixturedef.scope == "function":
            return (yield)
        self._pieces.append(recorder.checkpoint())
        try:
            return (yield)
        finally:
            own = recorder.checkpoint()
            self._pieces.append(own)
            if own.entered:  # pytest's own fixtures (tmp_path_factory) run no project code
                self.shared[id(fixturedef)] = (fixturedef, own)

    def _whole_scope(self, item: pytest.Item, last: ScopeDependencies) -> ScopeDependencies:
        """The test's pieces and the shared fixtures it uses, as one scope."""
        entered = set(last.entered)
        for piece in self._pieces:
            entered |= piece.entered
        self._pieces = []
        info = getattr(item, "_fixtureinfo", None)
        for name in getattr(item, "fixturenames", ()):
            for fixturedef in info.name2fixturedefs.get(name, ()) if info else ():
                found = self.shared.get(id(fixturedef))
                if found is not None:
                    entered |= found[1].entered
        return ScopeDependencies(frozenset(entered))

    def wire(self) -> dict[str, Any]:
        """Everything this process recorded, as plain lists for xdist's channel."""
        recorder = self.recorder
        return {
            "mechanism": recorder.mechanism if recorder is not None else None,
            "problem": self.problem if self.record else None,
            "tests": [(node_id, to_wire(scope.entered)) for node_id, scope in self.scopes],
            "outside": to_wire(recorder.outside_tests().entered) if recorder is not None else [],
            "collected": self.collected,
            "removed": self.removed,
        }


class ImpactWorker(ImpactRecording):
    """On an xdist worker: record, remove what the controller says, hand everything over."""

    def __init__(self, config: pytest.Config, root: Path, record: bool, left_out: frozenset[str]):
        super().__init__(root, record, left_out)
        self.config = config
        self.start()

    def pytest_sessionfinish(self) -> None:
        # Inside xdist's own sessionfinish wrapper, before it sends workeroutput.
        self.stop()
        self.config.workeroutput[WIRE_KEY] = self.wire()  # type: ignore[attr-defined]


class ImpactController(ImpactRecording):
    """On the controller: select at the start, gather, and store through the run's session."""

    def __init__(
        self, config: pytest.Config, controller: UetfController, mode: str | None, record: bool
    ) -> None:
        super().__init__(controller.run.config.rootdir, record)
        self.config = config
        self.controller = controller
        self.impact = ImpactRun(self.root, mode, controller.run.config.impact_inputs)
        self._xdist = False
        controller.run.before_judging = self._before_judging

    @pytest.hookimpl(trylast=True)
    def pytest_sessionstart(self, session: pytest.Session) -> None:
        # After the controller began the run (its sessionstart is tryfirst).
        run = self.controller.run
        recorder = run.recorder
        self._xdist = bool(getattr(self.config.option, "numprocesses", None)) and (
            self.config.pluginmanager.has_plugin("dsession")
        )
        if recorder is not None and self.impact.mode is not None:
            selection = self.controller.selection
            try:
                self.impact.select(
                    recorder.ledger,
                    run.config.base,
                    selection.suite_key if selection else None,
                    recorder.run_id,
                )
            except UetfError as exc:
                from pytest_uetf.controller import exit_on

                exit_on(exc)
            self.left_out_ids = self.impact.left_out_ids
        if not self._xdist:
            self.start()

    @pytest.hookimpl(optionalhook=True)
    def pytest_configure_node(self, node: WorkerNode) -> None:
        node.workerinput[WIRE_KEY] = {
            "root": str(self.root),
            "record": self.record,
            "left_out": sorted(self.left_out_ids),
        }

    @pytest.hookimpl(optionalhook=True)
    def pytest_testnodedown(self, node: WorkerNode, error: object) -> None:
        output: dict[str, Any] = getattr(node, "workeroutput", {})
        wire = output.get(WIRE_KEY)
        if isinstance(wire, dict):
            self.impact.add_wire(wire)

    @pytest.hookimpl(tryfirst=True)
    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        if self._xdist:
            return
        self.stop()
        self.impact.add_wire(self.wire())

    def _before_judging(
        self, recorder: RunRecorder, coverage: dict[str, Any] | None
    ) -> dict[str, Any] | None:
        return self.impact.finish(recorder, coverage)

    def pytest_terminal_summary(self, terminalreporter: pytest.TerminalReporter) -> None:
        # Node ids and run ids come from the ledger: shown, never obeyed by the terminal.
        line = summary_line(self.impact)
        if line:
            terminalreporter.write_line(visible_line(line))
        if self.impact.problem and self.impact.mode is not None:
            why = f"uetf: warning: no test dependencies recorded: {self.impact.problem}"
            terminalreporter.write_line(visible_line(why), yellow=True)
        for node_id, since, blocks in self.impact.likely_flaky:
            terminalreporter.write_line(
                visible_line(
                    f"uetf impact: likely flaky, not a new failure: {node_id} (none of its"
                    f" {blocks} code blocks changed since it passed in run {since})"
                ),
                yellow=True,
            )


def summary_line(impact: ImpactRun) -> str | None:
    """What selection did, in one line: how many ran and how many were carried, or why not."""
    plan = impact.plan
    if impact.mode is None or plan is None:
        if impact.problem:
            return f"uetf: warning: no test dependencies recorded: {impact.problem}"
        return None
    whole = plan.selection.whole_suite
    if whole is not None:
        detail = f" ({whole.detail})" if whole.detail else ""
        return f"uetf impact: the whole suite ran: {whole.reason.value}{detail}"
    if impact.mode == "shadow":
        left = len(plan.unselected & set(impact.collected or ()))
        return (
            f"uetf impact (shadow): selection would have run {len(impact.collected or ()) - left}"
            f" tests and left out {left}; baseline {plan.baseline_run_id}"
        )
    return (
        f"uetf impact: {impact.ran} tests ran, {impact.carried} carried from baseline run"
        f" {plan.baseline_run_id}"
    )


def register(
    config: pytest.Config, controller: UetfController | None, mode: str | None, record: bool
) -> None:
    """Register the impact plugin of this process, when recording or selection is on."""
    if controller is not None:
        plugin: ImpactRecording = ImpactController(config, controller, mode, record)
        config.pluginmanager.register(plugin, "uetf-impact")
        return
    wire = getattr(config, "workerinput", {}).get(WIRE_KEY)
    if isinstance(wire, dict):
        from pathlib import Path

        root = Path(wire.get("root") or config.rootpath)
        worker = ImpactWorker(
            config, root, bool(wire.get("record")), frozenset(wire.get("left_out", ()))
        )
        config.pluginmanager.register(worker, "uetf-impact")
