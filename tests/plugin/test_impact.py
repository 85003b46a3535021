"""Test impact analysis in real pytest runs: dependencies recorded with coverage, then
``--uetf-select=affected`` runs only what a change can affect and carries the rest."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from conftest import make_repo, run_pytest, run_uetf, uetf_summary
from uetf_core.ledger import open_ledger
from uetf_core.reports.escape import markdown_inline

PROJECT = {
    "pyproject.toml": "[tool.uetf]\ncov_source = ['pkg']\nselect = 'record'\n",
    ".gitignore": ".ledger/\n__pycache__/\n.coverage*\n",
    "pkg/__init__.py": "",
    "pkg/a.py": "def add(x, y):\n    return x + y\n\n\ndef sub(x, y):\n    return x - y\n",
    "pkg/b.py": "LIMIT = 10\n\n\ndef mul(x, y):\n    return x * y\n",
    "tests/test_a.py": (
        "from pkg.a import add, sub\n\n\ndef test_add():\n    assert add(1, 2) == 3\n\n\n"
        "def test_sub():\n    assert sub(3, 2) == 1\n"
    ),
    "tests/test_b.py": (
        "import pytest\nfrom pkg.b import mul\n\n\n@pytest.mark.parametrize('n', range(4))\n"
        "def test_mul(n):\n    assert mul(n, 1) == n\n"
    ),
}
ENV = {"PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"}
ALL = 6


def uetf(root: Path, *args: str, xdist: bool = False) -> tuple[int, str]:
    plugins = ("-p", "pytest_uetf.plugin", *(("-p", "xdist.plugin") if xdist else ()))
    done = run_pytest(root, *plugins, "--uetf", "-rA", *args, env=ENV)
    return done.returncode, done.stdout + done.stderr


def ran(output: str) -> set[str]:
    return {line.split()[1] for line in output.splitlines() if line.startswith("PASSED ")} | {
        line.split()[1] for line in output.splitlines() if line.startswith("FAILED ")
    }


@pytest.fixture
def project(tmp_path: Path) -> Path:
    return make_repo(tmp_path / "project", PROJECT)


def edit(root: Path, path: str, old: str, new: str) -> None:
    file = root / path
    file.write_text(file.read_text().replace(old, new))


def ledger_rows(root: Path, ledger: str | None = None) -> dict[str, object]:
    opened = open_ledger(ledger or str(root / ".ledger" / "uetf.db"))
    try:
        run_id = opened.find_run("last")["run_id"]
        return {
            "run_id": run_id,
            "records": {r["node_id"]: r for r in opened.records(run_id)},
            "selection": opened.selection(run_id),
            "dependencies": opened.recorded_dependencies(run_id),
            "totals": opened.totals(run_id),
            "coverage": opened.coverage_percent(run_id),
        }
    finally:
        opened.close()


def test_a_coverage_run_records_each_tests_blocks(project: Path) -> None:
    """Measuring coverage records per test the blocks it ran, with the environment."""
    status, output = uetf(project)
    assert status == 0, output
    rows = ledger_rows(project)
    recorded = rows["dependencies"]
    assert recorded is not None and recorded.complete
    blocks = {
        node_id: {(d.path, d.qualname) for d in deps or ()}
        for node_id, deps in recorded.tests.items()
    }
    assert ("pkg/a.py", "sub") in blocks["tests/test_a.py::test_sub"]
    assert ("pkg/a.py", "add") not in blocks["tests/test_a.py::test_sub"]
    assert ("pkg/b.py", "mul") in blocks["tests/test_b.py::test_mul[2]"]
    assert len(blocks) == ALL
    assert recorded.environment.python.startswith("CPython")
    assert {d.path for d in recorded.import_time} >= {"pkg/a.py", "pkg/b.py"}


def test_selection_runs_the_affected_and_carries_the_rest(project: Path, validate) -> None:  # type: ignore[no-untyped-def]
    """After an edit of one function only its test runs; the others are carried, the
    gates judge the whole suite, and pytest's summary says what was deselected."""
    assert uetf(project)[0] == 0
    edit(project, "pkg/a.py", "return x - y", "return -(y - x)")
    status, output = uetf(
        project,
        "--uetf-select=affected",
        "--uetf-gate=test_count_drop<=0",
        "--uetf-gate=coverage>=100",
        f"--uetf-report=markdown:{project / 'pr.md'}",
        f"--uetf-report=html:{project / 'report.html'}",
        f"--uetf-report=json:{project / 'gate.json'}",
    )
    assert status == 0, output
    assert ran(output) == {"tests/test_a.py::test_sub"}
    assert "1 passed, 5 deselected" in output
    assert "uetf impact: 1 tests ran, 5 carried from baseline run" in output
    rows = ledger_rows(project)
    records = rows["records"]
    assert len(records) == ALL
    assert records["tests/test_a.py::test_add"]["worker"] == "carried"
    assert records["tests/test_a.py::test_sub"]["worker"] != "carried"
    assert rows["totals"].collected == ALL and rows["totals"].passed == ALL
    assert rows["coverage"] == 100.0
    assert rows["selection"]["selected"] == 1 and rows["selection"]["unselected"] == 5
    # The selected run is complete: it serves as the next baseline, carried tests included.
    assert len(rows["dependencies"].tests) == ALL
    summary = json.loads(run_uetf(project, "show", "last", "--json").stdout)
    validate("run_summary", summary)
    assert summary["impact"]["ran"] == 1 and summary["impact"]["carried"] == 5
    assert summary["totals"]["collected"] == ALL
    # Every face of the run says how many ran, how many were carried, and from where.
    said = f"1 tests ran, 5 carried from baseline run {summary['impact']['baseline_run_id']}"
    assert said in run_uetf(project, "show", "last").stdout
    assert markdown_inline(said) in (project / "pr.md").read_text()
    assert said in (project / "report.html").read_text()
    report = json.loads((project / "gate.json").read_text())
    validate("gate_report", report)
    assert report["impact"] == summary["impact"]


