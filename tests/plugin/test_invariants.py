"""Invariants of every run, over generated mixes of test results, options and report formats.

Each example writes a project whose tests pass, fail, error in setup or teardown,
skip, xfail, xpass (strict or not), pass on a rerun, or fail under a waiver; it
may add a module that cannot be imported, a ``-k`` selection, gates (some
waived, in warn mode), coverage and shards (then ``uetf gate --workstream``). A
real pytest process runs it with UETF on and every report format, and then: nothing
raised; the exit status is documented, recorded as the process's, and the one
docs/exit-codes.md gives for these results; every count agrees with pytest's
summary line, the terminal, each report and the generated tests; every JSON
document validates against its schema. An unwritable report path and a crashed
xdist worker, which cost more or test less, have tests of their own.

A failure prints the scenario, its folder (kept by pytest under its basetemp)
and every invariant it broke; the examples are not shrunk (each is a process).
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from invariant_helpers import (
    DOCUMENTED_EXITS,
    KINDS,
    REPORT_FILES,
    Expected,
    Scenario,
    expect,
    final_outcomes,
    gate_name,
    junit_counts,
    last_markdown,
    markdown_totals,
    nonzero,
    pytest_collected,
    pytest_counts,
    pytest_ran,
    run_id_of,
    show,
    terminal_totals,
    uetf_cli,
    unescape_markdown,
)

from conftest import run_pytest

# Plugins named, not discovered: a pytest process starts in a third of the time.
PLUGINS = ("-p", "pytest_uetf.plugin", "-p", "rerunfailures")
ENV = {"PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"}
SETTINGS = settings(
    max_examples=16,
    deadline=None,
    derandomize=True,  # the same examples on every machine: CI must not be flaky
    database=None,
    # No shrinking: a run is a pytest process, and shrinking took minutes; the
    # failure message prints the whole scenario and each invariant it broke.
    phases=(Phase.explicit, Phase.generate),
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
GATES = (
    "pass_rate>=100",
    "pass_rate>=50",
    "max_failures<=0",
    "max_failures<=5",
    "min_tests>=1",
    "min_tests>=50",
    "max_test_duration<=60s",
    "max_test_duration<=0s",
    "coverage>=60",
    "coverage>=90",
)
TOTALS = ("passed", "failed", "errors", "skipped", "xfailed", "xpassed")


@st.composite
def scenarios(draw: st.DrawFn) -> Scenario:
    counts = tuple((kind, draw(st.integers(0, 3))) for kind in KINDS)
    gates = tuple(draw(st.lists(st.sampled_from(GATES), unique_by=gate_name, max_size=3)))
    collection_error = draw(st.integers(0, 3)) == 0
    shard = not collection_error and draw(st.integers(0, 3)) == 0
    return Scenario(
        counts=tuple((kind, n) for kind, n in counts if n),
        collection_error=collection_error,
        partial=draw(st.booleans()),
        gates=gates,
        warn=draw(st.booleans()),
        gate_waiver=draw(st.sampled_from([None, *(gate_name(g) for g in gates)])),
        coverage=draw(st.booleans()),
        shard=shard,
        skipped_module=draw(st.integers(0, 2)) == 0,
    )


class Violations:
    """Every invariant an example breaks, reported together."""

    def __init__(self, scenario: Scenario, label: str) -> None:
        self.scenario = scenario
        self.label = label
        self.found: list[str] = []

    def check(self, ok: bool, what: str) -> None:
        if not ok:
            self.found.append(f"[{self.label}] {what}")


def run(root: Path, *args: str) -> Any:
    return run_pytest(root, *PLUGINS, *args, env=ENV)


def check_run(
    scenario: Scenario,
    root: Path,
    done: Any,
    expected: Expected,
    validate: Callable[[str, Any], None],
    seen: Violations,
) -> None:
    """Every invariant of one finished pytest process and what it recorded and wrote."""
    out = done.stdout + done.stderr
    rc = done.returncode
    # 1. nothing raises; the status is documented.
    seen.check("INTERNALERROR" not in out, f"INTERNALERROR in the output:\n{out[-3000:]}")
    seen.check(
        "Traceback (most recent call last)" not in out, f"a traceback in the output:\n{out[-3000:]}"
    )
    seen.check(rc in DOCUMENTED_EXITS, f"exit status {rc} is not documented")
    want = expected.exit_status
    ledger = root / ".ledger" / "uetf.db"
    if scenario.unwritable_report:
        # docs/exit-codes.md: 4 for a report that could not be written; which of
        # 4 and a failing run's own status wins is not documented.
        seen.check("cannot write the markdown report" in out, "no line names the unwritable report")
        seen.check(rc == 4 or (rc == want != 0), f"exit status {rc}, expected 4 or {want}")
        if ledger.exists():  # a run recorded before the report failed
            recorded = show(ledger, "last")["exit_status"]
            seen.check(recorded in (None, rc), f"recorded exit {recorded}, process exit {rc}")
        return
    # 6. the exit status is the one the results and gates give.
    seen.check(rc == want, f"exit status {rc}, expected {want}")
    try:
        run_id = run_id_of(done.stdout)
        summary = show(ledger, run_id)
    except AssertionError as exc:
        seen.check(False, f"no recorded run to check: {exc}")
        return
    # 5. the run summary validates.
    try:
        validate("run_summary", summary)
    except AssertionError as exc:
        seen.check(False, f"run summary does not validate: {exc}")
    # 2. the recorded exit status is the process's, and `uetf gate` recomputes it.
    seen.check(
        summary["exit_status"] == rc, f"recorded exit {summary['exit_status']}, process exit {rc}"
    )
    status, _, _ = uetf_cli("gate", run_id, "--ledger", str(ledger))
    seen.check(status == rc, f"uetf gate {run_id} exits {status}, the run exited {rc}")
    # 3. totals: the generated tests, pytest's summary line, the terminal, the ledger.
    totals = summary["totals"]
    for name, value in expected.totals.items():
        seen.check(totals[name] == value, f"totals[{name}] = {totals[name]}, expected {value}")
    counted = pytest_counts(done.stdout)
    seen.check(
        counted == expected.pytest_counts,
        f"pytest's summary line counts {counted}, expected {expected.pytest_counts}",
    )
    uetf_passed_plus_teardown = totals["passed"] + sum(
        1 for n, k in _ran(scenario, expected).items() if k == "teardown_error"
    )
    seen.check(
        counted.get("passed", 0) == uetf_passed_plus_teardown
        and counted.get("failed", 0) == totals["failed"]
        and counted.get("errors", 0) == totals["errors"]
        and counted.get("skipped", 0) == totals["skipped"]
        and counted.get("xfailed", 0) == totals["xfailed"]
        and counted.get("xpassed", 0) == totals["xpassed"]
        and counted.get("rerun", 0) == totals["reruns"],
        f"uetf totals {totals} disagree with pytest's summary line {counted}",
    )
    seen.check(
        pytest_collected(done.stdout) == totals["collected"],
        f"pytest selected {pytest_collected(done.stdout)}, uetf collected {totals['collected']}",
    )
    try:
        shown = terminal_totals(done.stdout)
        waived = sum(1 for f in summary["failures"] if f["classification"] == "waived")
        wanted = {"collected": totals["collected"], **nonzero(totals, (*TOTALS, "reruns"))}
        if waived and totals["failed"]:  # said with the failures: "3 failed (1 waived)"
            wanted["~waived"] = waived
        seen.check(shown == wanted, f"terminal totals line {shown}, summary {wanted}")
    except AssertionError as exc:
        seen.check(False, str(exc))
    outcomes = final_outcomes(ledger, run_id)
    seen.check(
        outcomes == expected.outcomes,
        f"recorded outcomes {sorted(outcomes.items())} != {sorted(expected.outcomes.items())}",
    )
    classified = {f["node_id"]: f["classification"] for f in summary["failures"]}
    seen.check(
        classified == expected.failures,
        f"failures classified {classified}, expected {expected.failures}",
    )
    # 6. gates judged as docs/gates.md says; the exit agrees with their verdicts.
    verdicts = {g["name"]: g["verdict"] for g in summary["gates"]}
    if not scenario.collection_error:
        seen.check(
            verdicts == expected.gates, f"gate verdicts {verdicts}, expected {expected.gates}"
        )
    if scenario.gates:
        seen.check(
            "no gates declared" not in done.stdout,
            f"terminal says 'no gates declared' with gates {scenario.gates}",
        )
    if rc == 0:
        seen.check(
            not any(v in ("failed", "error") for v in verdicts.values()),
            f"exit 0 with gate verdicts {verdicts}",
        )
        seen.check(
            all(c in ("waived", "flaky") for c in classified.values()),
            f"exit 0 with failures {classified}",
        )
    # 4. and 5. each report: written, counts agreeing with the summary, JSON valid.
    check_reports(scenario, root, rc, summary, validate, seen)


def _ran(scenario: Scenario, expected: Expected) -> dict[str, str]:
    tests = scenario.tests()
    return {n: tests[n] for n in expected.outcomes if n in tests}  # not the skipped module


def check_reports(
    scenario: Scenario,
    root: Path,
    rc: int,
    summary: dict[str, Any],
    validate: Callable[[str, Any], None],
    seen: Violations,
) -> None:
    totals = summary["totals"]
    files = {fmt: root / path for fmt, path in REPORT_FILES.items()}
    if not scenario.measured:
        del files["cobertura"]
    for fmt, path in files.items():
        seen.check(path.is_file() and path.stat().st_size > 0, f"the {fmt} report is missing")
    if not all(path.is_file() for path in files.values()):
        return
    document = json.loads(files["json"].read_text())
    try:
        validate("gate_report", document)
    except AssertionError as exc:
        seen.check(False, f"json report does not validate: {exc}")
    seen.check(document["totals"] == totals, f"json totals {document['totals']} != {totals}")
    seen.check(document["exit_status"] == rc, f"json exit_status {document['exit_status']} != {rc}")
    report_failures = {f["node_id"]: f["classification"] for f in document["failures"]}
    summary_failures = {f["node_id"]: f["classification"] for f in summary["failures"]}
    seen.check(
        report_failures == summary_failures,
        f"json failures {report_failures} != summary {summary_failures}",
    )
    rate = next((g["value"] for g in summary["gates"] if g["name"] == "pass_rate"), None)
    if rate is not None:
        seen.check(
            document["pass_rate"] == rate,
            f"json pass_rate {document['pass_rate']} != the pass_rate gate's {rate}",
        )
    wanted = {"collected": totals["collected"], **nonzero(totals, TOTALS)}
    new = sum(1 for c in summary_failures.values() if c == "new")
    waived = [n for n, c in summary_failures.items() if c == "waived"]
    for fmt in ("markdown", "github"):
        text = last_markdown(files[fmt].read_text())
        try:
            shown = markdown_totals(text)
            seen.check(shown == wanted, f"{fmt} facts {shown}, summary {wanted}")
        except AssertionError as exc:
            seen.check(False, f"{fmt}: {exc}")
        headline = text.splitlines()[1] if len(text.splitlines()) > 1 else ""
        said = f"{new} new failure" in headline if new else "new failure" not in headline
        seen.check(said, f"{fmt} headline {headline!r}, {new} new failures in the summary")
        if scenario.gates:
            seen.check(
                "no gates declared" not in headline,
                f"{fmt} headline {headline!r} with gates {scenario.gates}",
            )
        plain = unescape_markdown(text)
        for node_id in waived:
            seen.check(node_id in plain, f"{fmt} report does not show the waived {node_id}")
    html = files["html"].read_text()
    seen.check(f"{totals['collected']} tests" in html, "html report lacks the test count")
    for name in TOTALS:
        if totals[name]:
            seen.check(
                f"{totals[name]} {name}" in html, f"html report lacks '{totals[name]} {name}'"
            )
    for node_id in waived:
        seen.check(node_id in html, f"html report does not show the waived {node_id}")
    junit = junit_counts(files["junit"].read_text())
    seen.check(
        junit["failures"] == totals["failed"] == junit["failure_cases"]
        and junit["errors"] == totals["errors"] == junit["error_cases"]
        and junit["tests"] == junit["cases"] - (1 if scenario.collection_error else 0),
        f"junit {junit} disagrees with totals {totals}",
    )


@SETTINGS
@given(scenario=scenarios())
def test_every_mix_of_results_keeps_the_invariants(
    scenario: Scenario, tmp_path: Path, validate: Callable[[str, Any], None]
) -> None:
    """Any mix of results, gates and options: counts, exit status and documents all agree."""
    root = Path(tempfile.mkdtemp(dir=tmp_path))
    scenario.write(root)
    selected = scenario.selected()
    found: list[str] = []
    if not scenario.shard:
        done = run(root, *scenario.args())
        seen = Violations(scenario, "run")
        expected = expect(scenario, selected, deselected=int(scenario.partial))
        check_run(scenario, root, done, expected, validate, seen)
        found += seen.found
    else:
        ran: dict[int, set[str]] = {}
        for index in (1, 2):
            done = run(root, *scenario.args(), f"--uetf-shard={index}/2", "--uetf-workstream=W")
            ran[index] = pytest_ran(done.stdout)
            mine = {n: k for n, k in selected.items() if n in ran[index]}
            seen = Violations(scenario, f"shard {index}/2")
            expected = expect(scenario, mine, len(scenario.tests()) - len(mine), shard=True)
            check_run(scenario, root, done, expected, validate, seen)
            found += seen.found
        if ran[1] & ran[2] or (ran[1] | ran[2]) != set(selected):
            found.append(f"[shards] shards ran {ran}, the suite is {sorted(selected)}")
        whole = expect(scenario, selected, deselected=int(scenario.partial))
        status, out, err = uetf_cli(
            "gate", "--workstream", "W", "--expect-shards", "2", "--ledger",
            str(root / ".ledger" / "uetf.db"),
        )  # fmt: skip
        if status != whole.exit_status:
            found.append(
                f"[workstream] uetf gate --workstream exits {status}, expected"
                f" {whole.exit_status} for the whole suite:\n{out}{err}"
            )
    assert not found, f"{scenario}\nin {root}\n" + "\n".join(found)


@pytest.mark.parametrize(
    "counts", [(("passed", 2),), (("passed", 1), ("failed", 1))], ids=["passing", "failing"]
)
def test_an_unwritable_report_path_keeps_the_invariants(
    counts: tuple[tuple[str, int], ...], tmp_path: Path, validate: Callable[[str, Any], None]
) -> None:
    """A report that cannot be written: one line naming it, exit 4 or the tests' own, recorded."""
    scenario = Scenario(counts=counts, unwritable_report=True)
    scenario.write(tmp_path)
    done = run(tmp_path, *scenario.args())
    seen = Violations(scenario, "run")
    expected = expect(scenario, scenario.selected())
    check_run(scenario, tmp_path, done, expected, validate, seen)
    assert not seen.found, f"{scenario}\n" + "\n".join(seen.found)


