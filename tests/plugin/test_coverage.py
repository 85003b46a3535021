"""Coverage gates against coverage.py's own figures, diff-cover's, and a recorded base."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from conftest import git, run_pytest, uetf_summary

CORE = """\
import os

VALUE = 3


def add(a, b):
    return a + b


def sub(a, b):
    if a > b:
        return a - b
    return b - a


def unused():
    x = 1
    return x
"""
TESTS = """\
from app.core import add, sub


def test_add():
    assert add(1, 2) == 3


def test_sub():
    assert sub(3, 1) == 2
"""


@pytest.fixture
def project(git_project) -> Path:  # type: ignore[no-untyped-def]
    """A git repository on main with a package, its tests and a coverage configuration."""
    return git_project(
        {
            "app/__init__.py": "",
            "app/core.py": CORE,
            "test_app.py": TESTS,
            ".coveragerc": "[run]\nomit = app/__init__.py\n",
        }
    )


def coverage_report_total(root: Path) -> float:
    """The TOTAL that `coverage report` prints for the same tests and configuration."""
    data = root.parent / "reference.coverage"
    env = {**os.environ, "COVERAGE_FILE": str(data)}
    subprocess.run(
        [
            sys.executable,
            "-m",
            "coverage",
            "run",
            "--source=app",
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "-p",
            "no:uetf",
        ],
        cwd=root,
        env=env,
        check=True,
        capture_output=True,
    )
    out = subprocess.run(
        [sys.executable, "-m", "coverage", "report", "--precision=2", "--format=total"],
        cwd=root,
        env=env,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return float(out.strip())


@pytest.mark.parametrize("workers", [[], ["-n", "2"]], ids=["serial", "xdist"])
def test_total_equals_coverage_report(project: Path, workers: list[str], validate) -> None:  # type: ignore[no-untyped-def]
    """The coverage gate's figure is coverage report's TOTAL, serially and under xdist."""
    expected = coverage_report_total(project)
    done = run_pytest(project, "--uetf", "--uetf-cov=app", "--uetf-gate=coverage>=99", *workers)
    assert done.returncode == 6, done.stdout + done.stderr
    document = uetf_summary(project)
    validate("run_summary", document)
    assert document["coverage"]["percent"] == expected
    (gate,) = document["gates"]
    assert gate["value"] == expected and gate["verdict"] == "failed"
    assert [f["path"] for f in document["coverage"]["files"]] == ["app/core.py"]  # omit honoured
    # A second run reuses the ledger's analysis of the unchanged source: same figures.
    assert run_pytest(project, "--uetf", "--uetf-cov=app", *workers).returncode == 0
    assert uetf_summary(project)["coverage"]["files"] == document["coverage"]["files"]
    # No coverage data files left behind (bytecode caches are Python's, not ours).
    left = git(project, "status", "--porcelain", "--untracked-files=all").splitlines()
    assert [line for line in left if "__pycache__" not in line] == []


def test_export_feeds_coverage_reporters(project: Path, tmp_path: Path) -> None:
    """uetf coverage export writes a data file coverage.py's reporters read with the same total."""
    assert run_pytest(project, "--uetf", "--uetf-cov=app").returncode == 0
    data = tmp_path / "exported.coverage"
    subprocess.run(
        [sys.executable, "-m", "uetf_core.cli", "coverage", "export", "last", str(data)],
        cwd=project,
        check=True,
        capture_output=True,
    )
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "coverage",
            "report",
            "--precision=2",
            "--format=total",
            f"--data-file={data}",
        ],
        cwd=project,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    assert float(out) == uetf_summary(project)["coverage"]["percent"]


