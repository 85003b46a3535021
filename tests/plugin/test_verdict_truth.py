"""Verdicts in everyday situations: the project's own selection, an uncommitted edit,
a shard, an option naming something missing, and the exit status the ledger keeps."""

from __future__ import annotations

import json
import os
import re
import sys
from pathlib import Path
from typing import Any

import pytest

from conftest import git, run_pytest, run_uetf, uetf_summary
from conftest import make_repo as repository
from uetf_core.ledger import open_ledger

# The subprocesses load UETF alone: every other installed plugin costs each start
# seconds, and none of them is what these tests are about.
FAST = {"PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"}


def pytest_uetf(root: Path, *args: str, env: dict[str, str] | None = None) -> Any:
    """``pytest --uetf ARGS`` in ``root``, with UETF the only plugin loaded."""
    return run_pytest(root, "-p", "pytest_uetf.plugin", "--uetf", *args, env=FAST | (env or {}))


def make_repo(root: Path, files: dict[str, str]) -> Path:
    """A git repository with ``files`` committed, UETF's ledger and caches ignored."""
    return repository(root, {**files, ".gitignore": ".ledger/\n__pycache__/\n"})


SHOP = {
    "shop/__init__.py": "",
    "shop/prices.py": (
        "RATE = 2\n\n\ndef price(n):\n    return n * RATE\n\n\n"
        "def discount(n):\n    if n > 10:\n        return n - 1\n    return n\n"
    ),
    "tests/test_prices.py": (
        "import pytest\n\nfrom shop.prices import discount, price\n\n\n"
        "def test_one():\n    assert price(1) == 2\n\n\n"
        "def test_two():\n    assert price(2) == 4\n\n\n"
        "def test_three():\n    assert price(3) == 6\n\n\n"
        "def test_discount():\n    assert discount(1) == 1\n\n\n"
        "@pytest.mark.stress\ndef test_stress():\n    assert discount(11) == 10\n"
    ),
}

PYPROJECT = """\
[tool.pytest.ini_options]
addopts = "-m 'not stress'"
markers = ["stress: long"]
testpaths = ["tests"]
pythonpath = ["."]

[tool.uetf]
cov_source = ["shop"]

[tool.uetf.gates]
coverage = 50
test_count_drop = 0
"""


def shop(tmp_path: Path, pyproject: str = PYPROJECT) -> Path:
    return make_repo(tmp_path / "shop", {**SHOP, "pyproject.toml": pyproject})


def gate(summary: dict[str, Any], name: str) -> dict[str, Any]:
    return next(g for g in summary["gates"] if g["name"] == name)


def test_the_projects_own_addopts_define_the_whole_suite(tmp_path: Path, validate) -> None:  # type: ignore[no-untyped-def]
    """``addopts = -m 'not stress'`` in the ini file is the suite: runs of it are whole and
    judged; ``-m``, ``-k`` or PYTEST_ADDOPTS on top make a run partial."""
    root = shop(tmp_path)
    done = pytest_uetf(root)
    assert done.returncode == 0, done.stdout + done.stderr
    whole = uetf_summary(root)
    validate("run_summary", whole)
    assert whole["partial"] is False
    assert gate(whole, "coverage")["verdict"] == "passed"
    assert whole["totals"]["passed"] == 4  # the stress test is not part of this suite

    again = pytest_uetf(root)  # the second run of the suite finds the first as its baseline
    assert again.returncode == 0, again.stdout
    second = uetf_summary(root)
    assert second["baseline_run_id"] == whole["run_id"]
    assert gate(second, "test_count_drop")["verdict"] == "passed"

    for args, env, reason in (
        (("-m", "stress"), {}, "-m stress"),
        (("-k", "one"), {}, "-k one"),
        ((), {"PYTEST_ADDOPTS": "-k two"}, "-k two"),
        (("tests/test_prices.py::test_one",), {}, "node ids"),
    ):
        narrowed = pytest_uetf(root, *args, env=env)
        assert narrowed.returncode == 0, narrowed.stdout + narrowed.stderr
        summary = uetf_summary(root)
        assert summary["partial"] is True, args
        assert gate(summary, "coverage")["verdict"] == "skipped"
        assert reason in gate(summary, "coverage")["reason"]
    # The same expression as the ini file's narrows nothing.
    same = pytest_uetf(root, "-m", "not stress")
    assert same.returncode == 0
    assert uetf_summary(root)["partial"] is False


def test_a_baseline_is_a_run_of_the_same_suite(tmp_path: Path) -> None:
    """A run of other paths is never the baseline of the whole suite: the suite each run
    judged is recorded with it."""
    root = shop(tmp_path)
    (root / "tests" / "extra").mkdir()
    (root / "tests" / "extra" / "test_more.py").write_text("def test_more():\n    pass\n")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "more tests")
    only_extra = pytest_uetf(root, "tests/extra", "--uetf-gate-mode=warn")
    assert only_extra.returncode == 0, only_extra.stdout
    extra_run = uetf_summary(root)
    assert extra_run["totals"]["collected"] == 1
    whole = pytest_uetf(root, "--uetf-gate=test_count_drop<=0")
    assert whole.returncode == 0, whole.stdout
    first_whole = uetf_summary(root)
    assert first_whole["baseline_run_id"] is None
    assert gate(first_whole, "test_count_drop")["verdict"] == "skipped"
    again = pytest_uetf(root)
    assert again.returncode == 0
    assert uetf_summary(root)["baseline_run_id"] == first_whole["run_id"]


