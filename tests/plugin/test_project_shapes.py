"""UETF's figures equal pytest's, coverage.py's and diff-cover's on the shapes real projects have.

Each shape is a real git repository in a temporary folder; UETF runs in a fresh pytest
process and its recorded figures are set against the peers' on the same tree: pytest's
summary line, ``coverage report --precision=2`` (coverage.py run on its own, without
UETF) and diff-cover over the same change.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pytest

from conftest import git, run_pytest, uetf_summary

# -- helpers --------------------------------------------------------------------------------


def make_repo(root: Path, files: dict[str, str]) -> Path:
    """A git repository at ``root`` on branch main with ``files`` in its first commit."""
    root.mkdir(parents=True, exist_ok=True)
    git(root, "init", "-q", "-b", "main")
    git(root, "config", "user.email", "dev@example.invalid")
    git(root, "config", "user.name", "UETF tests")
    write(root, files)
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "initial")
    return root


def write(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


def _clean_env(**extra: str) -> dict[str, str]:
    clean = ("PYTEST_", "COV_", "COVERAGE_", "UETF_", "GITHUB_")
    return {k: v for k, v in os.environ.items() if not k.startswith(clean)} | extra


def pytest_counts(stdout: str) -> dict[str, int]:
    """The outcome counts of pytest's own summary line ("3 passed, 1 deselected in 0.5s")."""
    lines = [line for line in stdout.splitlines() if re.search(r"\bin [\d.]+s\b", line)]
    assert lines, stdout
    counts = {word: int(n) for n, word in re.findall(r"(\d+) ([a-z]+)", lines[-1])}
    if "error" in counts:
        counts["errors"] = counts.pop("error")
    return counts


def assert_counts_equal(document: dict[str, Any], stdout: str) -> None:
    """UETF's recorded totals are the counts of pytest's summary line, outcome by outcome."""
    counts = pytest_counts(stdout)
    totals = document["totals"]
    for outcome in ("passed", "failed", "skipped", "xfailed", "xpassed", "errors"):
        assert totals[outcome] == counts.get(outcome, 0), (outcome, totals, counts)
    ran = sum(counts.get(k, 0) for k in ("passed", "failed", "skipped", "xfailed", "xpassed"))
    assert totals["collected"] == ran, (totals, counts)


class Peer:
    """coverage.py's own measurement of the same tests: its total, per-file figures, XML."""

    def __init__(self, cwd: Path, out: Path, sources: Iterable[str], *args: str) -> None:
        out.mkdir(parents=True, exist_ok=True)
        self.cwd, self.out = cwd, out
        self.env = _clean_env(COVERAGE_FILE=str(out / "peer.coverage"))
        run = [sys.executable, "-m", "coverage", "run", f"--source={','.join(sources)}"]
        tests = ["-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:uetf", *args]
        self.pytest = subprocess.run(
            run + tests, cwd=cwd, env=self.env, capture_output=True, text=True, timeout=120
        )
        assert self.pytest.returncode in (0, 1), self.pytest.stdout + self.pytest.stderr
        self.total = float(self.coverage("report", "--precision=2", "--format=total"))

    def coverage(self, *command: str) -> str:
        done = subprocess.run(
            [sys.executable, "-m", "coverage", *command],
            cwd=self.cwd,
            env=self.env,
            capture_output=True,
            text=True,
        )
        assert done.returncode == 0, done.stdout + done.stderr
        return done.stdout

    def files(self) -> dict[str, tuple[int, int]]:
        """Per file, (statements, missing lines) as ``coverage json`` gives them."""
        self.coverage("json", "-o", str(self.out / "coverage.json"))
        report = json.loads((self.out / "coverage.json").read_text())
        return {
            Path(name).as_posix(): (f["summary"]["num_statements"], f["summary"]["missing_lines"])
            for name, f in report["files"].items()
        }

    def xml(self) -> Path:
        """``coverage xml``, the file diff-cover reads."""
        self.coverage("xml", "-o", str(self.out / "coverage.xml"))
        return self.out / "coverage.xml"


def uetf_files(document: dict[str, Any]) -> dict[str, tuple[int, int]]:
    """UETF's per-file (statements, missing) in the peer's terms."""
    return {f["path"]: (f["statements"], f["missing"]) for f in document["coverage"]["files"]}