def diff_cover_percent(root: Path, tmp_path: Path) -> float:
    data = tmp_path / "dc.coverage"
    xml = tmp_path / "coverage.xml"
    report = tmp_path / "diff.json"
    subprocess.run(
        [sys.executable, "-m", "uetf_core.cli", "coverage", "export", "last", str(data)],
        cwd=root,
        check=True,
        capture_output=True,
    )
    subprocess.run(
        [sys.executable, "-m", "coverage", "xml", f"--data-file={data}", "-o", str(xml)],
        cwd=root,
        check=True,
        capture_output=True,
    )
    subprocess.run(
        [
            sys.executable,
            "-m",
            "diff_cover.diff_cover_tool",
            str(xml),
            "--compare-branch",
            "main",
            "--format",
            f"json:{report}",
        ],
        cwd=root,
        check=True,
        capture_output=True,
    )
    # The JSON's total_percent_covered is rounded to a whole number; the counts are exact.
    figures = json.loads(report.read_text())
    lines, violations = figures["total_num_lines"], figures["total_num_violations"]
    return round(100.0 * (lines - violations) / lines, 2)


def test_patch_coverage_equals_diff_cover(project: Path, tmp_path: Path) -> None:
    """On an added, a modified and a renamed-and-modified file, UETF and diff-cover agree."""
    util = "".join(f"def f{i}(x):\n    return x + {i}\n\n\n" for i in range(6))
    (project / "app" / "util.py").write_text(util)
    git(project, "add", "-A")
    git(project, "commit", "-q", "-m", "util")
    git(project, "checkout", "-q", "-b", "feature")
    (project / "app" / "core.py").write_text(
        CORE.replace(
            "def unused():",
            "def mul(a, b):\n    if a == 0:\n        return 0\n    return a * b\n\n\ndef unused():",
        )
    )
    (project / "app" / "extra.py").write_text("def extra():\n    return 1\n")
    git(project, "mv", "app/util.py", "app/helpers.py")
    (project / "app" / "helpers.py").write_text(util.replace("return x + 5", "return x - 5"))
    (project / ".coveragerc").write_text("[run]\n")
    (project / "test_app.py").write_text(
        TESTS + "\n\nfrom app.core import mul\nimport app.helpers\n\n\n"
        "def test_mul():\n    assert mul(2, 3) == 6\n"
    )
    git(project, "add", "-A")
    git(project, "commit", "-q", "-m", "change")
    done = run_pytest(
        project,
        "--uetf",
        "--uetf-cov=app",
        "--uetf-base=main",
        "--uetf-gate=patch_coverage>=100",
    )
    assert done.returncode == 6
    assert "patch lines not covered:" in done.stdout
    assert "app/extra.py: 1-2" in done.stdout
    document = uetf_summary(project)
    (gate,) = document["gates"]
    statuses = {f["path"]: f["status"] for f in document["patch"]["files"]}
    assert statuses["app/extra.py"] == "added"
    assert statuses["app/core.py"] == "modified"
    assert statuses["app/helpers.py"] == "renamed"
    assert gate["value"] == pytest.approx(diff_cover_percent(project, tmp_path), abs=0.01)


def test_coverage_drop_and_new_failures_against_baseline(project: Path) -> None:
    """A change that loses coverage and breaks a test that passed at the base fails both gates."""
    (project / "test_app.py").write_text(TESTS + "\n\ndef test_known_broken():\n    assert False\n")
    git(project, "commit", "-qam", "a pre-existing failure")
    base = run_pytest(project, "--uetf", "--uetf-cov=app")
    assert base.returncode == 1  # the baseline run: recorded at main's commit
    git(project, "checkout", "-q", "-b", "feature")
    (project / "test_app.py").write_text(
        "from app.core import add\n\n\ndef test_add():\n    assert add(1, 2) == 4\n\n\n"
        "def test_known_broken():\n    assert False\n"
    )
    git(project, "commit", "-qam", "drop a test, break another")
    done = run_pytest(
        project,
        "--uetf",
        "--uetf-cov=app",
        "--uetf-base=main",
        "--uetf-gate=coverage_drop<=0",
        "--uetf-gate=new_failures<=0",
        "--uetf-gate=test_count_drop<=0",
    )
    assert done.returncode == 1
    gates = {g["name"]: g for g in uetf_summary(project)["gates"]}
    assert gates["coverage_drop"]["verdict"] == "failed" and gates["coverage_drop"]["value"] > 0
    assert gates["new_failures"]["value"] == 1  # test_add; test_known_broken failed before too
    assert gates["test_count_drop"]["value"] == 1  # test_sub vanished
    classes = {f["node_id"]: f["classification"] for f in uetf_summary(project)["failures"]}
    assert classes == {
        "test_app.py::test_add": "new",
        "test_app.py::test_known_broken": "pre-existing",
    }