def test_a_test_broken_by_an_uncommitted_edit_is_new_not_flaky(tmp_path: Path, validate) -> None:  # type: ignore[no-untyped-def]
    """After a run at HEAD, an edit in the work tree that breaks tests makes them new
    failures everywhere (gate, header, annotations), never flaky: flakiness is a change
    of outcome on the same code, commit and uncommitted changes alike."""
    root = shop(tmp_path, PYPROJECT.replace("test_count_drop = 0", "new_failures = 0"))
    assert pytest_uetf(root).returncode == 0
    prices = root / "shop" / "prices.py"
    prices.write_text(prices.read_text().replace("RATE = 2", "RATE = 3"))
    reports = tmp_path / "reports"
    broken = pytest_uetf(
        root,
        f"--uetf-report=markdown:{reports / 'pr.md'}",
        f"--uetf-report=json:{reports / 'gate.json'}",
        f"--uetf-report=github:{reports / 'summary.md'}",
        env={"GITHUB_ACTIONS": "true"},
    )
    assert broken.returncode == 1, broken.stdout + broken.stderr
    summary = uetf_summary(root)
    kinds = {f["node_id"].split("::")[-1]: f["classification"] for f in summary["failures"]}
    assert kinds == {"test_one": "new", "test_two": "new", "test_three": "new"}
    # A bare assert is recorded as the AssertionError it is.
    assert all(f["message"].startswith("AssertionError: assert") for f in summary["failures"])
    assert gate(summary, "new_failures")["value"] == 3
    report = json.loads((reports / "gate.json").read_text())
    validate("gate_report", report)
    assert sum(f["classification"] == "new" for f in report["failures"]) == 3
    assert "3 new failures" in (reports / "pr.md").read_text().splitlines()[1]
    annotations = [line for line in broken.stdout.splitlines() if line.startswith("::")]
    assert sum(line.startswith("::error") for line in annotations) >= 3
    assert not any(line.startswith("::warning") and "test_one" in line for line in annotations)
    flaky = run_uetf(root, "flaky", "--json")
    assert flaky.returncode == 0, flaky.stderr
    assert json.loads(flaky.stdout) == []

    # Back to the committed code: passing again is no flip either.
    git(root, "checkout", "--", "shop/prices.py")
    assert pytest_uetf(root).returncode == 0
    assert json.loads(run_uetf(root, "flaky", "--json").stdout) == []


def test_the_same_code_changing_outcome_is_still_flaky(tmp_path: Path) -> None:
    """With the work tree unchanged, a test that fails once and passes once is flaky."""
    flag = tmp_path / "fail-once"
    files = {
        **SHOP,
        "tests/test_coin.py": (
            "import os\n\n\ndef test_coin():\n"
            "    path = os.environ['COIN']\n"
            "    if os.path.exists(path):\n        os.remove(path)\n        assert False\n"
        ),
        "pyproject.toml": "[tool.pytest.ini_options]\npythonpath = ['.']\n",
    }
    root = make_repo(tmp_path / "coin", files)
    env = {"COIN": str(flag)}
    assert pytest_uetf(root, env=env).returncode == 0
    flag.write_text("")
    assert pytest_uetf(root, env=env).returncode == 1
    flaky = json.loads(run_uetf(root, "flaky", "--json").stdout)
    assert [f["node_id"] for f in flaky] == ["tests/test_coin.py::test_coin"]


COIN = {
    "tests/test_coin.py": (
        "import os\n\n\ndef test_coin():\n"
        "    path = os.environ['COIN']\n"
        "    if os.path.exists(path):\n        os.remove(path)\n        assert False\n"
    ),
    "pyproject.toml": "[tool.pytest.ini_options]\npythonpath = ['.']\n",
}


def test_the_first_flip_is_flaky_for_the_gate_as_for_the_reports(tmp_path: Path) -> None:
    """A test that fails on the code it passed on is flaky at once: the gates judged while
    the run is still being judged count it as its report and ``uetf gate`` later do."""
    flag = tmp_path / "fail-once"
    root = make_repo(tmp_path / "coin", COIN)
    env = {"COIN": str(flag)}
    assert pytest_uetf(root, env=env).returncode == 0
    flag.write_text("")
    report = tmp_path / "pr.md"
    flipped = pytest_uetf(
        root,
        "--uetf-gate=new_failures<=0",
        "--uetf-gate=max_flaky<=5",
        f"--uetf-report=markdown:{report}",
        env=env,
    )
    assert flipped.returncode == 1, flipped.stdout + flipped.stderr  # the test failed
    summary = uetf_summary(root)
    assert [f["classification"] for f in summary["failures"]] == ["flaky"]
    assert gate(summary, "new_failures")["value"] == 0
    assert gate(summary, "new_failures")["verdict"] == "passed"
    assert gate(summary, "max_flaky")["value"] == 1
    assert "0 new, 0 pre-existing, 1 flaky" in report.read_text()
    again = run_uetf(root, "gate", "last").stdout.splitlines()
    rows = {line.split()[0]: line.split()[3] for line in again if line[:1].isalpha()}
    assert (rows["new_failures"], rows["max_flaky"]) == ("0", "1"), again


