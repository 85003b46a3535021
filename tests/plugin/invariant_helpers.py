"""What the invariant tests generate, what they expect of it, and how they read the outputs.

The expectations here are written from pytest's documented behaviour and UETF's
documentation (docs/exit-codes.md, docs/gates.md), not from UETF's code, so a
defect in the code cannot be copied into the test.
"""

from __future__ import annotations

import contextlib
import io
import json
import re
import xml.etree.ElementTree as ET
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# Each kind of result: the test's source ({name} is its function name), UETF's
# outcome of the test, what pytest's summary line counts for it, and how UETF
# classifies it among the failures (None: not listed).
KINDS: dict[str, tuple[str, str, dict[str, int], str | None]] = {
    "passed": ("def {name}():\n    covered.hit()\n", "passed", {"passed": 1}, None),
    "failed": ("def {name}():\n    assert 1 == 2\n", "failed", {"failed": 1}, "new"),
    "setup_error": (
        "def {name}(broken_setup):\n    pass\n",
        "error",
        {"errors": 1},
        "new",
    ),
    # pytest counts a test whose teardown fails twice: passed, and an error.
    "teardown_error": (
        "def {name}(broken_teardown):\n    pass\n",
        "error",
        {"passed": 1, "errors": 1},
        "new",
    ),
    "skipped": ("def {name}():\n    pytest.skip('not here')\n", "skipped", {"skipped": 1}, None),
    "xfail": (
        "@pytest.mark.xfail(reason='known')\ndef {name}():\n    assert 1 == 2\n",
        "xfailed",
        {"xfailed": 1},
        None,
    ),
    "xpass": (
        "@pytest.mark.xfail(reason='known')\ndef {name}():\n    pass\n",
        "xpassed",
        {"xpassed": 1},
        None,
    ),
    "xpass_strict": (
        "@pytest.mark.xfail(reason='known', strict=True)\ndef {name}():\n    pass\n",
        "failed",
        {"failed": 1},
        "new",
    ),
    # Fails on its first attempt, passes on the rerun (same process, module state).
    "rerun": (
        "@pytest.mark.flaky(reruns=1)\ndef {name}():\n"
        "    ATTEMPTS['{name}'] = ATTEMPTS.get('{name}', 0) + 1\n"
        "    assert ATTEMPTS['{name}'] > 1\n",
        "passed",
        {"passed": 1, "rerun": 1},
        "flaky",
    ),
    "waived": ("def {name}():\n    assert 1 == 2\n", "failed", {"failed": 1}, "waived"),
}
BAD = {"failed", "error"}  # UETF outcomes that fail a run unless waived

HEADER = """\
import pytest

import covered

ATTEMPTS = {}


@pytest.fixture
def broken_setup():
    raise RuntimeError("setup broke")


@pytest.fixture
def broken_teardown():
    yield
    raise RuntimeError("teardown broke")


"""
# Four statements; the passing tests run hit(), nothing runs missed(): 75 % or 50 %.
COVERED = "def hit():\n    return 1\n\n\ndef missed():\n    return 2\n"
DESELECTED = "test_gen.py::test_excluded_by_k"
EXCLUDE = "not excluded_by_k"
MARKER = "<!-- uetf-report -->"  # the first line of a markdown report
WHOLE_SUITE_GATES = {"min_tests", "coverage"}
DOCUMENTED_EXITS = set(range(8))
REPORT_FILES = {
    "markdown": "r/report.md",
    "json": "r/report.json",
    "html": "r/report.html",
    "junit": "r/junit.xml",
    "github": "r/github.md",
    "cobertura": "r/coverage.xml",
}


SKIPPED_MODULE = "test_skipped_module.py"


