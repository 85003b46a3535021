"""What a person sees at the end of ``pytest --uetf`` in a real terminal: pytest runs with
its standard output on a pseudo-terminal 80 columns wide, and the tests read what the
terminal received, escapes and all."""

from __future__ import annotations

import fcntl
import os
import re
import select
import shutil
import struct
import subprocess
import sys
import termios
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from conftest import git, make_repo

COLUMNS = 80
# pytest's TerminalWriter writes these SGR codes for the markup UETF asks of it.
GREEN, RED, YELLOW = "32", "31", "33"
# pytest colours an outcome green when passed, red when failed or errored, and yellow for
# everything between (skipped, xfailed, warnings, deselected): a gate's verdict the same.
VERDICT_COLOURS = {
    "passed": GREEN,
    "failed": RED,
    "error": RED,
    "warned": YELLOW,
    "waived": YELLOW,
    "skipped": YELLOW,
    "deferred": YELLOW,
}
SGR = re.compile(r"\x1b\[([0-9;]*)m")
GATE_ROW = re.compile(
    r"^\S+ +(?:>=|<=|==|>|<) .*? ("
    + "|".join(VERDICT_COLOURS)
    + r")(?: \(.*\))?$"  # a short reason stays on the row, in parentheses
)
TOTALS = re.compile(r"^collected \d+: ")
# The verdict's first line; the gate counts and the ledger follow on it when they fit,
# else on indented lines of their own.
VERDICT = re.compile(r"^uetf: run \S+ (\w+)(?: \(gates: (.*?)\))?; exit (\d+)")
CONTINUED = re.compile(r"^    (?:gates: |ledger )")
SECTION = re.compile(r"^=+ uetf =+$")

APP = """\
def price(n):
    return n * 2


def discount(n):
    if n > 10:
        return n - 1
    return n
"""
CHANGE = """

def bulk(n):
    if n > 100:
        return n - 10
    return n
"""
TESTS = """\
import pytest

from app.prices import discount, price


def test_price():
    assert price(2) == 4


def test_discount():
    assert discount(1) == 1


@pytest.mark.skip(reason="needs the pricing service, which this build machine cannot reach")
def test_remote_prices():
    pass
"""
FAILING = """\
def test_rounding():
    assert round(2.675, 2) == 2.68
"""
BULK_TEST = """

def test_bulk():
    from app.prices import bulk

    assert bulk(5) == 5
"""
WAIVER = """\
[[waiver]]
test = "tests/test_rounding.py::test_rounding"
owner = "pricing"
reason = "binary floating point; the fix ships with the decimal prices"
expires = "2999-01-01"
"""
# Colour and width come from the terminal alone: no variable may force either.
NOT_INHERITED = ("PYTEST_", "COV_", "UETF_", "GITHUB_")
NOT_INHERITED_NAMES = {"NO_COLOR", "FORCE_COLOR", "PY_COLORS", "CI", "BUILD_NUMBER", "TERM"}


@dataclass(frozen=True)
class Screen:
    """What the terminal received from one run, and the run's exit status."""

    received: str
    exit_status: int

    @property
    def raw_lines(self) -> list[str]:
        """Each line as written, escapes kept; a carriage return starts the line over."""
        return [line.rsplit("\r", 1)[-1] for line in self.received.split("\n")]

    @property
    def lines(self) -> list[str]:
        """Each line as a person reads it: escapes removed."""
        return [SGR.sub("", line) for line in self.raw_lines]

    def uetf_span(self) -> range:
        """Where UETF's lines are: its section (or, under -q, the gate rows) to the verdict's
        last line."""
        lines = self.lines
        end = next(i for i, line in enumerate(lines) if VERDICT.match(line))
        while end + 1 < len(lines) and CONTINUED.match(lines[end + 1]):
            end += 1
        start = next(
            (i for i, line in enumerate(lines) if SECTION.match(line)),
            next((i for i, line in enumerate(lines) if line.startswith("gate ")), end),
        )
        return range(start, end + 1)

    def uetf_lines(self) -> list[tuple[str, str]]:
        """UETF's lines, as (written, read), and every other line that starts with ``uetf``."""
        span = self.uetf_span()
        return [
            (raw, line)
            for i, (raw, line) in enumerate(zip(self.raw_lines, self.lines, strict=True))
            if i in span or line.startswith("uetf")
        ]

    def verdict(self) -> tuple[str, str]:
        """The verdict's first line, as (written, read)."""
        return next((raw, line) for raw, line in self.uetf_lines() if VERDICT.match(line))

    def verdict_lines(self) -> list[tuple[str, str]]:
        """The verdict's lines, the first and its indented continuations, as (written, read)."""
        lines = self.uetf_lines()
        first = next(i for i, (_, line) in enumerate(lines) if VERDICT.match(line))
        rest = [(raw, line) for raw, line in lines[first + 1 :] if CONTINUED.match(line)]
        return [lines[first], *rest]

    def text(self) -> str:
        return "\n".join(self.lines)