def test_a_run_with_uncommitted_changes_is_nobody_s_baseline(tmp_path: Path) -> None:
    """A run of main with an edit left uncommitted tested other code than main's: a
    branch that commits the same edit is judged against main's clean run, and the
    failure the edit makes is new, not pre-existing."""
    files = {
        "mod.py": "def f(x):\n    return x + 1\n",
        "test_f.py": "from mod import f\n\n\ndef test_f():\n    assert f(1) == 2\n",
        "pyproject.toml": "[tool.pytest.ini_options]\npythonpath = ['.']\n",
    }
    root = make_repo(tmp_path / "dirty", files)
    assert pytest_uetf(root).returncode == 0
    clean = uetf_summary(root)["run_id"]
    (root / "mod.py").write_text("def f(x):\n    return x + 2\n")
    assert pytest_uetf(root).returncode == 1  # the experiment, never committed on main
    git(root, "checkout", "-q", "-b", "feature")
    git(root, "commit", "-q", "-am", "the same edit, committed")
    done = pytest_uetf(root, "--uetf-gate=new_failures<=0")
    assert done.returncode == 1, done.stdout + done.stderr
    assert "new_failures" in done.stdout and "failed" in done.stdout
    summary = uetf_summary(root)
    assert summary["baseline_run_id"] == clean
    assert [f["classification"] for f in summary["failures"]] == ["new"]
    assert gate(summary, "new_failures")["value"] == 1


def test_failures_are_judged_against_the_baseline_whatever_gates_are_declared(
    tmp_path: Path, validate
) -> None:  # type: ignore[no-untyped-def]
    """Without any gate, a test that failed in the run of the merge-base too is
    pre-existing, in the summary, ``uetf show`` and the markdown report, as it is with
    ``new_failures`` declared."""
    files = {
        "test_a.py": "def test_ok():\n    pass\n\n\ndef test_broken():\n    assert 0\n",
        "pyproject.toml": "[tool.pytest.ini_options]\npythonpath = ['.']\n",
    }
    root = make_repo(tmp_path / "nogates", files)
    assert pytest_uetf(root).returncode == 1
    first = uetf_summary(root)
    assert [f["classification"] for f in first["failures"]] == ["new"]
    report = tmp_path / "pr.md"
    assert pytest_uetf(root, f"--uetf-report=markdown:{report}").returncode == 1
    second = uetf_summary(root)
    validate("run_summary", second)
    assert second["gates"] == []
    assert second["baseline_run_id"] == first["run_id"]
    assert [f["classification"] for f in second["failures"]] == ["pre-existing"]
    assert "new failure" not in report.read_text().splitlines()[1]
    shown = run_uetf(root, "show", "last").stdout
    assert f"baseline  {first['run_id']}" in shown and "pre-existing failures (1)" in shown
    assert pytest_uetf(root, "--uetf-gate=new_failures<=0").returncode == 1
    gated = uetf_summary(root)
    assert gated["baseline_run_id"] == second["run_id"]
    assert [f["classification"] for f in gated["failures"]] == ["pre-existing"]


def test_a_shard_defers_the_whole_suite_gates_to_the_workstream(tmp_path: Path, validate) -> None:  # type: ignore[no-untyped-def]
    """Each shard of a healthy change passes on its own tests; coverage and the suite's
    size are judged once, over every shard, by ``uetf gate --workstream``."""
    pyproject = (
        "[tool.pytest.ini_options]\npythonpath = ['.']\n\n"
        "[tool.uetf]\ncov_source = ['shop']\n\n"
        "[tool.uetf.gates]\ncoverage = 90\nmin_tests = 5\npass_rate = 100\n"
    )
    root = make_repo(tmp_path / "sharded", {**SHOP, "pyproject.toml": pyproject})
    ledgers = []
    for k in (1, 2):
        ledger = tmp_path / f"job{k}.db"
        done = pytest_uetf(
            root, f"--uetf-ledger={ledger}", f"--uetf-shard={k}/2", "--uetf-workstream=W"
        )
        assert done.returncode == 0, done.stdout + done.stderr
        assert "deferred" in done.stdout
        ledgers.append(ledger)
        opened = open_ledger(str(ledger))
        gates = {g["name"]: g for g in opened.gates(opened.find_run("last")["run_id"])}
        opened.close()
        for document in gates.values():
            validate("test_gate", document)
        assert gates["coverage"]["verdict"] == "deferred"
        assert gates["min_tests"]["verdict"] == "deferred"
        assert gates["pass_rate"]["verdict"] == "passed"
    merged = tmp_path / "merged.db"
    assert run_uetf(root, "merge", "--into", str(merged), *map(str, ledgers)).returncode == 0
    verdict = run_uetf(
        root, "gate", "--ledger", str(merged), "--workstream", "W", "--expect-shards", "2"
    )
    assert verdict.returncode == 0, verdict.stdout + verdict.stderr
    opened = open_ledger(str(merged))
    combined = {g["name"]: g for g in opened.gates(opened.find_run("last")["run_id"])}
    opened.close()
    assert combined["coverage"]["verdict"] == "passed" and combined["coverage"]["value"] == 100.0
    assert combined["min_tests"]["verdict"] == "passed"