def diff_cover(cwd: Path, xml: Path, out: Path, base: str) -> dict[str, Any]:
    """diff-cover's JSON report of ``xml`` against ``base``, with the work tree and untracked files.

    diff-cover judges ``base...HEAD`` plus staged and unstaged changes by default;
    ``--include-untracked`` adds new files git does not track yet. UETF's patch is
    the work tree against the merge-base plus untracked files: the same change.
    """
    report = out / "diff-cover.json"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "diff_cover.diff_cover_tool",
            str(xml),
            f"--compare-branch={base}",
            "--include-untracked",
            "--format",
            f"json:{report}",
        ],
        cwd=cwd,
        env=_clean_env(),
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    figures: dict[str, Any] = json.loads(report.read_text())
    return figures


def assert_patch_equals_diff_cover(
    document: dict[str, Any], figures: dict[str, Any], rootdir: Path, top: Path
) -> None:
    """UETF's patch_coverage gate and uncovered patch lines are diff-cover's, file by file."""
    lines, violations = figures["total_num_lines"], figures["total_num_violations"]
    assert lines > 0, figures
    gate = next(g for g in document["gates"] if g["name"] == "patch_coverage")
    expected = round(100.0 * (lines - violations) / lines, 2)
    assert gate["value"] == pytest.approx(expected, abs=0.01), (gate, figures)
    # diff-cover names files from the top of the work tree; UETF from the rootdir.
    theirs = {
        name: sorted(stats["violation_lines"])
        for name, stats in figures["src_stats"].items()
        if stats["violation_lines"]
    }
    ours = {
        (rootdir / f["path"]).resolve().relative_to(top.resolve()).as_posix(): [
            n for a, b in f["uncovered_lines"] for n in range(a, b + 1)
        ]
        for f in document["patch"]["files"]
        if f["uncovered_lines"]
    }
    assert ours == theirs


# -- 1. pytest.ini inside tests/ --------------------------------------------------------------

PKG = """\
NAME = "pkg"


def f(x):
    if x:
        return 1
    return 2


def never():
    return 3
"""


@pytest.fixture
def ini_in_tests(tmp_path: Path) -> Path:
    """A repository whose pytest configuration is tests/pytest.ini; [tool.uetf] at its top."""
    return make_repo(
        tmp_path / "repo",
        {
            "pkg/__init__.py": PKG,
            "tests/pytest.ini": "[pytest]\npythonpath = ..\n",
            "tests/test_pkg.py": "from pkg import f\n\n\ndef test_f():\n    assert f(1) == 1\n",
            "pyproject.toml": '[tool.uetf]\ncov_source = ["pkg"]\n\n'
            '[tool.uetf.gates]\ncoverage = ">= 99"\n',
        },
    )


def test_ini_in_tests_folder_figures_equal_peers(ini_in_tests: Path, tmp_path: Path) -> None:
    """Run from tests/ (the rootdir there): totals, coverage and patch equal the peers'."""
    tests = ini_in_tests / "tests"
    git(ini_in_tests, "checkout", "-q", "-b", "feature")
    write(ini_in_tests, {"pkg/__init__.py": PKG + "\n\ndef twice(x):\n    return 2 * x\n"})
    git(ini_in_tests, "commit", "-qam", "twice")
    # Untracked, outside the rootdir and inside it.
    write(ini_in_tests, {"pkg/more.py": "def g():\n    return 1\n\n\ndef h():\n    return 2\n"})
    write(tests, {"test_more.py": "from pkg.more import g\n\n\ndef test_g():\n    assert g()\n"})
    done = run_pytest(
        tests,
        "--uetf",
        "--uetf-cov=pkg",
        "--uetf-base=main",
        "--uetf-gate=patch_coverage>=0",
    )
    assert "Traceback" not in done.stdout + done.stderr
    document = uetf_summary(tests)
    assert_counts_equal(document, done.stdout)
    peer = Peer(tests, tmp_path / "peer", ["pkg"])
    assert document["coverage"]["percent"] == peer.total
    figures = diff_cover(ini_in_tests, peer.xml(), tmp_path / "peer", "main")
    # UETF names files from the project's folder (its pyproject.toml's), the top here.
    assert_patch_equals_diff_cover(document, figures, ini_in_tests, ini_in_tests)