def test_no_baseline_skips_with_reason(project: Path) -> None:
    """Without a recorded run at the merge-base, baseline gates are skipped, never passed."""
    git(project, "checkout", "-q", "-b", "feature")
    git(project, "commit", "-q", "--allow-empty", "-m", "a change")
    done = run_pytest(project, "--uetf", "--uetf-base=main", "--uetf-gate=new_failures<=0")
    assert done.returncode == 0
    (gate,) = uetf_summary(project)["gates"]
    assert gate["verdict"] == "skipped"
    assert "no completed whole-suite run at the merge-base" in gate["reason"]
    # On the base itself, the first run is the baseline to be.
    git(project, "checkout", "-q", "main")
    assert (
        run_pytest(project, "--uetf", "--uetf-base=main", "--uetf-gate=new_failures<=0").returncode
        == 0
    )
    (gate,) = uetf_summary(project)["gates"]
    assert "this run becomes the baseline" in gate["reason"]


def test_shallow_clone_says_how_to_fetch(project: Path, tmp_path: Path) -> None:
    """A shallow clone without the base gets one line naming the fetch; the gate is error."""
    git(project, "checkout", "-q", "-b", "feature")
    (project / "app" / "core.py").write_text(CORE + "\n\ndef more():\n    return 2\n")
    git(project, "commit", "-qam", "more")
    clone = tmp_path / "shallow"
    subprocess.run(
        [
            "git",
            "clone",
            "-q",
            "--depth",
            "1",
            "--branch",
            "feature",
            f"file://{project}",
            str(clone),
        ],
        check=True,
        capture_output=True,
    )
    done = run_pytest(
        clone,
        "--uetf",
        "--uetf-cov=app",
        "--uetf-base=origin/main",
        "--uetf-gate=patch_coverage>=50",
    )
    assert done.returncode == 6
    assert "Traceback" not in done.stdout + done.stderr
    (gate,) = uetf_summary(clone)["gates"]
    assert gate["verdict"] == "error"
    assert "fetch" in gate["reason"] and "fetch-depth: 0" in gate["reason"]


def test_k_makes_the_run_partial(project: Path) -> None:
    """A run narrowed with -k is partial: whole-suite gates skip; the run is marked."""
    done = run_pytest(
        project,
        "--uetf",
        "--uetf-cov=app",
        "-k",
        "add",
        "--uetf-gate=coverage>=99",
        "--uetf-gate=min_tests>=5",
    )
    assert done.returncode == 0, done.stdout
    document = uetf_summary(project)
    assert document["partial"] is True
    assert {g["verdict"] for g in document["gates"]} == {"skipped"}
    assert all("partial run (-k add)" in g["reason"] for g in document["gates"])


def test_diff_file_instead_of_git(project: Path, tmp_path: Path) -> None:
    """--uetf-diff-file takes the change from a unified diff."""
    diff = tmp_path / "change.diff"
    diff.write_text("--- a/app/core.py\n+++ b/app/core.py\n@@ -16,0 +17,3 @@\n+x\n+y\n+z\n")
    done = run_pytest(
        project,
        "--uetf",
        "--uetf-cov=app",
        f"--uetf-diff-file={diff}",
        "--uetf-gate=patch_coverage>=50",
    )
    assert done.returncode == 6
    (gate,) = uetf_summary(project)["gates"]
    assert gate["value"] == 0.0  # lines 17-18 of unused() never ran