def marker_project(tmp_path: Path) -> Path:
    """A project whose one test leaves a file behind when it runs."""
    files = {
        "tests/test_mark.py": (
            "from pathlib import Path\n\n\ndef test_mark():\n"
            "    Path(__file__).parent.parent.joinpath('ran').write_text('yes')\n"
        ),
    }
    return make_repo(tmp_path / "marker", files)


def test_options_naming_something_missing_stop_the_run_before_any_test(tmp_path: Path) -> None:
    """A missing baseline, diff file, base ref or an unwritable report path is a usage
    error (exit 4) with one line, before any test runs; the run is recorded errored with
    that exit status."""
    root = marker_project(tmp_path)
    (root / "a-file").write_text("")
    cases = {
        "--uetf-baseline=no-such-run": "--uetf-baseline no-such-run",
        f"--uetf-diff-file={tmp_path / 'missing.diff'}": "--uetf-diff-file",
        "--uetf-base=nope": "'nope' does not exist in this repository",
        "--uetf-report=markdown:a-file/pr.md": "cannot write the markdown report",
    }
    for option, said in cases.items():
        done = pytest_uetf(root, option)
        assert done.returncode == 4, (option, done.stdout, done.stderr)
        output = done.stdout + done.stderr
        assert said in output, (option, output)
        assert "Traceback" not in output and "INTERNALERROR" not in output
        assert not (root / "ran").exists(), option
        summary = uetf_summary(root)
        assert summary["state"] == "errored" and summary["exit_status"] == 4, option
        gate_again = run_uetf(root, "gate", "last")
        assert gate_again.returncode == 4, (option, gate_again.stdout)


def test_the_recorded_exit_status_is_the_process_exit_status(tmp_path: Path) -> None:
    """A report that cannot be written at the end changes the exit status, and the ledger
    records the changed one; ``uetf gate last`` exits the same."""
    files = {
        "tests/test_block.py": (
            "from pathlib import Path\n\n\ndef test_block():\n"
            "    # Takes the report's folder name after the run was checked at its start.\n"
            "    Path(__file__).parent.parent.joinpath('out').write_text('in the way')\n"
        ),
    }
    root = make_repo(tmp_path / "blocked", files)
    done = pytest_uetf(root, "--uetf-report=markdown:out/pr.md")
    assert done.returncode == 4, done.stdout + done.stderr
    assert "cannot write the markdown report" in done.stdout
    assert "1 passed" in done.stdout  # pytest's own summary is kept
    summary = uetf_summary(root)
    assert summary["exit_status"] == 4
    assert run_uetf(root, "gate", "last").returncode == 4


def test_a_collection_error_says_the_gates_were_not_judged(tmp_path: Path) -> None:
    """A run stopped by a collection error says why and that its declared gates were not
    judged, instead of "no gates declared" or "interrupted"."""
    files = {
        "tests/test_ok.py": "def test_ok():\n    pass\n",
        "tests/test_broken.py": "import no_such_module_anywhere\n",
        "pyproject.toml": "[tool.uetf.gates]\npass_rate = 100\n",
    }
    root = make_repo(tmp_path / "broken", files)
    done = pytest_uetf(root)
    assert done.returncode == 2, done.stdout
    assert "no gates declared" not in done.stdout
    assert "1 declared, not judged: 1 error during collection" in done.stdout
    summary = uetf_summary(root)
    assert summary["end_reason"].startswith("1 error during collection")
    assert summary["exit_status"] == 2


def test_clean_runs_record_the_work_tree_as_clean(tmp_path: Path) -> None:
    """The ledger keeps the code a run tested: the commit, whether uncommitted changes
    were there (only a digest of them), the merge-base of its change and the Python
    (implementation and major.minor), with no gate declared."""
    root = marker_project(tmp_path)
    assert pytest_uetf(root).returncode == 0
    (root / "notes.txt").write_text("untracked")
    assert pytest_uetf(root).returncode == 0
    ledger = open_ledger(str(root / ".ledger" / "uetf.db"))
    try:
        rows = ledger._query(  # type: ignore[attr-defined]
            "SELECT tree_state, python, merge_base, head_commit FROM runs ORDER BY pk"
        )
    finally:
        ledger.close()
    states = [row[0] for row in rows]
    assert states[0] == "" and len(states[1]) == 16
    version = sys.version_info
    assert {row[1] for row in rows} == {f"{sys.implementation.name} {version[0]}.{version[1]}"}
    head = git(root, "rev-parse", "HEAD").strip()
    assert [(row[2], row[3]) for row in rows] == [(head, head)] * 2  # on main: itself
    assert os.path.exists(root / "ran")