@pytest.mark.parametrize("where", ["from tests/", "from the top with tests/ as argument"])
def test_ini_in_tests_folder_takes_the_repository_configuration(
    ini_in_tests: Path, where: str
) -> None:
    """With the rootdir in tests/, the repository's [tool.uetf] still applies and its ledger is
    the one `uetf` finds at the top of the repository."""
    if where == "from tests/":
        done = run_pytest(ini_in_tests / "tests", "--uetf")
    else:
        done = run_pytest(ini_in_tests, "--uetf", "tests")
    assert "Traceback" not in done.stdout + done.stderr
    assert done.returncode == 6, done.stdout + done.stderr  # coverage 71.43% < 99
    document = uetf_summary(ini_in_tests)  # `uetf show last` at the top of the repository
    (gate,) = document["gates"]
    assert gate["name"] == "coverage" and gate["verdict"] == "failed"
    assert document["coverage"]["percent"] == 71.43  # coverage report's TOTAL from tests/


# -- 2. addopts = "-m 'not slow'" in the project's ini -----------------------------------------

APP = """\
def add(a, b):
    return a + b


def sub(a, b):
    if a > b:
        return a - b
    return b - a


def heavy(n):
    return sum(range(n))
"""
APP_TESTS = """\
import pytest

from app import add, heavy, sub


def test_add():
    assert add(1, 2) == 3


def test_sub():
    assert sub(3, 1) == 2


@pytest.mark.slow
def test_heavy():
    assert heavy(4) == 6
"""
ADDOPTS_PYPROJECT = """\
[tool.pytest.ini_options]
addopts = "-m 'not slow'"
markers = ["slow: takes long"]

[tool.uetf]
cov_source = ["app"]

[tool.uetf.gates]
coverage = ">= 50"
"""


@pytest.fixture
def addopts_project(tmp_path: Path) -> Path:
    """A repository whose pyproject deselects its slow tests in addopts."""
    return make_repo(
        tmp_path / "repo",
        {"app.py": APP, "test_app.py": APP_TESTS, "pyproject.toml": ADDOPTS_PYPROJECT},
    )


def test_addopts_selection_is_the_whole_suite(addopts_project: Path, tmp_path: Path) -> None:
    """The ini's own -m defines the suite: not partial, the coverage gate judges, and a change
    finds the run at its base as baseline for coverage_drop, test_count_drop, new_failures."""
    base = run_pytest(addopts_project, "--uetf")
    assert base.returncode == 0, base.stdout + base.stderr
    first = uetf_summary(addopts_project)
    assert first["partial"] is False
    assert_counts_equal(first, base.stdout)
    assert pytest_counts(base.stdout)["deselected"] == 1
    (gate,) = first["gates"]
    assert (gate["name"], gate["verdict"]) == ("coverage", "passed")
    assert gate["value"] == Peer(addopts_project, tmp_path / "peer", ["app"]).total
    git(addopts_project, "checkout", "-q", "-b", "feature")
    broken = APP_TESTS.replace("add(1, 2) == 3", "add(1, 2) == 4")
    broken = broken.replace("def test_sub():\n    assert sub(3, 1) == 2\n\n\n", "")
    write(addopts_project, {"test_app.py": broken})
    git(addopts_project, "commit", "-qam", "break test_add, drop test_sub")
    done = run_pytest(
        addopts_project,
        "--uetf",
        "--uetf-base=main",
        "--uetf-gate=coverage_drop<=0",
        "--uetf-gate=test_count_drop<=0",
        "--uetf-gate=new_failures<=0",
    )
    assert done.returncode == 1, done.stdout + done.stderr
    second = uetf_summary(addopts_project)
    assert second["partial"] is False
    assert second["baseline_run_id"] == first["run_id"]
    gates = {g["name"]: g for g in second["gates"]}
    assert {name: g["verdict"] for name, g in gates.items()} == {
        "coverage": "passed",
        "coverage_drop": "failed",
        "test_count_drop": "failed",
        "new_failures": "failed",
    }
    assert gates["test_count_drop"]["value"] == 1
    assert gates["new_failures"]["value"] == 1
    assert_counts_equal(second, done.stdout)