CRASH = "import os\n\n\ndef test_crash():\n    os._exit(1)\n\n\n"


@settings(SETTINGS, max_examples=2)
@given(passed=st.integers(0, 2), failed=st.integers(0, 1))
def test_a_crashed_worker_keeps_the_invariants(
    passed: int, failed: int, tmp_path: Path, validate: Callable[[str, Any], None]
) -> None:
    """A test that kills its xdist worker: counted as pytest counts it, recorded, exit 1."""
    root = Path(tempfile.mkdtemp(dir=tmp_path))
    scenario = Scenario(counts=(("passed", passed), ("failed", failed)))
    scenario.write(root)
    (root / "test_crash.py").write_text(CRASH)
    reports = [a for a in scenario.args() if a.startswith("--uetf-report")]
    done = run(root, "-p", "xdist.plugin", "-n", "2", "--uetf", *reports)
    out = done.stdout + done.stderr
    found = []
    if "INTERNALERROR" in out or "Traceback (most recent call last)" in out:
        found.append(f"an internal error or traceback:\n{out[-3000:]}")
    if done.returncode != 1:
        found.append(f"exit status {done.returncode}, expected 1 (a test failed)")
    summary = show(root / ".ledger" / "uetf.db", run_id_of(done.stdout))
    validate("run_summary", summary)
    if summary["exit_status"] != done.returncode:
        found.append(f"recorded exit {summary['exit_status']}, process exit {done.returncode}")
    counted = pytest_counts(done.stdout)
    totals = summary["totals"]
    mine = {
        "passed": totals["passed"],
        "failed": totals["failed"],
        "errors": totals["errors"],
    }
    theirs = {name: counted.get(name, 0) for name in mine}
    if mine != theirs or theirs != {"passed": passed, "failed": failed + 1, "errors": 0}:
        found.append(f"uetf totals {mine}, pytest's summary line {counted}")
    document = json.loads((root / REPORT_FILES["json"]).read_text())
    validate("gate_report", document)
    junit = junit_counts((root / REPORT_FILES["junit"]).read_text())
    if (document["totals"], junit["failures"], junit["errors"]) != (
        totals,
        totals["failed"],
        totals["errors"],
    ):
        found.append(f"reports disagree: json {document['totals']}, junit {junit}, {totals}")
    assert not found, "\n".join(found)