def test_pytest_cov_together_is_one_line(project: Path) -> None:
    """With pytest-cov's --cov too, UETF says in one line what to change."""
    done = run_pytest(project, "-p", "pytest_cov", "--uetf", "--uetf-cov=app", "--cov", "app")
    assert done.returncode == 4
    assert "pytest-cov (--cov) and UETF (--uetf-cov) would both measure coverage" in done.stderr
    assert "add --no-cov" in done.stderr and len(done.stderr.strip().splitlines()) == 1
    assert "Traceback" not in done.stderr


def test_pytest_cov_in_addopts_is_turned_off_by_its_no_cov(project: Path) -> None:
    """A project whose addopts run pytest-cov: ``--no-cov`` (pytest-cov's own switch)
    lets UETF measure alone, the figure the same as without pytest-cov installed."""
    ini = project / "pytest.ini"
    ini.write_text("[pytest]\naddopts = --cov=app --cov-report=term-missing\n")
    refused = run_pytest(project, "-p", "pytest_cov", "--uetf", "--uetf-cov=app")
    assert refused.returncode == 4 and "add --no-cov" in refused.stderr
    done = run_pytest(project, "-p", "pytest_cov", "--uetf", "--uetf-cov=app", "--no-cov")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Cover" not in done.stdout  # pytest-cov wrote no report: it did not measure
    with_no_cov = uetf_summary(project)["coverage"]
    ini.unlink()
    assert run_pytest(project, "--uetf", "--uetf-cov=app").returncode == 0
    assert uetf_summary(project)["coverage"] == with_no_cov


def test_broken_coverage_configuration_is_one_line(project: Path) -> None:
    """An unreadable coverage configuration exits 4 with one line, not a traceback."""
    (project / ".coveragerc").write_text("[run]\nbranch = maybe-not\n")
    done = run_pytest(project, "--uetf", "--uetf-cov=app")
    assert done.returncode == 4
    assert "coverage configuration is unusable" in done.stderr
    assert "Traceback" not in done.stderr + done.stdout


@pytest.mark.skipif(sys.version_info < (3, 12), reason="sys.monitoring is Python 3.12+")
def test_sys_monitoring_core_without_touching_the_tests_environment(project: Path) -> None:
    """On 3.12+ coverage runs on sys.monitoring, chosen for UETF's measurement only:
    a subprocess a test starts does not inherit a COVERAGE_CORE it never had."""
    (project / "test_env.py").write_text(
        "import os\n\n\ndef test_env():\n"
        "    with open('seen_core.txt', 'w') as out:\n"
        "        out.write(os.environ.get('COVERAGE_CORE', 'unset'))\n"
    )
    done = run_pytest(project, "--uetf", "--uetf-cov=app")
    assert done.returncode == 0, done.stdout + done.stderr
    assert (project / "seen_core.txt").read_text() == "unset"
    assert uetf_summary(project)["coverage"]["core"] == "SysMonitor"


@pytest.mark.skipif(
    not (3, 12) <= sys.version_info < (3, 14), reason="sys.monitoring without branches: 3.12, 3.13"
)
def test_branch_coverage_keeps_the_tracer_where_sys_monitoring_cannot_measure_branches(
    project: Path,
) -> None:
    """On 3.12 and 3.13 sys.monitoring cannot measure branches: with branch coverage UETF
    keeps coverage.py's default tracer, so there is no fallback warning, and says so."""
    (project / ".coveragerc").write_text("[run]\nbranch = true\n")
    done = run_pytest(project, "--uetf", "--uetf-cov=app")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "no-sysmon" not in done.stdout + done.stderr
    coverage = uetf_summary(project)["coverage"]
    assert coverage["branch"] is True and coverage["core"] != "SysMonitor"


# -- a coverage source that measures nothing ------------------------------

CART = """\
def total(prices):
    result = 0
    for price in prices:
        if price > 0:
            result += price
    return result
"""
CART_TESTS = """\
from shop.cart import total


def test_total():
    assert total([1, 2, -1]) == 3
"""
SHOP_PYPROJECT = """\
[tool.pytest.ini_options]
pythonpath = ["src"]
testpaths = ["tests"]

[tool.coverage.run]
branch = true
{coverage_run}
[tool.uetf]
{uetf}
"""


