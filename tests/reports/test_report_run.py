"""Reports from real runs: every format, hostile names, the same bytes later from the ledger."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from conftest import git, run_pytest, run_uetf
from uetf_core.ledger import open_ledger
from uetf_core.reports.html_lists import SCRIPT
from uetf_core.reports.markdown import LIMIT, MARKER

CORE = """\
def add(a, b):
    return a + b


def broken():
    return 41
"""
CHANGED = (
    CORE
    + """

def added_and_tested(x):
    return x * 2


def added_untested(x):
    if x:
        return 1
    return 0
"""
)
TESTS = """\
from app.core import add, broken


def test_add():
    assert add(1, 2) == 3


def test_known_bug():
    assert broken() == 42
"""
HOSTILE = [
    "<script>alert(1)</script>",
    "@octocat",
    "a|b",
    "[x](https://evil.example)",
    "\\x1b[31mred",
    "::error::fake",
]
NEW_TESTS = f"""\
import pytest

from app.core import added_and_tested


def test_added():
    assert added_and_tested(2) == 4


@pytest.mark.parametrize("name", {HOSTILE!r})
def test_hostile(name):
    assert False, name
"""
FORMATS = ["markdown", "json", "html", "junit", "cobertura", "github"]


@pytest.fixture(scope="module")
def reported(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    """A project with a baseline run on main, then a change with new and pre-existing failures."""
    root = tmp_path_factory.mktemp("reports") / "project"
    (root / "app").mkdir(parents=True)
    (root / "app" / "__init__.py").write_text("")
    (root / "app" / "core.py").write_text(CORE)
    (root / "test_app.py").write_text(TESTS)
    git(root, "init", "-q", "-b", "main")
    git(root, "config", "user.email", "dev@example.invalid")
    git(root, "config", "user.name", "UETF tests")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "initial")
    assert run_pytest(root, "--uetf", "--uetf-cov=app").returncode == 1  # the baseline
    git(root, "checkout", "-q", "-b", "feature")
    (root / "app" / "core.py").write_text(CHANGED)
    (root / "test_new.py").write_text(NEW_TESTS)
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "change")
    summary = root.parent / "step-summary.md"
    summary.write_text("earlier step\n")
    out = root.parent / "out"
    done = run_pytest(
        root,
        "--uetf",
        "--uetf-cov=app",
        "--uetf-base=main",
        "--uetf-gate=patch_coverage>=90",
        "--uetf-gate=new_failures<=0",
        *[f"--uetf-report={fmt}:{out / fmt}" for fmt in FORMATS if fmt != "github"],
        "--uetf-report=github",
        env={"GITHUB_STEP_SUMMARY": str(summary), "GITHUB_ACTIONS": "true"},
    )
    assert done.returncode == 1, done.stdout + done.stderr
    return {"root": root, "out": out, "summary": summary, "stdout": done.stdout}


def test_json_report_validates_and_judges_against_the_baseline(reported, validate) -> None:  # type: ignore[no-untyped-def]
    report = json.loads((reported["out"] / "json").read_text())
    validate("gate_report", report)
    assert report["verdict"] == "failed"
    kinds = {f["node_id"]: f["classification"] for f in report["failures"]}
    assert kinds.pop("test_app.py::test_known_bug") == "pre-existing"
    assert len(kinds) == len(HOSTILE) and set(kinds.values()) == {"new"}
    assert report["baseline"] is not None and report["baseline"]["totals"]["collected"] == 2
    (changed,) = [f for f in report["patch"]["files"] if f["path"] == "app/core.py"]
    assert changed["uncovered_lines"] == [[14, 16]]
    assert changed["covered_lines"] == [[9, 10], [13, 13]]
    # The trend follows the branch: the baseline ran on main, this run on feature.
    assert [point["tests"] for point in report["trend"]] == [2 + 1 + len(HOSTILE)]


def test_markdown_comment(reported) -> None:  # type: ignore[no-untyped-def]
    markdown = (reported["out"] / "markdown").read_text()
    assert markdown.count(MARKER) == 1 and len(markdown) <= LIMIT
    first = markdown.splitlines()[1]
    assert first.startswith("### ") and "failed" in first and "new failure" in first
    assert "14\\-16" in markdown  # the patch's uncovered lines
    assert "Since the baseline" in markdown
    inert(markdown)
    # Tracebacks sit in fenced code blocks, where nothing is markup; outside them:
    prose = re.sub(r"^(`{3,})text\n.*?^\1$", "", markdown, flags=re.MULTILINE | re.DOTALL)
    assert "assert False" not in prose
    assert "<script" not in prose and re.search(r"@octocat", prose) is None


def inert(markdown: str) -> None:
    """No hostile name made markup: every table row keeps its header's number of cells."""
    cells = 0
    for line in markdown.splitlines():
        if not line.startswith("|"):
            cells = 0
            continue
        count = len(re.findall(r"(?<!\\)\|", line))
        cells = cells or count
        assert count == cells, line