@dataclass(frozen=True)
class Scenario:
    """One generated project and the options of its run."""

    counts: tuple[tuple[str, int], ...]
    collection_error: bool = False
    partial: bool = False
    gates: tuple[str, ...] = ()
    warn: bool = False
    gate_waiver: str | None = None
    coverage: bool = False
    shard: bool = False
    unwritable_report: bool = False
    skipped_module: bool = False  # a module that skips itself as it is collected

    def tests(self) -> dict[str, str]:
        """Node id -> kind, for every generated test (the deselected one included)."""
        found = {f"test_gen.py::test_{kind}_{i}": kind for kind, n in self.counts for i in range(n)}
        if self.partial:
            found[DESELECTED] = "passed"
        return found

    def selected(self) -> dict[str, str]:
        """Node id -> kind of the tests the run selects (before sharding)."""
        return {n: k for n, k in self.tests().items() if n != DESELECTED}

    def write(self, root: Path) -> None:
        """The project: the tests, a broken module, a measured module, the waivers."""
        body = [HEADER]
        for node_id, kind in self.tests().items():
            name = node_id.split("::")[1]
            body.append(KINDS[kind][0].format(name=name) + "\n\n")
        (root / "test_gen.py").write_text("".join(body))
        (root / "covered.py").write_text(COVERED)
        if self.collection_error:
            (root / "test_broken_import.py").write_text("raise RuntimeError('cannot import')\n")
        if self.skipped_module:
            (root / SKIPPED_MODULE).write_text(
                "import pytest\n\npytest.skip('not here', allow_module_level=True)\n"
            )
        waivers = [
            f'[[waiver]]\ntest = "{node_id}"\nowner = "alice"\nreason = "known"\n'
            "expires = 2999-01-01\n"
            for node_id, kind in self.tests().items()
            if kind == "waived"
        ]
        if self.gate_waiver:
            waivers.append(
                f'[[waiver]]\ngate = "{self.gate_waiver}"\nowner = "bob"\nreason = "splitting"\n'
                "expires = 2999-01-01\n"
            )
        if waivers:
            (root / ".uetf").mkdir(exist_ok=True)
            (root / ".uetf" / "waivers.toml").write_text("\n".join(waivers))
        if self.unwritable_report:
            (root / "blocker").write_text("a file where the report wants a folder\n")

    @property
    def measured(self) -> bool:
        """Whether coverage is measured (a coverage gate starts it), always of covered.py."""
        return self.coverage or any(gate_name(g) == "coverage" for g in self.gates)

    def args(self) -> list[str]:
        """The command line of the run (without the shard)."""
        args = ["-v", "--uetf", *(f"--uetf-gate={gate}" for gate in self.gates)]
        if self.warn:
            args.append("--uetf-gate-mode=warn")
        if self.partial:
            args += ["-k", EXCLUDE]
        if self.measured:
            args.append("--uetf-cov=covered")
        for fmt, path in REPORT_FILES.items():
            if fmt != "cobertura" or self.measured:
                args.append(f"--uetf-report={fmt}:{path}")
        if self.unwritable_report:
            args.append("--uetf-report=markdown:blocker/report.md")
        return args


@dataclass
class Expected:
    """What a run of some of a scenario's tests must show, derived from the kinds alone."""

    outcomes: dict[str, str]
    totals: dict[str, int]
    pytest_counts: dict[str, int]
    failures: dict[str, str]
    gates: dict[str, str] = field(default_factory=dict)
    exit_status: int = 0


def gate_name(declaration: str) -> str:
    return re.split(r"[<>=]", declaration, maxsplit=1)[0]


def expect(
    scenario: Scenario, ran: dict[str, str], deselected: int = 0, shard: bool = False
) -> Expected:
    """What a run of ``ran`` (node id -> kind) must record, count, judge and exit with.

    ``deselected``: the tests of the suite the run left out (``-k``, other shards);
    ``shard``: the run is one shard of the suite.
    """
    partial = "shard" if shard else "-k" if deselected else None
    outcomes = {node_id: KINDS[kind][1] for node_id, kind in ran.items()}
    counts = Counter(outcomes.values())
    totals = {
        "collected": len(ran),
        "passed": counts["passed"],
        "failed": counts["failed"],
        "errors": counts["error"],
        "skipped": counts["skipped"],
        "xfailed": counts["xfailed"],
        "xpassed": counts["xpassed"],
        "reruns": sum(1 for kind in ran.values() if kind == "rerun"),
    }
    pytest_counts: Counter[str] = Counter()
    for kind in ran.values():
        pytest_counts.update(KINDS[kind][2])
    failures = {n: KINDS[k][3] for n, k in ran.items() if KINDS[k][3] is not None}
    if scenario.collection_error:
        # pytest stops before running any test when a module cannot be collected.
        zero = dict.fromkeys(totals, 0)
        totals = {**zero, "collected": len(ran), "errors": 1}
        pytest_counts = Counter({"errors": 1})
        failures = {"test_broken_import.py": "new"}
        outcomes = {}
    if scenario.skipped_module:
        # Counted as one skipped test, outside the collected ones, as pytest counts it.
        totals["skipped"] += 1
        pytest_counts["skipped"] += 1
        outcomes[SKIPPED_MODULE] = "skipped"
    if deselected:
        pytest_counts["deselected"] = deselected
    expected = Expected(outcomes, totals, dict(+pytest_counts), failures)
    expected.gates = {
        gate_name(g): _gate_verdict(scenario, g, ran, partial) for g in scenario.gates
    }
    unwaived_bad = any(KINDS[kind][1] in BAD and kind != "waived" for kind in ran.values())
    if scenario.collection_error:
        expected.exit_status = 2
    elif not ran:
        expected.exit_status = 5
    elif unwaived_bad:
        expected.exit_status = 1
    elif "failed" in expected.gates.values():
        expected.exit_status = 6
    return expected