def test_marker_on_the_command_line_is_partial(addopts_project: Path) -> None:
    """-m given on the command line narrows the suite: the run is partial, coverage skipped."""
    done = run_pytest(addopts_project, "--uetf", "-m", "slow")
    assert done.returncode == 0, done.stdout + done.stderr
    document = uetf_summary(addopts_project)
    assert document["partial"] is True
    assert_counts_equal(document, done.stdout)
    (gate,) = document["gates"]
    assert gate["verdict"] == "skipped" and "partial run" in gate["reason"]


# -- 3 to 7. src layout, testpaths, branch coverage, namespace packages, nested conftests ----

SHOP_INIT = """\
VERSION = "1.0"


def describe():
    return f"shop {VERSION}"
"""
CART = """\
class Cart:
    def __init__(self):
        self.items = []

    def add(self, name, price, qty=1):
        if qty <= 0:
            raise ValueError("qty")
        self.items.append((name, price, qty))

    def total(self):
        result = 0
        for _, price, qty in self.items:
            result += price * qty
        return result

    def cheapest(self):
        if not self.items:
            return None
        return min(self.items, key=lambda item: item[1])
"""
# src/shop/plugins/ has no __init__.py: a namespace package inside a regular one.
DISCOUNTS = """\
def apply(total, percent):
    if percent > 50:
        percent = 50
    return total * (100 - percent) / 100
"""
UNUSED_PLUGIN = "def never():\n    return 0\n"
# src/extras/ has no __init__.py at all: a top-level namespace package.
EXTRAS = "def double(x):\n    return 2 * x\n\n\ndef triple(x):\n    return 3 * x\n"
SHOP_FILES = {
    "src/shop/__init__.py": SHOP_INIT,
    "src/shop/cart.py": CART,
    "src/shop/plugins/discounts.py": DISCOUNTS,
    "src/shop/plugins/unused.py": UNUSED_PLUGIN,
    "src/extras/tools.py": EXTRAS,
    # The top conftest imports the package under test when pytest loads it:
    # shop/__init__.py's import-time lines count as covered, as with pytest-cov.
    "tests/conftest.py": "import shop\n\nBANNER = shop.VERSION\n",
    "tests/a/conftest.py": "import pytest\n\nfrom shop.cart import Cart\n\n\n"
    "@pytest.fixture\ndef cart():\n    c = Cart()\n    c.add('pen', 2, 3)\n    return c\n",
    "tests/a/test_cart.py": "def test_total(cart):\n    assert cart.total() == 6\n\n\n"
    "def test_cheapest(cart):\n    assert cart.cheapest()[0] == 'pen'\n",
    "tests/b/conftest.py": "import pytest\n\n\n@pytest.fixture\ndef percent():\n    return 10\n",
    "tests/b/test_discounts.py": "from shop.plugins.discounts import apply\n\n\n"
    "def test_apply(percent):\n    assert apply(100, percent) == 90\n",
    "tests/b/test_extras.py": "import pytest\n\nfrom extras.tools import double\n\n\n"
    "def test_double():\n    assert double(2) == 4\n\n\n"
    "@pytest.mark.skip(reason='not yet')\ndef test_later():\n    pass\n",
    # Outside testpaths: pytest never collects it, so neither may UETF count it.
    "scripts/test_stray.py": "def test_stray():\n    assert False\n",
}


def shop_pyproject(branch: bool) -> str:
    return (
        "[tool.pytest.ini_options]\n"
        'testpaths = ["tests"]\n'
        'pythonpath = ["src"]\n'
        "\n[tool.coverage.run]\n"
        f"branch = {'true' if branch else 'false'}\n"
    )


@pytest.fixture(scope="module")
def shops(tmp_path_factory: pytest.TempPathFactory) -> dict[bool, Path]:
    """Src-layout repositories with testpaths, nested conftests and namespace packages,
    measured by line and (``branch = true``) by branch; shared by the cases below."""
    return {
        branch: make_repo(
            tmp_path_factory.mktemp("shop") / "repo",
            {**SHOP_FILES, "pyproject.toml": shop_pyproject(branch)},
        )
        for branch in (False, True)
    }