def test_html_report_is_self_contained_and_escaped(reported) -> None:  # type: ignore[no-untyped-def]
    page = (reported["out"] / "html").read_text()
    assert page.startswith("<!DOCTYPE html>")
    assert "Content-Security-Policy" in page and "default-src 'none'" in page
    assert page.count("<script") == 1 and f"<script>{SCRIPT}</script>" in page
    assert re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", page) is None
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "\x1b" not in page
    # The uncovered function of the change, in its source, marked.
    assert '<div class="miss"><span class="no">15</span>        return 1</div>' in page
    assert page.count("<svg") == 4


def test_gitlab_files(reported) -> None:  # type: ignore[no-untyped-def]
    suite = ET.parse(reported["out"] / "junit").getroot()
    assert suite.get("tests") == str(3 + len(HOSTILE))
    assert suite.get("failures") == str(1 + len(HOSTILE))
    assert len(suite.findall("testcase/failure")) == 1 + len(HOSTILE)
    cobertura = ET.parse(reported["out"] / "cobertura").getroot()
    report = json.loads((reported["out"] / "json").read_text())
    assert round(float(cobertura.get("line-rate")) * 100, 2) == report["coverage"]["percent"]


def test_github_summary_and_annotations(reported) -> None:  # type: ignore[no-untyped-def]
    summary = reported["summary"].read_text()
    assert summary.startswith("earlier step\n\n" + MARKER)  # appended, not replaced
    commands = [line for line in reported["stdout"].splitlines() if line.startswith("::")]
    errors = [c for c in commands if c.startswith("::error ")]
    assert len(errors) == len(HOSTILE)
    assert all(c.startswith("::error file=test_new.py,line=") for c in errors)
    # A name cannot end the properties or start a command of its own.
    fake = [c for c in errors if "fake" in c]
    assert (
        fake
        and "title=new failed%3A test_new.py%3A%3Atest_hostile[%3A%3Aerror%3A%3Afake]" in fake[0]
    )
    assert any(c.startswith("::warning file=app/core.py,line=14,endLine=16,") for c in commands)
    assert not any(line.startswith("::error::fake") for line in reported["stdout"].splitlines())


def test_uetf_report_later_writes_the_same_bytes(reported, tmp_path: Path, validate) -> None:  # type: ignore[no-untyped-def]
    root = reported["root"]
    args = [f"--format={fmt}:{tmp_path / fmt}" for fmt in ("markdown", "json", "html", "junit")]
    done = run_uetf(root, "report", "last", *args)
    assert done.returncode == 0, done.stderr
    for fmt in ("markdown", "json", "html", "junit"):
        assert (tmp_path / fmt).read_bytes() == (reported["out"] / fmt).read_bytes(), fmt
    to_stdout = run_uetf(root, "report", "--format=markdown")
    assert to_stdout.stdout == (reported["out"] / "markdown").read_text()
    ledger = open_ledger(str(root / ".ledger" / "uetf.db"))
    try:
        run_id = ledger.find_run("last")["run_id"]
        documents = ledger.documents(run_id)
    finally:
        ledger.close()
    for document in documents:
        validate("doc_metadata", document)
    kinds = [d["kind"] for d in documents]
    assert kinds.count("gate_report") == 2 and "github_summary" in kinds and "cobertura" in kinds


def test_bad_report_format_is_one_line(reported) -> None:  # type: ignore[no-untyped-def]
    done = run_uetf(reported["root"], "report", "--format=pdf")
    assert done.returncode == 4
    assert done.stderr.strip().count("\n") == 0 and "unknown report format 'pdf'" in done.stderr
    run = run_pytest(reported["root"], "--uetf", "--uetf-report=pdf:x.pdf")
    assert run.returncode == 4 and "Traceback" not in run.stderr + run.stdout
    assert "unknown report format 'pdf'" in run.stderr


CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.mark.skipif(
    CHROMIUM is None and not os.environ.get("UETF_REQUIRE_CHROMIUM"),
    reason="Chromium is not installed (CI installs Debian's chromium and requires this test)",
)
def test_html_opens_in_headless_chromium_without_requests(reported, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    assert CHROMIUM is not None, "UETF_REQUIRE_CHROMIUM is set but chromium is not installed"

    def open_page(page: Path) -> tuple[Path, list[str]]:
        shot = tmp_path / (page.stem + ".png")
        done = subprocess.run(
            [
                CHROMIUM,
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--no-first-run",
                f"--user-data-dir={tmp_path / 'profile'}",
                # Any request that would leave the page fails and is logged.
                "--host-resolver-rules=MAP * ~NOTFOUND",
                "--enable-logging=stderr",
                "--log-level=0",
                "--window-size=1280,2000",
                f"--screenshot={shot}",
                page.as_uri(),
            ],
            capture_output=True,
            text=True,
            timeout=120,
        )
        console = [line for line in done.stderr.splitlines() if ":CONSOLE" in line]
        return shot, console

    # The detector works: a page that fetches something and logs an error is caught.
    bad = tmp_path / "bad.html"
    bad.write_text('<img src="http://example.invalid/x.png"><script>console.error("x")</script>')
    _, console = open_page(bad)
    assert console, "chromium's console log was not captured"

    page = tmp_path / "report.html"
    shutil.copy(reported["out"] / "html", page)
    shot, console = open_page(page)
    assert console == []
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 20_000
    # Without its Content-Security-Policy the page still makes no request.
    open_csp = tmp_path / "no-csp.html"
    open_csp.write_text(
        re.sub(r'<meta http-equiv="Content-Security-Policy"[^>]*>', "", page.read_text())
    )
    _, console = open_page(open_csp)
    assert console == []


def test_every_format_in_process_equals_the_run(reported, tmp_path: Path, validate) -> None:  # type: ignore[no-untyped-def]
    """write_reports itself (no subprocess): same bytes, recorded documents, defaults, notes."""
    from uetf_core.errors import ConfigError
    from uetf_core.reports import ReportSpec, parse_report_spec, write_reports

    run_id = json.loads((reported["out"] / "json").read_text())["run_id"]
    ledger = open_ledger(str(reported["root"] / ".ledger" / "uetf.db"))
    try:
        before = len(ledger.documents(run_id))
        specs = [parse_report_spec(f"{fmt}:{tmp_path / fmt}") for fmt in FORMATS]
        written = write_reports(
            ledger, run_id, specs, tmp_path / "unused", env={"GITHUB_ACTIONS": "true"}
        )
        for fmt in ("markdown", "json", "html", "junit"):
            assert (tmp_path / fmt).read_bytes() == (reported["out"] / fmt).read_bytes(), fmt
        run_commands = [line for line in reported["stdout"].splitlines() if line.startswith("::")]
        assert written.stdout == run_commands
        assert len(ledger.documents(run_id)) == before + len(FORMATS)
        for document in written.files:
            validate("doc_metadata", document)

        # Defaults: files under .ledger/reports (ignored by git); github off GitHub Actions.
        default_dir = tmp_path / ".ledger" / "reports"
        quiet = write_reports(
            ledger, run_id, [ReportSpec("markdown"), ReportSpec("github")], default_dir, env={}
        )
        assert (default_dir / "uetf-report.md").is_file()
        assert (tmp_path / ".ledger" / ".gitignore").read_text().endswith("*\n")
        (note,) = quiet.notes
        assert note.startswith("github report: not on GitHub Actions; ")
        assert "annotation" in note and "and the step summary left out" in note
        assert quiet.stdout == []  # workflow commands are noise in a local terminal
        # To a file off GitHub Actions: the summary is written, the annotations are not
        # printed; to standard output (github:-) both are.
        local = write_reports(
            ledger, run_id, [parse_report_spec(f"github:{tmp_path / 's.md'}")], default_dir, env={}
        )
        assert local.stdout == [] and "UETF: failed" in (tmp_path / "s.md").read_text()
        assert "annotations left out" in local.notes[0]
        printed = write_reports(
            ledger, run_id, [parse_report_spec("github:-")], default_dir, env={}
        )
        assert [line for line in printed.stdout if line.startswith("::")] == run_commands

        blocked = tmp_path / "a-file"
        blocked.write_text("")
        with pytest.raises(ConfigError, match="cannot write the html report"):
            write_reports(ledger, run_id, [ReportSpec("html", str(blocked / "r.html"))], tmp_path)
        with pytest.raises(ConfigError, match="names no path"):
            parse_report_spec("html:")
    finally:
        ledger.close()