def _gate_verdict(
    scenario: Scenario, declaration: str, ran: dict[str, str], partial: str | None
) -> str:
    """The verdict docs/gates.md promises for one declared gate on ``ran``.

    A whole-suite gate is left to ``uetf gate --workstream`` in a shard, and
    skipped in a run narrowed by ``-k`` (issue 18).
    """
    name = gate_name(declaration)
    threshold = float(re.sub(r"[^0-9.]", "", declaration.split("=", 1)[1]))
    if name in WHOLE_SUITE_GATES and partial:
        return "deferred" if partial == "shard" else "skipped"
    # A waived failure counts for no gate: as if the test had not run.
    judged = [KINDS[kind][1] for kind in ran.values() if kind != "waived"]
    executed = [o for o in judged if o != "skipped"]
    bad = sum(1 for o in executed if o in BAD)
    value: float | None
    if name == "pass_rate":
        value = round(100.0 * (len(executed) - bad) / len(executed), 2) if executed else None
        held = value is None or value >= threshold
    elif name == "max_failures":
        value, held = bad, bad <= threshold
    elif name == "min_tests":
        value, held = len(ran), len(ran) >= threshold
    elif name == "max_test_duration":
        # The durations are unknown, but every test takes more than 0 s and less than 60.
        slowest = [o for o in (KINDS[k][1] for k in ran.values()) if o != "skipped"]
        value = 1.0 if slowest else None
        held = threshold > 0
    elif name == "coverage":
        value = 75.0 if "passed" in ran.values() else 50.0
        held = value >= threshold
    else:  # pragma: no cover - the strategy declares only the gates above
        raise AssertionError(declaration)
    if value is None:
        return "skipped"
    if held:
        return "passed"
    if scenario.warn:
        return "warned"
    if scenario.gate_waiver == name:
        return "waived"
    return "failed"


# -- reading what a run printed and wrote ------------------------------------------------

_SUMMARY_LINE = re.compile(r"^=+ (.*) in [\d.]+s(?: \([^)]*\))? =+$")
_COUNT = re.compile(r"(\d+) (\w+)")
_PLURALS = {"error": "errors", "warning": "warnings", "rerun": "rerun", "reruns": "rerun"}
_VERBOSE = re.compile(r"^(test_\S+\.py::\S+) (PASSED|FAILED|ERROR|SKIPPED|XFAIL|XPASS|RERUN)\b")


def pytest_counts(stdout: str) -> dict[str, int]:
    """The counts of pytest's own final summary line (``3 passed, 1 failed in 0.1s``)."""
    lines = [line for line in stdout.splitlines() if _SUMMARY_LINE.match(line)]
    assert lines, f"no pytest summary line in:\n{stdout[-2000:]}"
    text = _SUMMARY_LINE.match(lines[-1]).group(1)  # type: ignore[union-attr]
    counts = {}
    for number, word in _COUNT.findall(text):
        counts[_PLURALS.get(word, word)] = int(number)
    counts.pop("warnings", None)
    return counts