@pytest.mark.parametrize(
    ("branch", "source"),
    [
        (False, ["src/shop"]),
        (False, ["shop"]),
        (False, ["src"]),
        (True, ["shop"]),
        (True, ["src/shop", "src/extras"]),
    ],
    ids=["path", "package", "src-folder", "branches-package", "branches-namespace-path"],
)
def test_src_layout_figures_equal_peers(
    shops: dict[bool, Path], branch: bool, source: list[str], tmp_path: Path
) -> None:
    """Counts are pytest's (testpaths honoured, not partial); total and per-file coverage are
    coverage.py's, by path or package name, with branches when configured, namespace packages,
    nested conftests and import-time lines in a conftest included."""
    shop = shops[branch]
    done = run_pytest(shop, "--uetf", *(f"--uetf-cov={s}" for s in source))
    assert done.returncode == 0, done.stdout + done.stderr
    document = uetf_summary(shop)
    assert document["partial"] is False
    assert_counts_equal(document, done.stdout)
    assert document["totals"]["collected"] == 5  # the stray test outside testpaths is not one
    peer = Peer(shop, tmp_path / "peer", source)
    assert pytest_counts(peer.pytest.stdout) == pytest_counts(done.stdout)
    coverage = document["coverage"]
    assert coverage["branch"] is branch
    assert coverage["percent"] == peer.total
    files = uetf_files(document)
    assert files == peer.files()
    # The conftest's import of shop ran its module-level lines: covered, as coverage.py says.
    assert files["src/shop/__init__.py"] == (3, 1)
    # The executed module of the namespace folder is measured in every form of the source.
    assert "src/shop/plugins/discounts.py" in files
    if {"src", "src/extras"} & set(source):
        assert "src/extras/tools.py" in files  # a top-level namespace package


# -- 8. uncommitted modifications and untracked files ----------------------------------------


def test_uncommitted_and_untracked_lines_are_the_patch(tmp_path: Path) -> None:
    """Committed, staged, unstaged and untracked lines all count in patch coverage, as
    diff-cover counts them over the same change."""
    root = make_repo(
        tmp_path / "repo",
        {
            "src/shop/__init__.py": SHOP_INIT,
            "src/shop/cart.py": CART,
            "tests/test_cart.py": "from shop.cart import Cart\n\n\n"
            "def test_total():\n    c = Cart()\n    c.add('pen', 2)\n    assert c.total() == 2\n",
            "pyproject.toml": shop_pyproject(branch=False),
        },
    )
    git(root, "checkout", "-q", "-b", "feature")
    # Committed on the branch.
    write(
        root,
        {"src/shop/tax.py": "def vat(x):\n    return x * 1.2\n\n\ndef none(x):\n    return x\n"},
    )
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "tax")
    # Staged, not committed.
    write(root, {"src/shop/__init__.py": SHOP_INIT + "\n\ndef staged():\n    return 1\n"})
    git(root, "add", "src/shop/__init__.py")
    # Modified in the work tree, not staged.
    write(
        root,
        {
            "src/shop/cart.py": CART
            + "\n    def clear(self):\n        if self.items:\n            self.items = []\n"
            "        return self\n"
        },
    )
    # Untracked: a new module and a new test using part of it.
    write(
        root,
        {
            "src/shop/coupons.py": "def code(x):\n    return x.upper()\n\n\n"
            "def unused(x):\n    return x\n",
            "tests/test_new.py": "from shop.coupons import code\nfrom shop.cart import Cart\n"
            "from shop.tax import vat\n\n\ndef test_code():\n    assert code('a') == 'A'\n\n\n"
            "def test_clear():\n    assert Cart().clear().items == []\n    assert vat(10) == 12\n",
        },
    )
    done = run_pytest(
        root, "--uetf", "--uetf-cov=src/shop", "--uetf-base=main", "--uetf-gate=patch_coverage>=0"
    )
    assert done.returncode == 0, done.stdout + done.stderr
    document = uetf_summary(root)
    assert_counts_equal(document, done.stdout)
    changed = {f["path"] for f in document["patch"]["files"]}
    assert {"src/shop/__init__.py", "src/shop/cart.py", "src/shop/tax.py"} <= changed
    assert {"src/shop/coupons.py", "tests/test_new.py"} <= changed
    peer = Peer(root, tmp_path / "peer", ["src/shop"])
    assert document["coverage"]["percent"] == peer.total
    figures = diff_cover(root, peer.xml(), tmp_path / "peer", "main")
    assert_patch_equals_diff_cover(document, figures, root, root)