def colour_of(raw: str, word: str) -> str | None:
    """The foreground colour (an SGR code) the last ``word`` of ``raw`` is written in."""
    colour: str | None = None
    found: str | bool | None = False
    for index, part in enumerate(SGR.split(raw)):
        if index % 2:  # an SGR's parameters
            for code in (part or "0").split(";"):
                if code in ("0", "39"):
                    colour = None
                elif code.startswith("3") and len(code) == 2:
                    colour = code
        elif word in part:
            found = colour
    assert found is not False, (word, raw)
    return found  # type: ignore[return-value]


def in_terminal(root: Path, *args: str, timeout: float = 120) -> Screen:
    """``pytest --uetf ARGS`` in ``root`` with standard output and error on a pseudo-terminal
    of COLUMNS columns, UETF the only plugin loaded; what the terminal received."""
    master, slave = os.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, COLUMNS, 0, 0))
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(NOT_INHERITED) and name not in NOT_INHERITED_NAMES
    }
    env |= {
        "TERM": "xterm-256color",
        "COLUMNS": str(COLUMNS),
        "PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1",
    }
    command = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider"]
    with subprocess.Popen(
        [*command, "-p", "pytest_uetf.plugin", "--uetf", *args],
        cwd=root,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=slave,
        stderr=slave,
    ) as process:
        os.close(slave)
        received = bytearray()
        deadline = time.monotonic() + timeout
        try:
            while True:
                ready, _, _ = select.select([master], [], [], max(0, deadline - time.monotonic()))
                if not ready:
                    process.kill()
                    pytest.fail(f"pytest {' '.join(args)} still running after {timeout}s")
                try:
                    chunk = os.read(master, 65536)
                except OSError:  # Linux: every writer closed the terminal
                    break
                if not chunk:
                    break
                received += chunk
        finally:
            os.close(master)
        status = process.wait(timeout)
    # The terminal turns each newline into a carriage return and a newline.
    return Screen(received.decode().replace("\r\n", "\n"), status)


# -- the projects, each copied before a run so that no ledger is shared -----------------