def pytest_collected(stdout: str) -> int:
    """The tests pytest selected, from its ``collected N items / M deselected`` line."""
    match = re.search(r"^(?:collecting \.\.\. )?collected (\d+) items?(.*)$", stdout, re.MULTILINE)
    assert match, f"no 'collected' line in:\n{stdout[:2000]}"
    deselected = re.search(r"(\d+) deselected", match.group(2))
    return int(match.group(1)) - (int(deselected.group(1)) if deselected else 0)


def pytest_ran(stdout: str) -> set[str]:
    """The node ids ``pytest -v`` printed an outcome for."""
    return {m.group(1) for line in stdout.splitlines() if (m := _VERBOSE.match(line))}


def run_id_of(stdout: str) -> str:
    """The run id of UETF's verdict line."""
    found = re.findall(r"^uetf: run (\S+) ", stdout, re.MULTILINE)
    assert len(found) == 1, f"{len(found)} uetf verdict lines in:\n{stdout[-2000:]}"
    return str(found[0])


def counts_of(text: str) -> dict[str, int]:
    """``3 passed, 1 failed, 2 errors`` (any separator; ``1 error``) as a dict."""
    return {"errors" if word == "error" else word: int(n) for n, word in _COUNT.findall(text)}


def terminal_totals(stdout: str) -> dict[str, int]:
    """UETF's ``collected N: 3 passed, ...`` line as totals."""
    lines = re.findall(r"^collected \d+: .*$", stdout, re.MULTILINE)
    assert len(lines) == 1, f"{len(lines)} uetf totals lines (one expected) in:\n{stdout[-2000:]}"
    match = re.match(r"collected (\d+): (.*)$", lines[0])
    assert match
    # "3 failed (1 waived)": the waived ones are among the failed; counted apart.
    waived = re.search(r" \((\d+) waived\)", match.group(2))
    counts = counts_of(re.sub(r" \(\d+ waived\)", "", match.group(2)))
    return {
        "collected": int(match.group(1)),
        **counts,
        **({"~waived": int(waived.group(1))} if waived else {}),
    }


def nonzero(totals: dict[str, int], names: tuple[str, ...]) -> dict[str, int]:
    return {name: totals[name] for name in names if totals.get(name)}


def last_markdown(text: str) -> str:
    """The newest report in a markdown file (the github format appends, as GitHub does)."""
    return MARKER + text.rsplit(MARKER, 1)[-1]


def markdown_totals(text: str) -> dict[str, int]:
    """The facts line of the markdown report: ``10 tests (2 passed, 3 failed) · ...``."""
    match = re.search(r"^(\d+) tests?(?: \(([^)]*)\))?", text, re.MULTILINE)
    assert match, f"no facts line in the markdown report:\n{text[:1500]}"
    return {"collected": int(match.group(1)), **counts_of(match.group(2) or "")}


def unescape_markdown(text: str) -> str:
    return re.sub(r"\\(.)", r"\1", text)


def junit_counts(text: str) -> dict[str, int]:
    """The testsuite's counters and the test cases' problems in a JUnit file."""
    suite = ET.fromstring(text)
    cases = suite.findall("testcase")
    return {
        "tests": int(suite.get("tests", "0")),
        "failures": int(suite.get("failures", "0")),
        "errors": int(suite.get("errors", "0")),
        "skipped": int(suite.get("skipped", "0")),
        "cases": len(cases),
        "failure_cases": sum(1 for c in cases if c.find("failure") is not None),
        "error_cases": sum(1 for c in cases if c.find("error") is not None),
    }


def uetf_cli(*argv: str) -> tuple[int, str, str]:
    """The ``uetf`` command run in this process (a subprocess costs half a second)."""
    from uetf_core.cli import main

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        status = main(list(argv))
    return status, out.getvalue(), err.getvalue()


def show(ledger: Path, run: str) -> Any:
    """``uetf show RUN --json``, parsed."""
    status, out, err = uetf_cli("show", run, "--json", "--ledger", str(ledger))
    assert status == 0, err
    return json.loads(out)


def final_outcomes(ledger: Path, run_id: str) -> dict[str, str]:
    """Node id -> outcome of each test's last attempt, as the ledger holds them."""
    from uetf_core.ledger import open_ledger

    opened = open_ledger(str(ledger))
    try:
        return {row[0]: row[2] for row in opened.final_results(run_id)}
    finally:
        opened.close()