def test_a_broken_function_fails_its_selected_test(project: Path) -> None:
    """A fault injected into a function is caught: its test is selected and fails the run."""
    assert uetf(project)[0] == 0
    edit(project, "pkg/b.py", "return x * y", "return x * y + 1")
    status, output = uetf(project, "--uetf-select=affected", "--uetf-gate=new_failures<=0")
    assert status != 0
    assert ran(output) == {f"tests/test_b.py::test_mul[{n}]" for n in range(4)}


def test_import_time_change_selects_the_importers(project: Path) -> None:
    """A changed module-level constant selects every test that reached that module."""
    assert uetf(project)[0] == 0
    edit(project, "pkg/b.py", "LIMIT = 10", "LIMIT = 11")
    status, output = uetf(project, "--uetf-select=affected")
    assert status == 0, output
    assert ran(output) == {f"tests/test_b.py::test_mul[{n}]" for n in range(4)}


@pytest.mark.parametrize(
    ("path", "why"),
    [
        ("pyproject.toml", "a packaging or configuration file changed (pyproject.toml)"),
        ("data.json", "a changed file cannot be mapped to code blocks (data.json)"),
    ],
)
def test_unmappable_change_runs_the_whole_suite_and_says_why(
    project: Path, path: str, why: str
) -> None:
    """A change UETF cannot map to blocks runs every test, with the reason printed."""
    assert uetf(project)[0] == 0
    with (project / path).open("a") as file:
        file.write("\n[project]\nname = 'demo'\n" if path.endswith(".toml") else "{}\n")
    status, output = uetf(project, "--uetf-select=affected")
    assert status == 0, output
    assert len(ran(output)) == ALL
    assert f"uetf impact: the whole suite ran: {why}" in output