def test_what_narrows_the_suite_in_process(pytester) -> None:  # type: ignore[no-untyped-def]
    """The selection read in the session itself: the ini file's ``-m`` and ``testpaths``
    are the suite, a command line ``-k`` narrows it, and the suite's key follows the
    paths given, not the narrowing."""
    pytester.makepyprojecttoml(
        "[tool.pytest.ini_options]\n"
        "addopts = \"-m 'not slow'\"\nmarkers = ['slow: long']\ntestpaths = ['tests']\n"
    )
    pytester.mkdir("tests")
    pytester.makepyfile(
        **{
            "tests/test_a": "import pytest\n\ndef test_a():\n    pass\n\n"
            "@pytest.mark.slow\ndef test_b():\n    pass\n"
        }
    )
    ledger = pytester.path / "l.db"

    def last() -> tuple[Any, ...]:
        opened = open_ledger(str(ledger))
        try:
            return tuple(
                opened._query(  # type: ignore[attr-defined]
                    "SELECT partial_reason, suite_key FROM runs ORDER BY pk DESC LIMIT 1"
                )[0]
            )
        finally:
            opened.close()

    pytester.runpytest("--uetf", f"--uetf-ledger={ledger}").assert_outcomes(passed=1)
    whole, key = last()
    assert whole is None
    pytester.runpytest("--uetf", f"--uetf-ledger={ledger}", "-k", "a").assert_outcomes(passed=1)
    assert last() == ("-k a", key)
    pytester.runpytest("--uetf", f"--uetf-ledger={ledger}", "tests/test_a.py")
    assert last()[0] is None and last()[1] != key
    named = last()[1]
    # Started in tests/ without arguments, pytest collects that folder: the suite
    # `pytest tests` names, not the whole one (which would become its baseline).
    pytester.mkdir("tests/more")
    pytester.makepyfile(**{"tests/more/test_c": "def test_c():\n    pass\n"})
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(pytester.path / "tests" / "more")
        pytester.runpytest("--uetf", f"--uetf-ledger={ledger}").assert_outcomes(passed=1)
    below = last()
    pytester.runpytest("--uetf", f"--uetf-ledger={ledger}", "tests/more").assert_outcomes(passed=1)
    assert below == last() and below[0] is None and below[1] not in (key, named)
    # Listing the tests runs none: partial, so never the baseline of a later change.
    for option in ("--collect-only", "--setup-plan"):
        pytester.runpytest("--uetf", f"--uetf-ledger={ledger}", option).assert_outcomes()
        assert last() == (f"{option}: no test ran", key)


def test_uetf_is_imported_compiled_not_through_assertion_rewriting(pytester) -> None:  # type: ignore[no-untyped-def]
    """pytest rewrites the asserts of every package of an installed plugin's distribution;
    UETF's own packages hold no test asserts and are left to the ordinary import, which
    spares each run parsing them again where bytecode is not written."""
    from pytest_uetf.plugin import _import_compiled

    config = pytester.parseconfig()
    hook = config.pluginmanager.rewrite_hook
    # As pytest marks an installed (not editable) distribution's packages; the set is
    # pytest's own: if it is renamed, this fails, and the start-up cost is back.
    hook.mark_rewrite("uetf_core", "pytest_uetf", "other_plugin")
    _import_compiled(config.pluginmanager)
    assert "other_plugin" in hook._must_rewrite
    assert not {"uetf_core", "pytest_uetf"} & hook._must_rewrite


def test_uetf_off_imports_nothing_of_uetf_core_and_warns_of_its_options(tmp_path: Path) -> None:
    """A project with UETF installed but not enabled pays next to nothing for it: the
    core is never imported; UETF options given without --uetf are named once as ignored."""
    root = make_repo(
        tmp_path / "off",
        {
            "conftest.py": (
                "import sys\n\n\ndef pytest_sessionfinish(session):\n"
                "    loaded = sorted(m for m in sys.modules if m.startswith('uetf_core'))\n"
                "    open('loaded.txt', 'w').write(' '.join(loaded))\n"
            ),
            "test_a.py": "def test_a():\n    pass\n",
            "pyproject.toml": "[tool.uetf]\ncov_source = ['nothing']\n",
        },
    )
    plain = run_pytest(root)
    assert plain.returncode == 0, plain.stdout + plain.stderr
    assert (root / "loaded.txt").read_text() == ""
    assert "uetf:" not in plain.stdout + plain.stderr
    ignored = run_pytest(root, "--uetf-gate=min_tests>=1", "--uetf-report=json")
    assert ignored.returncode == 0, ignored.stdout + ignored.stderr
    assert (root / "loaded.txt").read_text() == ""
    warning = "uetf: --uetf-gate, --uetf-report ignored: UETF is off for this run; add --uetf"
    assert ignored.stdout.count(warning) == 1, ignored.stdout
    assert not (root / ".ledger").exists()