@pytest.fixture(scope="module")
def templates(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Two git repositories to copy: one whose tests pass, one with a failing test too."""
    base = tmp_path_factory.mktemp("templates")
    common = {
        "app/__init__.py": "",
        "app/prices.py": APP,
        "tests/test_prices.py": TESTS,
        "pyproject.toml": '[tool.pytest.ini_options]\npythonpath = ["."]\n',
        ".gitignore": ".ledger/\n__pycache__/\n",
    }
    return {
        "passing": make_repo(base / "passing", common),
        "failing": make_repo(base / "failing", {**common, "tests/test_rounding.py": FAILING}),
    }


@pytest.fixture(scope="module")
def project(
    templates: dict[str, Path], tmp_path_factory: pytest.TempPathFactory
) -> Callable[[str], Path]:
    """A fresh copy of a template repository."""

    def copy(kind: str) -> Path:
        target = tmp_path_factory.mktemp(kind) / "project"
        shutil.copytree(templates[kind], target)
        return target

    return copy


@pytest.fixture(scope="module")
def passing(project: Callable[[str], Path]) -> Screen:
    """Every test passes and every gate too."""
    return in_terminal(
        project("passing"),
        "--uetf-cov=app",
        "--uetf-gate=pass_rate>=100",
        "--uetf-gate=coverage>=50",
    )


FAILING_GATES = (
    "--uetf-cov=app",
    "--uetf-gate=pass_rate>=100",
    "--uetf-gate=new_failures<=0",  # skipped, with a long reason: the first run of main
    "--uetf-gate=coverage>=50",
)


@pytest.fixture(scope="module")
def failing(project: Callable[[str], Path]) -> Screen:
    """A test fails, one gate fails, one is skipped with a reason longer than a line."""
    return in_terminal(project("failing"), *FAILING_GATES)


@pytest.fixture(scope="module")
def colourless(project: Callable[[str], Path]) -> Screen:
    """The failing run again, with ``--color=no``."""
    return in_terminal(project("failing"), "--color=no", *FAILING_GATES)


@pytest.fixture(scope="module")
def quiet(project: Callable[[str], Path]) -> Screen:
    """The failing run under ``-q``."""
    return in_terminal(project("failing"), "-q", *FAILING_GATES)


@pytest.fixture(scope="module")
def waived(project: Callable[[str], Path]) -> Screen:
    """The failing test excused by a waiver."""
    root = project("failing")
    (root / ".uetf").mkdir()
    (root / ".uetf" / "waivers.toml").write_text(WAIVER)
    return in_terminal(root, "--uetf-gate=pass_rate>=100")


@pytest.fixture(scope="module")
def sharded(project: Callable[[str], Path]) -> Screen:
    """The first of two shards: a whole-suite gate is deferred, with a long reason."""
    return in_terminal(
        project("passing"),
        "--uetf-shard=1/2",
        "--uetf-workstream=build-7",
        "--uetf-cov=app",
        "--uetf-gate=pass_rate>=100",
        "--uetf-gate=coverage>=50",
    )


@pytest.fixture(scope="module")
def changed(project: Callable[[str], Path]) -> dict[str, Screen]:
    """A branch adding code one test half covers: with a patch_coverage gate and with none
    (a test fails on both: the run fails whatever its gates say)."""
    root = project("failing")
    git(root, "checkout", "-q", "-b", "bulk-prices")
    with (root / "app" / "prices.py").open("a") as source:
        source.write(CHANGE)
    with (root / "tests" / "test_prices.py").open("a") as tests:
        tests.write(BULK_TEST)
    git(root, "commit", "-q", "-am", "bulk prices")
    common = ("--uetf-cov=app", "--uetf-base=main")
    return {
        "gated": in_terminal(root, *common, "--uetf-gate=patch_coverage>=90"),
        "ungated": in_terminal(root, *common),
    }


SCREENS = ("passing", "failing", "colourless", "quiet", "waived", "sharded")
UNQUIET = ("passing", "failing", "colourless", "waived", "sharded")


def screen(request: pytest.FixtureRequest, name: str) -> Screen:
    if name.startswith("changed-"):
        changed: dict[str, Screen] = request.getfixturevalue("changed")
        return changed[name.removeprefix("changed-")]
    shown: Screen = request.getfixturevalue(name)
    return shown


# -- width ---------------------------------------------------------------------------------


@pytest.mark.parametrize("name", [*SCREENS, "changed-gated", "changed-ungated"])
def test_every_uetf_line_but_the_verdict_fits_80_columns(
    request: pytest.FixtureRequest, name: str
) -> None:
    """Gate rows, reasons, coverage, totals and notes fit the terminal's 80 columns."""
    lines = [line for _, line in screen(request, name).uetf_lines() if not VERDICT.match(line)]
    assert len(lines) >= 2
    assert all(len(line) <= COLUMNS for line in lines), [line for line in lines if len(line) > 80]


@pytest.mark.parametrize("name", ["passing", "failing", "quiet", "changed-ungated"])
def test_the_verdict_fits_80_columns(request: pytest.FixtureRequest, name: str) -> None:
    """The verdict, the last thing UETF prints, fits 80 columns too: what does not fit on
    its first line (the ledger, named relative to the project) follows, indented."""
    lines = [line for _, line in screen(request, name).verdict_lines()]
    assert all(len(line) <= COLUMNS for line in lines), lines
    assert lines[-1].endswith("ledger .ledger/uetf.db"), lines


@pytest.mark.parametrize("name", ["failing", "sharded"])
def test_a_long_reason_goes_on_indented_lines_under_its_row(
    request: pytest.FixtureRequest, name: str
) -> None:
    """A skipped or deferred gate's reason longer than the row's room follows it, indented."""
    lines = [line for _, line in screen(request, name).uetf_lines()]
    row = next(i for i, line in enumerate(lines) if re.search(r" (skipped|deferred)$", line))
    reason = lines[row + 1 : row + 3]
    assert all(line.startswith("    ") and line.strip() for line in reason), lines


# -- one of each line ----------------------------------------------------------------------


@pytest.mark.parametrize("name", [*UNQUIET, "changed-gated", "changed-ungated"])
def test_one_totals_line_and_one_verdict_line(request: pytest.FixtureRequest, name: str) -> None:
    """A run prints UETF's totals once and its verdict once, shards included."""
    lines = screen(request, name).lines
    assert sum(1 for line in lines if TOTALS.match(line)) == 1, lines
    assert sum(1 for line in lines if VERDICT.match(line)) == 1, lines


@pytest.mark.parametrize(
    "name",
    [
        "passing",  # UETF's section right after pytest's progress line
        "failing",
        "sharded",
        "changed-gated",
    ],
)
def test_no_blank_line_inside_the_uetf_section(request: pytest.FixtureRequest, name: str) -> None:
    """Passing and failing runs alike: the section's rule, then UETF's lines, none blank."""
    lines = [line for _, line in screen(request, name).uetf_lines()]
    assert SECTION.match(lines[0]), lines
    assert all(line.strip() for line in lines), lines


# -- colour --------------------------------------------------------------------------------


def gate_rows(screen: Screen) -> list[tuple[str, str]]:
    """Each gate row of the screen, as (written, verdict)."""
    rows = []
    for raw, line in screen.uetf_lines():
        match = GATE_ROW.match(line)
        if match:
            rows.append((raw, match.group(1)))
    return rows


def test_passed_failed_and_warned_gates_are_green_red_and_yellow(
    request: pytest.FixtureRequest, project: Callable[[str], Path]
) -> None:
    """A gate's verdict is written in the colour pytest gives the same outcome."""
    warned = in_terminal(project("passing"), "--uetf-gate-mode=warn", "--uetf-gate=min_tests>=9")
    rows = [
        row for name in ("passing", "failing", "quiet") for row in gate_rows(screen(request, name))
    ]
    rows += gate_rows(warned)
    seen = {verdict for _, verdict in rows}
    assert {"passed", "failed", "warned"} <= seen, rows
    for raw, verdict in rows:
        if verdict in ("passed", "failed", "warned"):
            assert colour_of(raw, verdict) == VERDICT_COLOURS[verdict], raw


@pytest.mark.parametrize("name", ["failing", "sharded"])
def test_skipped_and_deferred_gates_are_yellow(request: pytest.FixtureRequest, name: str) -> None:
    """A gate that did not judge this run reads in yellow, as a skipped test does."""
    rows = [(raw, v) for raw, v in gate_rows(screen(request, name)) if v in ("skipped", "deferred")]
    assert rows
    for raw, verdict in rows:
        assert colour_of(raw, verdict) == YELLOW, raw


def test_a_passing_verdict_is_green(passing: Screen) -> None:
    """A run that passed every gate ends on a green verdict, as pytest ends a green run."""
    raw, line = passing.verdict()
    assert passing.exit_status == 0 and " passed " in line, passing.text()
    assert colour_of(raw, "uetf: run") == GREEN, raw
    for raw, line in passing.verdict_lines()[1:]:  # its continuation, in the same colour
        assert colour_of(raw, line.split()[0]) == GREEN, raw


@pytest.mark.parametrize("name", ["failing", "quiet", "changed-gated"])
def test_a_failing_gate_makes_a_red_verdict(request: pytest.FixtureRequest, name: str) -> None:
    """A run a gate failed ends on a red verdict, -q included."""
    shown = screen(request, name)
    lines = shown.verdict_lines()
    said = " ".join(line.strip() for _, line in lines)
    assert re.search(r" failed(?: \(|; exit 1 )gates: 1 failed", said), shown.text()
    for raw, line in lines:
        assert colour_of(raw, line.split()[0]) == RED, raw


def test_a_run_failed_by_its_tests_has_a_red_verdict(changed: dict[str, Screen]) -> None:
    """A failed run ends red whatever its gates: here none was declared and a test failed."""
    shown = changed["ungated"]
    raw, line = shown.verdict()
    assert " failed (gates: no gates declared)" in line and shown.exit_status == 1, shown.text()
    assert colour_of(raw, "uetf: run") == RED, raw


@pytest.mark.parametrize("name", ["waived", "sharded"])
def test_a_passed_run_with_something_unjudged_or_excused_has_a_yellow_verdict(
    request: pytest.FixtureRequest, name: str
) -> None:
    """A passed run with a deferred gate or a waived failure ends yellow, as pytest ends a
    passed run that has warnings: it passed, with something to read."""
    shown = screen(request, name)
    raw, line = shown.verdict()
    assert shown.exit_status == 0 and " passed (gates: " in line, shown.text()
    assert colour_of(raw, "uetf: run") == YELLOW, raw


def test_color_no_writes_no_escape_on_a_terminal(colourless: Screen, failing: Screen) -> None:
    """``--color=no`` on a terminal: not one escape, and the same words as in colour."""
    assert "\x1b" not in colourless.received
    run = re.compile(r"run \S+ |ledger .*")  # each run has its own id and ledger
    coloured = [run.sub("", line) for _, line in failing.uetf_lines()]
    plain = [run.sub("", line) for _, line in colourless.uetf_lines()]
    assert plain == coloured


# -- what the lines say --------------------------------------------------------------------


def test_quiet_shows_the_failing_gate_rows_and_the_verdict_only(quiet: Screen) -> None:
    """Under -q: the header, the failing gate's row and the verdict; no section, no passing
    or skipped row, no totals line."""
    lines = [line for _, line in quiet.uetf_lines()]
    assert lines[0].split() == ["gate", "threshold", "measured", "verdict"], lines
    assert [verdict for _, verdict in gate_rows(quiet)] == ["failed"], lines
    assert lines[1].startswith("pass_rate "), lines
    assert not any(SECTION.match(line) or TOTALS.match(line) for line in quiet.lines)
    verdict = [line for _, line in quiet.verdict_lines()]
    assert lines[-len(verdict) :] == verdict and quiet.exit_status == 1, lines


def test_a_waived_failure_is_said_with_the_failures(waived: Screen) -> None:
    """pytest counts the waived test as failed; UETF says which of the failures is excused."""
    assert any(
        line == "collected 4: 2 passed, 1 failed (1 waived), 1 skipped" for line in waived.lines
    ), waived.text()
    assert waived.exit_status == 0


def test_coverage_and_the_patch_figure_with_a_patch_gate(changed: dict[str, Screen]) -> None:
    """With a patch_coverage gate: the uncovered changed lines, then the total and the
    patch figure on one line."""
    lines = [line for _, line in changed["gated"].uetf_lines()]
    at = lines.index("patch lines not covered:")
    assert lines[at + 1] == "  app/prices.py: 13", lines
    coverage = next(line for line in lines if line.startswith("coverage "))
    assert re.fullmatch(r"coverage \d+\.\d\d % of 10 statements; patch 75 %", coverage), coverage


def test_coverage_is_printed_without_a_coverage_gate(changed: dict[str, Screen]) -> None:
    """Coverage measured, no gate declared: the total is printed all the same."""
    lines = [line for _, line in changed["ungated"].uetf_lines()]
    assert any(re.match(r"coverage \d+\.\d\d % of 10 statements", line) for line in lines), lines


def test_the_patch_figure_is_printed_whatever_the_gates(changed: dict[str, Screen]) -> None:
    """A change and coverage, no gate declared: the coverage line gives the patch figure."""
    lines = [line for _, line in changed["ungated"].uetf_lines()]
    coverage = next(line for line in lines if line.startswith("coverage "))
    assert coverage.endswith("; patch 75 %"), coverage