@pytest.mark.parametrize("declared", [True, False])
def test_a_declared_input_runs_the_whole_suite(tmp_path: Path, declared: bool) -> None:
    """A file the tests read that selection would take for documentation (``*.md``) runs
    the whole suite once ``impact_inputs`` names it; undeclared, its edit runs nothing."""
    inputs = "impact_inputs = ['docs/*.md']\n" if declared else ""
    pyproject = PROJECT["pyproject.toml"] + inputs
    project = make_repo(
        tmp_path / "project", {**PROJECT, "pyproject.toml": pyproject, "docs/rates.md": "2\n"}
    )
    assert uetf(project)[0] == 0
    (project / "docs" / "rates.md").write_text("3\n")
    status, output = uetf(project, "--uetf-select=affected")
    assert status == 0, output
    if declared:
        assert len(ran(output)) == ALL
        why = "uetf impact: the whole suite ran: a configured input changed (docs/rates.md)"
        assert why in output
        shown = run_uetf(project, "impact").stdout
        assert "a configured input changed" in shown and "docs/rates.md" in shown
    else:
        assert ran(output) == set()
        assert f"0 tests ran, {ALL} carried" in output


def test_no_baseline_runs_the_whole_suite(project: Path) -> None:
    """Without a recorded baseline, selection falls back to every test and says so."""
    status, output = uetf(project, "--uetf-select=affected")
    assert status == 0, output
    assert len(ran(output)) == ALL
    assert "the whole suite ran: no baseline run to select from" in output


def test_nothing_changed_carries_everything_and_passes(project: Path) -> None:
    """With no change, every test is carried and the run passes (not pytest's exit 5)."""
    assert uetf(project)[0] == 0
    status, output = uetf(project, "--uetf-select=affected", "--uetf-gate=pass_rate>=100")
    assert status == 0, output
    assert ran(output) == set()
    assert "0 tests ran, 6 carried" in output


def test_selection_under_xdist(project: Path) -> None:
    """Workers record their tests and hand them over; under -n the selection is the same."""
    status, output = uetf(project, "-n", "2", xdist=True)
    assert status == 0, output
    recorded = ledger_rows(project)["dependencies"]
    assert recorded is not None and len(recorded.tests) == ALL
    assert all(recorded.tests.values())
    edit(project, "pkg/a.py", "return x + y", "return y + x")
    status, output = uetf(project, "-n", "2", "--uetf-select=affected", xdist=True)
    assert status == 0, output
    assert ran(output) == {"tests/test_a.py::test_add"}
    rows = ledger_rows(project)
    assert len(rows["records"]) == ALL
    assert rows["coverage"] == 100.0


def test_selection_with_shards(project: Path) -> None:
    """Each shard runs its selected tests and carries only its own others."""
    assert uetf(project)[0] == 0
    edit(project, "pkg/b.py", "return x * y", "return y * x")
    carried = 0
    selected: set[str] = set()
    for shard in ("1/2", "2/2"):
        status, output = uetf(
            project, "--uetf-select=affected", f"--uetf-shard={shard}", "--uetf-workstream=b1"
        )
        assert status == 0, output
        selected |= ran(output)
        rows = ledger_rows(project)
        carried += sum(1 for r in rows["records"].values() if r["worker"] == "carried")
    assert selected == {f"tests/test_b.py::test_mul[{n}]" for n in range(4)}
    assert carried == 2


def test_shadow_runs_everything_and_notes_what_it_would_skip(project: Path) -> None:
    """Shadow mode runs every test and records which ones selection would have left out."""
    assert uetf(project)[0] == 0
    edit(project, "pkg/a.py", "return x - y", "return -(y - x)")
    status, output = uetf(project, "--uetf-select=shadow")
    assert status == 0, output
    assert len(ran(output)) == ALL
    assert "selection would have run 1 tests and left out 5" in output
    rows = ledger_rows(project)
    assert rows["selection"]["mode"] == "shadow" and rows["selection"]["unselected"] == 5
    assert not any(r["worker"] == "carried" for r in rows["records"].values())