def test_the_terminal_fits_80_columns_and_says_what_was_measured(tmp_path: Path) -> None:
    """At 80 columns a gate's long reason goes on its own indented lines; coverage is
    printed whatever the gates; a waived failure is said with the failures; on the base
    branch's first run the baseline gates say this run becomes the baseline; under -q a
    failing gate's row is shown with the verdict."""
    root = shop(tmp_path, PYPROJECT.replace("test_count_drop = 0", "new_failures = 0"))
    (root / "tests" / "test_known.py").write_text("def test_known():\n    assert False\n")
    (root / ".uetf").mkdir()
    (root / ".uetf" / "waivers.toml").write_text(
        '[[waiver]]\ntest = "tests/test_known.py::test_known"\nowner = "qa"\n'
        'reason = "flaky upstream"\nexpires = "2999-01-01"\n'
    )
    done = pytest_uetf(root, "--uetf-base=main", env={"COLUMNS": "80"})
    lines = done.stdout.splitlines()
    section = lines[next(i for i, line in enumerate(lines) if " uetf " in line) :]
    rows = section[: next(i for i, line in enumerate(section) if line.startswith("uetf: run"))]
    assert all(len(line) <= 80 for line in rows), rows
    assert any(line.startswith("    ") and "this run becomes" in line for line in rows), rows
    assert any(line.startswith("coverage ") and " % of " in line for line in section), section
    assert "collected 5: 4 passed, 1 failed (1 waived)" in done.stdout, done.stdout
    quiet = pytest_uetf(root, "-q", "--uetf-gate=coverage>=99")
    assert quiet.returncode == 6, quiet.stdout
    assert any(
        line.startswith("coverage") and "failed" in line for line in quiet.stdout.splitlines()
    ), quiet.stdout


SUBTESTS = {
    "limits.py": "LIMIT = 3\n\n\ndef allowed(n):\n    return n < LIMIT\n",
    "tests/test_limits.py": (
        "import unittest\n\nimport pytest\n\nfrom limits import allowed\n\n\n"
        "class Limits(unittest.TestCase):\n"
        "    def test_each(self):\n"
        "        for n in range(3):\n"
        "            with self.subTest(n=n):\n"
        "                self.assertTrue(allowed(n))\n\n\n"
        "def test_plain():\n    assert allowed(0)\n"
    ),
    "pyproject.toml": (
        '[tool.pytest.ini_options]\npythonpath = ["."]\n\n'
        "[tool.uetf.gates]\npass_rate = 100\nnew_failures = 0\n"
    ),
}
# pytest's own subtests fixture (pytest 9): a failing subtest fails its test there too.
SUBTESTS_FIXTURE = (
    "\n\ndef test_fixture(subtests):\n"
    "    for n in range(3):\n"
    "        with subtests.test('within', n=n):\n"
    "            assert allowed(n)\n"
    "        with subtests.test('skipped', n=n):\n"
    "            pytest.skip('a skipped subtest leaves its test passing')\n"
)


@pytest.mark.parametrize("workers", [[], ["-p", "xdist.plugin", "-n", "2"]], ids=["", "xdist"])
def test_a_failed_subtest_fails_its_test(tmp_path: Path, workers: list[str]) -> None:
    """A failing unittest ``subTest`` (whose test pytest reports passed, counting the
    subtest as a failure and exiting 1) or ``subtests`` fixture subtest fails its test in
    UETF too: in the totals, pass_rate, the failures with the subtest named, and as a new
    failure against the run before; in-process and under xdist. Passing and skipped
    subtests leave their test passed."""
    files = dict(SUBTESTS)
    if int(pytest.__version__.split(".")[0]) >= 9:
        files["tests/test_limits.py"] += SUBTESTS_FIXTURE
    root = make_repo(tmp_path / "limits", files)
    tests = 3 if "test_fixture" in files["tests/test_limits.py"] else 2
    first = pytest_uetf(root, *workers)
    assert first.returncode == 0, first.stdout + first.stderr
    assert uetf_summary(root)["totals"]["passed"] == tests

    (root / "limits.py").write_text("LIMIT = 2\n\n\ndef allowed(n):\n    return n < LIMIT\n")
    done = pytest_uetf(root, *workers)
    assert done.returncode == 1, done.stdout + done.stderr
    summary = uetf_summary(root)
    assert summary["totals"]["failed"] == tests - 1 and summary["totals"]["passed"] == 1
    assert gate(summary, "pass_rate")["verdict"] == "failed"
    assert gate(summary, "new_failures")["value"] == tests - 1
    failures = {f["node_id"].split("::")[-1]: f for f in summary["failures"]}
    assert failures["test_each"]["classification"] == "new"
    if tests == 3:  # pytest 9 reports each subtest; pytest 8 fails the test at the first
        # As pytest names it ("(n=2)"; pytest 9.2 under xdist quotes it again: "(n='2')").
        assert re.search(r"subtest \(n='?2'?\)", failures["test_each"]["message"])
        assert re.search(r"subtest \[within\] \(n='?2'?\)", failures["test_fixture"]["message"])


TEST_A = (
    "import sys\n\nsys.path.insert(0, '.')\n\nfrom app import f\n\n\n"
    "def test_a():\n    assert f() == 1\n"
)