def run_fast(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """``pytest ARGS`` with UETF (and xdist for ``-n``) the only plugins: a third of the
    start-up of loading every installed plugin, which these tests are not about."""
    plugins = ["-p", "pytest_uetf.plugin", *(["-p", "xdist.plugin"] if "-n" in args else [])]
    return run_pytest(root, *plugins, *args, env={"PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"})


@pytest.fixture
def shop(git_project) -> Callable[..., Path]:  # type: ignore[no-untyped-def]
    """A src-layout project with branch coverage; a feature branch changes the measured code."""

    def make(uetf: str = "", coverage_run: str = "") -> Path:
        root = git_project(
            {
                "src/shop/__init__.py": "",
                "src/shop/cart.py": CART,
                "tests/test_cart.py": CART_TESTS,
                "tests/test_more.py": "def test_more():\n    assert True\n",
                "docs/index.txt": "the shop\n",
                "pyproject.toml": SHOP_PYPROJECT.format(uetf=uetf, coverage_run=coverage_run),
            }
        )
        git(root, "checkout", "-q", "-b", "feature")
        (root / "src" / "shop" / "cart.py").write_text(CART + "\n\ndef count(p):\n    return 1\n")
        git(root, "commit", "-qam", "count")
        return root

    return make


COVERAGE_GATES_TABLE = """\
[tool.uetf.gates]
coverage = 10
patch_coverage = 10
coverage_drop = 100
[tool.uetf.gates.path_coverage]
"src/**" = 10
"""


@pytest.mark.parametrize("workers", [[], ["-n", "2"]], ids=["serial", "xdist"])
@pytest.mark.parametrize(
    ("uetf", "args", "source", "where"),
    [
        ('cov_source = ["src/shpo"]', [], "src/shpo", "[tool.uetf] cov_source"),
        ("", ["--uetf-cov=does/not/exist"], "does/not/exist", "--uetf-cov"),
        ("", ["--uetf-cov=shpo"], "shpo", "--uetf-cov"),
        ('cov_source = ["docs"]', [], "docs", "[tool.uetf] cov_source"),
        ("", ["--uetf-cov=src/shop", "--uetf-cov=src/shpo"], "src/shpo", "--uetf-cov"),
    ],
    ids=["typo-in-pyproject", "missing-path", "package-never-imported", "no-python", "one-of-two"],
)
def test_a_source_matching_no_file_is_an_error_of_every_coverage_gate(  # type: ignore[no-untyped-def]
    shop, validate, uetf: str, args: list[str], source: str, where: str, workers: list[str]
) -> None:
    """A source that matched no file makes every coverage gate error, naming it and its origin;
    the run is still recorded, and exits 6."""
    root = shop(uetf=uetf + "\n" + COVERAGE_GATES_TABLE)
    done = run_fast(root, "--uetf", "--uetf-base=main", *args, *workers)
    assert done.returncode == 6, done.stdout + done.stderr
    assert "Traceback" not in done.stdout + done.stderr
    line = f"coverage source {source!r} matched no file"
    assert f"uetf: warning: {line}" in done.stdout
    document = uetf_summary(root)
    validate("run_summary", document)
    assert document["state"] == "failed" and document["exit_status"] == 6
    assert document["totals"]["passed"] == 2
    gates = {g["name"]: g for g in document["gates"]}
    assert set(gates) == {"coverage", "path_coverage", "patch_coverage", "coverage_drop"}
    for gate in gates.values():
        assert gate["verdict"] == "error", gate
        assert line in gate["reason"] and f"check {where}" in gate["reason"], gate
    assert [p for p in document["coverage"]["problems"] if source in p] == [
        next(p for p in document["coverage"]["problems"] if line in p)
    ]


def test_a_source_matching_no_file_without_gates_is_a_warning(shop) -> None:  # type: ignore[no-untyped-def]
    """Without a coverage gate, a source that matched nothing is a warning line, not a silent 0%."""
    root = shop()
    done = run_fast(root, "--uetf", "--uetf-cov=does/not/exist", "-q")
    assert done.returncode == 0, done.stdout + done.stderr
    assert (
        "uetf: warning: coverage source 'does/not/exist' matched no file "
        "(no such directory, nor a package the tests imported); check --uetf-cov"
    ) in done.stdout
    assert uetf_summary(root)["coverage"]["problems"]


@pytest.mark.parametrize("workers", [[], ["-n", "2"]], ids=["serial", "xdist"])
@pytest.mark.parametrize(
    ("uetf", "args", "coverage_run"),
    [
        ('cov_source = ["src/shop"]', [], ""),
        ("", ["--uetf-cov=shop"], ""),
        ("", [], 'source = ["src/shop"]'),
        # Imported before measuring starts (a plugin), then measured in part: no problem.
        ("", ["--uetf-cov=shop", "--uetf-cov=pytest_uetf"], ""),
    ],
    ids=["directory", "package", "coverage-configuration", "imported-early"],
)
def test_a_source_that_matched_is_judged(  # type: ignore[no-untyped-def]
    shop, uetf: str, args: list[str], coverage_run: str, workers: list[str]
) -> None:
    """A directory, a package name or the coverage configuration's source that matched is judged."""
    root = shop(uetf=uetf + "\n" + COVERAGE_GATES_TABLE, coverage_run=coverage_run)
    done = run_fast(root, "--uetf", "--uetf-base=main", *args, *workers)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "warning" not in done.stdout.lower()
    document = uetf_summary(root)
    assert document["coverage"]["problems"] == []
    assert "src/shop/cart.py" in [f["path"] for f in document["coverage"]["files"]]
    gates = {g["name"]: g["verdict"] for g in document["gates"]}
    assert gates == {
        "coverage": "passed",
        "path_coverage": "passed",
        "patch_coverage": "passed",
        "coverage_drop": "skipped",  # no baseline at main
    }


def test_the_coverage_configurations_source_is_named_as_the_origin(shop) -> None:  # type: ignore[no-untyped-def]
    """A typo in the coverage configuration's source names that file to fix."""
    root = shop(uetf=COVERAGE_GATES_TABLE, coverage_run='source = ["src/shpo"]')
    done = run_fast(root, "--uetf")
    assert done.returncode == 6, done.stdout + done.stderr
    (gate,) = [g for g in uetf_summary(root)["gates"] if g["name"] == "coverage"]
    assert gate["verdict"] == "error"
    assert gate["reason"] == (
        "coverage source 'src/shpo' matched no file (no such directory, nor a package the"
        " tests imported); check [run] source of the coverage configuration in pyproject.toml"
    )


# -- every form of a coverage gate starts coverage --------------------------


@pytest.mark.parametrize(
    ("args", "gates"),
    [
        (["--uetf-gate=coverage==100"], ""),
        (["--uetf-gate= coverage >= 100 "], ""),
        (["--uetf-gate=coverage>100"], ""),
        (["--uetf-gate=path_coverage[src/**]==100"], ""),
        (["--uetf-gate=path_coverage[src/**] >= 100"], ""),
        ([], '[tool.uetf.gates]\ncoverage = {op = "==", threshold = 100}\n'),
        ([], '[tool.uetf.gates]\ncoverage = "== 100"\n'),
    ],
)
def test_any_form_of_a_coverage_gate_starts_coverage(  # type: ignore[no-untyped-def]
    shop, args: list[str], gates: str
) -> None:
    """Whatever operator, spacing or table form declares a coverage gate, coverage is measured."""
    root = shop(uetf=gates, coverage_run='source = ["src/shop"]')
    done = run_fast(root, "--uetf", *args)
    assert done.returncode == 6, done.stdout + done.stderr  # 100% is not reached: judged
    (gate,) = uetf_summary(root)["gates"]
    assert gate["verdict"] == "failed" and 0 < gate["value"] < 100, gate