RECALL_GATE = "--uetf-gate=impact_recall>=99"
# A test no code change selects: it fails when the run's environment says so.
ENVIRONMENT_TEST = {
    "tests/test_env.py": (
        "import os\n\n\ndef test_env():\n    assert 'BREAK_ENV' not in os.environ\n"
    )
}


def recall_gate(root: Path) -> dict[str, object]:
    (gate,) = uetf_summary(root)["gates"]
    assert gate["name"] == "impact_recall"
    return dict(gate)


def test_impact_recall_gate_waits_for_evidence_then_judges_shadow_runs(tmp_path: Path) -> None:
    """impact_recall is skipped until a shadow run has seen a failure, never passed on
    nothing; then it is the recall ``uetf impact stats`` prints, over the runs up to this one."""
    root = make_repo(tmp_path / "project", {**PROJECT, **ENVIRONMENT_TEST})
    assert uetf(root, RECALL_GATE)[0] == 0
    gate = recall_gate(root)
    assert gate["verdict"] == "skipped"
    assert "no evidence yet: no run has selected tests yet" in str(gate["reason"])

    edit(root, "pkg/a.py", "return x - y", "return -(y - x)")  # same behaviour
    status, output = uetf(root, "--uetf-select=shadow", RECALL_GATE)
    assert status == 0, output
    gate = recall_gate(root)
    assert gate["verdict"] == "skipped"
    assert "no evidence yet: no test failed in the 1 shadow run(s)" in str(gate["reason"])

    edit(root, "pkg/a.py", "return -(y - x)", "return y - x")  # test_sub fails
    status, output = uetf(root, "--uetf-select=shadow", RECALL_GATE)
    assert status == 1, output
    assert "FAILED tests/test_a.py::test_sub" in output
    gate = recall_gate(root)
    assert (gate["verdict"], gate["value"]) == ("passed", 100.0)
    caught_run = uetf_summary(root)["run_id"]

    # test_env fails too, and selection, seeing no change it depends on, leaves it out.
    done = run_pytest(
        root,
        "-p",
        "pytest_uetf.plugin",
        "--uetf",
        "-rA",
        "--uetf-select=shadow",
        RECALL_GATE,
        env={**ENV, "BREAK_ENV": "1"},
    )
    assert done.returncode == 1, done.stdout
    assert "FAILED tests/test_env.py::test_env" in done.stdout
    gate = recall_gate(root)
    # test_sub caught twice, test_env missed once: 2 of 3 failures in the shadow runs.
    assert (gate["verdict"], gate["value"]) == ("failed", 66.67)
    stats = json.loads(run_uetf(root, "impact", "stats", "--format=json").stdout)
    assert (stats["failures"], stats["failures_caught"]) == (3, 2)
    assert gate["value"] == round(100 * stats["recall"], 2)
    # Judged again later, a run reads the runs up to itself: the verdict it reached.
    again = run_uetf(root, "gate", caught_run)
    assert again.returncode == 1, again.stderr  # its test failed; its gates held
    assert re.search(r"impact_recall +>= 99 % +100 % +passed", again.stdout), again.stdout


def test_selection_on_postgresql(project: Path, postgres_url: str) -> None:
    """The same selection and carry-forward with the ledger on a PostgreSQL server."""
    assert uetf(project, f"--uetf-ledger={postgres_url}")[0] == 0
    edit(project, "pkg/a.py", "return x - y", "return -(y - x)")
    status, output = uetf(
        project, f"--uetf-ledger={postgres_url}", "--uetf-select=affected", RECALL_GATE
    )
    assert status == 0, output
    assert ran(output) == {"tests/test_a.py::test_sub"}
    shown = run_uetf(project, "show", "last", "--json", "--ledger", postgres_url)
    (gate,) = json.loads(shown.stdout)["gates"]
    assert gate["verdict"] == "skipped"
    assert "no shadow run among the newest 1 runs that selected" in gate["reason"]
    rows = ledger_rows(project, postgres_url)
    assert len(rows["records"]) == ALL
    assert rows["selection"]["unselected"] == 5