@pytest.mark.skipif(
    not hasattr(os, "geteuid") or os.geteuid() != 0,
    reason="making a repository another user owns needs root (CI runs as root)",
)
def test_a_repository_git_refuses_says_how_to_trust_it(tmp_path: Path) -> None:
    """A checkout another user owns (a CI container's, typically), which git refuses
    to read: the patch gate's error and the baseline gates' reason say so and give
    the command that trusts it, instead of "not a git work tree"."""
    files = {"app.py": "def f():\n    return 1\n", "tests/test_a.py": TEST_A}
    root = make_repo(tmp_path / "theirs", files)
    for path in [root, *root.rglob("*")]:
        os.lchown(path, 4321, 4321)
    empty = tmp_path / "gitconfig"  # no safe.directory of this machine's user applies
    empty.write_text("")
    done = pytest_uetf(
        root,
        "--uetf-cov=app",
        "--uetf-gate=patch_coverage>=80",
        "--uetf-gate=new_failures<=0",
        env={"GIT_CONFIG_GLOBAL": str(empty)},
    )
    assert done.returncode == 6, done.stdout + done.stderr
    assert "not a git work tree" not in done.stdout
    hint = f"git config --global --add safe.directory {root}"
    summary = uetf_summary(root)
    assert hint in gate(summary, "patch_coverage")["reason"]
    assert hint in gate(summary, "new_failures")["reason"]


def test_a_machine_without_git_is_told_so(tmp_path: Path) -> None:
    """git not installed (a slim container): the patch gate's error says git is missing,
    not that the checkout is no git work tree; the tests' own verdict is unchanged."""
    files = {"app.py": "def f():\n    return 1\n", "tests/test_a.py": TEST_A}
    root = make_repo(tmp_path / "project", files)
    bare = tmp_path / "bin"  # a PATH without git
    bare.mkdir()
    done = pytest_uetf(
        root, "--uetf-cov=app", "--uetf-gate=patch_coverage>=80", env={"PATH": str(bare)}
    )
    assert done.returncode == 6, done.stdout + done.stderr
    reason = gate(uetf_summary(root), "patch_coverage")["reason"]
    assert reason.startswith("git is not installed (not on PATH)"), reason
    assert "1 passed" in done.stdout


def test_a_run_stopped_at_its_first_failure_is_partial(tmp_path: Path) -> None:
    """``-x`` (or ``--maxfail``) stopping before the last test leaves the run partial:
    the whole-suite gates skip it and it is no baseline. Stopped at the last test, every
    test ran: the run is whole."""
    tests = (
        "def test_a():\n    assert False\n\n\n"
        "def test_b():\n    pass\n\n\ndef test_c():\n    pass\n"
    )
    root = make_repo(tmp_path / "stops", {"tests/test_x.py": tests})
    done = pytest_uetf(root, "-x", "--uetf-gate=min_tests>=3")
    assert done.returncode == 1, done.stdout + done.stderr
    summary = uetf_summary(root)
    assert summary["partial"] is True and gate(summary, "min_tests")["verdict"] == "skipped"
    ledger = open_ledger(str(root / ".ledger" / "uetf.db"))
    try:
        assert ledger.partial_reason(summary["run_id"]) == "stopping after 1 failures: 1 of 3 ran"
    finally:
        ledger.close()
    last_fails = tests.replace("assert False", "pass").replace(
        "test_c():\n    pass", "test_c():\n    assert False"
    )
    (root / "tests" / "test_x.py").write_text(last_fails)
    assert pytest_uetf(root, "-x", "--uetf-gate=min_tests>=3").returncode == 1
    summary = uetf_summary(root)
    assert summary["partial"] is False and gate(summary, "min_tests")["verdict"] == "passed"


@pytest.mark.parametrize(
    ("narrowing", "partial"),
    [
        (["--lf"], False),  # nothing failed last time: pytest runs every test
        (["-p", "stepwise", "--sw"], False),  # no earlier failure to step from: all run
        (["--deselect", "tests/test_x.py::test_gone"], False),
        (["-k", "test_"], False),  # matches every test
        (["-k", "test_a"], True),
        (["--deselect", "tests/test_x.py::test_b"], True),
    ],
)
def test_narrowing_that_takes_no_test_away_leaves_the_run_whole(
    tmp_path: Path, narrowing: list[str], partial: bool
) -> None:
    """-k, --deselect or --lf that take away no test (a habit of the command line, a
    deselected test since removed, --lf after a green run): the run is whole, its
    whole-suite gates judge it. Once they take one away, it is partial."""
    tests = "def test_a():\n    pass\n\n\ndef test_b():\n    pass\n"
    root = make_repo(tmp_path / "p", {"tests/test_x.py": tests})
    gate_arg = "--uetf-gate=min_tests>=2"
    assert pytest_uetf(root, "-p", "cacheprovider", gate_arg).returncode == 0
    done = pytest_uetf(root, "-p", "cacheprovider", *narrowing, gate_arg)
    assert done.returncode == 0, done.stdout + done.stderr
    summary = uetf_summary(root)
    assert summary["partial"] is partial
    assert gate(summary, "min_tests")["verdict"] == ("skipped" if partial else "passed")