SHARED_FIXTURE = {
    "tests/conftest.py": (
        "import pytest\nfrom pkg.b import mul\n\n\n@pytest.fixture(scope='session')\n"
        "def table():\n    return [mul(n, 2) for n in range(3)]\n"
    ),
    "tests/test_table.py": (
        "def test_first(table):\n    assert table[1] == 2\n\n\n"
        "def test_second(table):\n    assert table[2] == 4\n"
    ),
}


def test_a_shared_fixtures_code_belongs_to_every_test_using_it(tmp_path: Path) -> None:
    """Code a session fixture runs once, in the first test, is a dependency of each test
    that uses the fixture: a change to it selects them all."""
    root = make_repo(tmp_path / "project", {**PROJECT, **SHARED_FIXTURE})
    assert uetf(root)[0] == 0
    recorded = ledger_rows(root)["dependencies"]
    for name in ("test_first", "test_second"):
        deps = recorded.tests[f"tests/test_table.py::{name}"]
        assert ("pkg/b.py", "mul") in {(d.path, d.qualname) for d in deps}
    edit(root, "pkg/b.py", "return x * y", "return y * x")
    status, output = uetf(root, "--uetf-select=affected")
    assert status == 0, output
    assert {"tests/test_table.py::test_first", "tests/test_table.py::test_second"} <= ran(output)


@pytest.mark.parametrize("dist", ["duration", "module"])
def test_selection_with_planned_distribution(project: Path, dist: str) -> None:
    """With --uetf-dist the workers run the selected tests as routed; the rest is carried."""
    assert uetf(project, "-n", "2", xdist=True)[0] == 0
    edit(project, "pkg/b.py", "return x * y", "return y * x")
    status, output = uetf(
        project, "-n", "2", f"--uetf-dist={dist}", "--uetf-select=affected", xdist=True
    )
    assert status == 0, output
    assert ran(output) == {f"tests/test_b.py::test_mul[{n}]" for n in range(4)}
    records = ledger_rows(project)["records"]
    assert sorted(r["worker"] for r in records.values()).count("carried") == 2


FLIPPING = {
    "tests/test_flip.py": (
        "import os\nfrom pkg.a import add\n\n\ndef test_flip():\n"
        "    assert add(1, 1) == 2 and not os.environ.get('FLIP')\n"
    ),
}


def test_a_failure_of_unchanged_code_is_shown_as_likely_flaky(tmp_path: Path, validate) -> None:  # type: ignore[no-untyped-def]
    """A test failing although none of its blocks changed since it passed is marked likely
    flaky, with the run it passed in; once its code changes, a failure is not."""
    root = make_repo(tmp_path / "project", {**PROJECT, **FLIPPING})
    assert uetf(root)[0] == 0
    plugins = ("-p", "pytest_uetf.plugin", "--uetf", "-rA")
    done = run_pytest(root, *plugins, env={**ENV, "FLIP": "1"})
    assert done.returncode != 0
    assert "uetf impact: likely flaky, not a new failure: tests/test_flip.py::test_flip" in (
        done.stdout
    )
    summary = json.loads(run_uetf(root, "show", "last", "--json").stdout)
    validate("run_summary", summary)
    (flaky,) = summary["impact"]["likely_flaky"]
    assert flaky["node_id"] == "tests/test_flip.py::test_flip" and flaky["blocks"] >= 2
    edit(root, "pkg/a.py", "return x + y", "return y + x")
    done = run_pytest(root, *plugins, env={**ENV, "FLIP": "1"})
    assert done.returncode != 0
    assert "likely flaky" not in done.stdout


def test_off_records_no_dependencies(project: Path) -> None:
    """--uetf-select=off measures coverage without recording test dependencies."""
    status, output = uetf(project, "--uetf-select=off")
    assert status == 0, output
    assert ledger_rows(project)["dependencies"] is None