def test_last_failed_with_a_failure_to_rerun_is_partial(tmp_path: Path) -> None:
    """--lf after a failure reruns it alone, and skips collecting the files with none (no
    test of theirs is deselected): the run is partial."""
    files = {
        "tests/test_x.py": "def test_a():\n    pass\n",
        "tests/test_y.py": "def test_c():\n    assert False\n",
    }
    root = make_repo(tmp_path / "p", files)
    assert pytest_uetf(root, "-p", "cacheprovider").returncode == 1
    done = pytest_uetf(root, "-p", "cacheprovider", "--lf", "--uetf-gate=min_tests>=2")
    assert done.returncode == 1, done.stdout + done.stderr
    summary = uetf_summary(root)
    assert summary["partial"] is True and gate(summary, "min_tests")["verdict"] == "skipped"


def test_one_suite_however_its_folders_are_named(tmp_path: Path) -> None:
    """``pytest`` with testpaths = ["tests"], ``pytest tests``, ``pytest ./tests`` and
    ``pytest`` started in tests/ run one suite: each finds the others' runs as its
    baseline, so the baseline gates judge."""
    files = {
        "pyproject.toml": '[tool.pytest.ini_options]\ntestpaths = ["tests"]\n',
        "tests/test_a.py": "def test_a():\n    pass\n",
    }
    root = make_repo(tmp_path / "p", files)
    assert pytest_uetf(root).returncode == 0
    for spelling in (["tests"], ["./tests"], [str(root / "tests")]):
        done = pytest_uetf(root, *spelling, "--uetf-gate=test_count_drop<=0")
        assert done.returncode == 0, done.stdout + done.stderr
        assert gate(uetf_summary(root), "test_count_drop")["verdict"] == "passed", spelling


def test_a_slice_of_the_suite_does_not_judge_the_change_s_coverage(tmp_path: Path) -> None:
    """patch_coverage judges the suite's coverage of the change: a run narrowed by -k or
    node ids skips it (it would fail a change the whole suite covers), as coverage does."""
    files = {
        "app.py": "def f(x):\n    return x + 1\n",
        "tests/test_a.py": TEST_A.replace("f() == 1", "f(0) == 1"),
        "tests/test_b.py": "import sys\n\nsys.path.insert(0, '.')\n\n\ndef test_b():\n    pass\n",
    }
    root = make_repo(tmp_path / "p", files)
    assert pytest_uetf(root, "--uetf-cov=app").returncode == 0
    git(root, "checkout", "-q", "-b", "feature")
    (root / "app.py").write_text("def f(x):\n    y = x\n    return y + 1\n")
    git(root, "commit", "-q", "-am", "change")
    args = ("--uetf-cov=app", "--uetf-base=main", "--uetf-gate=patch_coverage>=90")
    assert pytest_uetf(root, *args).returncode == 0
    assert gate(uetf_summary(root), "patch_coverage")["verdict"] == "passed"
    for narrowing in (["-k", "test_b"], ["tests/test_b.py::test_b"]):
        done = pytest_uetf(root, *args, *narrowing)
        assert done.returncode == 0, done.stdout + done.stderr
        assert gate(uetf_summary(root), "patch_coverage")["verdict"] == "skipped", narrowing


def test_gates_a_collection_error_left_unjudged_are_named_in_every_format(
    tmp_path: Path,
) -> None:
    """A collection error ends the run before its declared gates judge: the terminal and
    every report say they were declared and not judged, and why, never "no gates"."""
    files = {
        "pyproject.toml": "[tool.uetf.gates]\npass_rate = 100\nmin_tests = 1\n",
        "tests/test_a.py": "def test_a():\n    pass\n",
        "tests/test_bad.py": "def test_x(:\n",
    }
    root = make_repo(tmp_path / "p", files)
    out = tmp_path / "out"
    formats = ("markdown", "html", "github", "json")
    done = pytest_uetf(root, *(f"--uetf-report={f}:{out / f}" for f in formats))
    assert done.returncode == 2, done.stdout + done.stderr
    said = "2 declared, not judged: 1 error during collection"
    assert said in done.stdout
    for fmt in ("markdown", "html", "github"):
        text = (out / fmt).read_text("utf-8").replace("\\:", ":")  # markdown's escape
        assert said in text and "No gates declared" not in text, fmt
    report = json.loads((out / "json").read_text("utf-8"))
    assert report["gates"] == [] and report["gates_not_judged"].startswith(said)


def test_reports_written_in_the_work_tree_leave_the_code_the_same(tmp_path: Path) -> None:
    """A report the run writes into the work tree (the README's pr.md), pytest's JUnit XML
    and coverage.py's own reports differ from run to run, but are no change of the code: a
    test that flips between two such runs of one commit is flaky, not new."""
    flip = "import os\n\n\ndef test_flip():\n    assert os.environ.get('FLIP') != '1'\n"
    root = make_repo(tmp_path / "p", {"tests/test_f.py": flip})
    args = ("--uetf-report=markdown:pr.md", "--junitxml=out/junit.xml")
    assert pytest_uetf(root, *args).returncode == 0
    (root / "coverage.xml").write_text("<coverage/>")  # another tool's report, untracked
    assert pytest_uetf(root, *args).returncode == 0
    done = pytest_uetf(root, *args, env={"FLIP": "1"})
    assert done.returncode == 1, done.stdout + done.stderr
    (failure,) = uetf_summary(root)["failures"]
    assert failure["classification"] == "flaky"
