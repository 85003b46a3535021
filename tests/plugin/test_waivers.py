"""Waivers: a gate or a failing test excused, with an owner, until a date."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from conftest import run_pytest, run_uetf, uetf_summary

TESTS = """\
def test_ok(): pass
def test_known_broken(): assert 1 == 2
"""


def waivers(root: Path, text: str) -> None:
    (root / ".uetf").mkdir(exist_ok=True)
    (root / ".uetf" / "waivers.toml").write_text(text)


@pytest.fixture
def project(git_project) -> Path:  # type: ignore[no-untyped-def]
    return git_project({"test_w.py": TESTS})


def test_waived_test_failure_and_gate(project: Path, validate) -> None:  # type: ignore[no-untyped-def]
    waivers(
        project,
        """
[[waiver]]
test = "test_w.py::test_known_broken"
owner = "alice"
reason = "fixed upstream in 2.1"
link = "https://tracker.example/UETF-7"
expires = 2999-01-01

[[waiver]]
gate = "min_tests"
owner = "bob"
reason = "the suite is being split"
expires = "2999-06-30"
""",
    )
    done = run_pytest(project, "--uetf", "--uetf-gate=pass_rate>=100", "--uetf-gate=min_tests>=5")
    assert done.returncode == 0, done.stdout + done.stderr
    document = uetf_summary(project)
    validate("run_summary", document)
    gates = {g["name"]: g for g in document["gates"]}
    assert gates["pass_rate"]["verdict"] == "passed"  # the waived failure does not count
    assert gates["min_tests"]["verdict"] == "waived"
    assert gates["min_tests"]["reason"].startswith("waived by bob until 2999-06-30")
    (failure,) = document["failures"]
    assert failure["classification"] == "waived"
    assert document["totals"]["failed"] == 1  # the record stays true
    regate = subprocess.run(
        [sys.executable, "-m", "uetf_core.cli", "gate"], cwd=project, capture_output=True, text=True
    )
    assert regate.returncode == 0 and "waived" in regate.stdout


def test_expired_waiver_stops_waiving_and_says_so(project: Path) -> None:
    waivers(
        project,
        """
[[waiver]]
gate = "min_tests"
owner = "bob"
reason = "the suite is being split"
expires = 2020-01-31
""",
    )
    (project / "test_w.py").write_text("def test_ok(): pass\n")
    done = run_pytest(project, "--uetf", "--uetf-gate=min_tests>=5")
    assert done.returncode == 6
    assert "uetf: the waiver of gate min_tests by bob expired on 2020-01-31" in done.stdout
    (gate,) = uetf_summary(project)["gates"]
    assert gate["verdict"] == "failed" and "expired 2020-01-31" in gate["reason"]


GATE_WAIVER = '[[waiver]]\ngate = "coverage"\nowner = "a"\nreason = "r"\n'


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            GATE_WAIVER + "expires = 2030-01-01\nowners = 1\n",
            "unknown key 'owners'",
        ),
        (
            '[[waiver]]\ngate = "coverage"\nowner = "a"\nreason = "r"\nexpires = "next week"\n',
            "'expires' must be a date like 2026-12-31",
        ),
        (
            '[[waiver]]\nowner = "a"\nreason = "r"\nexpires = 2030-01-01\n',
            "name exactly one of 'gate' or 'test'",
        ),
        (
            '[[waiver]]\ngate = "coverage"\nreason = "r"\nexpires = 2030-01-01\n',
            "'owner' is required",
        ),
    ],
)
def test_bad_waivers_file_is_one_line(project: Path, text: str, message: str) -> None:
    waivers(project, text)
    done = run_pytest(project, "--uetf")
    assert done.returncode == 4
    assert message in done.stderr and "Traceback" not in done.stderr + done.stdout


REPORTS = ("markdown", "github", "json", "html", "junit", "cobertura")
WAIVED_TEST = """\
[[waiver]]
test = "test_w.py::test_known_broken"
owner = "alice"
reason = "fixed upstream in 2.1"
expires = 2999-01-01
"""


def test_waived_failure_in_every_report(project: Path, validate) -> None:  # type: ignore[no-untyped-def]
    """A waived failing test passes the run, and every report lists it apart as waived."""
    waivers(project, WAIVED_TEST)
    out = project / "out"
    summary = out / "step-summary.md"
    done = run_pytest(
        project,
        "--uetf",
        "--uetf-cov=.",
        "--uetf-gate=pass_rate>=100",
        *[f"--uetf-report={fmt}:{out / fmt}" for fmt in REPORTS if fmt != "github"],
        "--uetf-report=github",
        env={"GITHUB_STEP_SUMMARY": str(summary), "GITHUB_ACTIONS": "true"},
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Traceback" not in done.stdout + done.stderr
    assert "1 failed, 1 passed" in done.stdout  # pytest's own summary is not lost
    node = "test_w.py::test_known_broken"

    report = json.loads((out / "json").read_text())
    validate("gate_report", report)
    assert [(f["node_id"], f["classification"]) for f in report["failures"]] == [(node, "waived")]

    escaped = r"test\_w\.py\:\:test\_known\_broken"
    for markdown in ((out / "markdown").read_text(), summary.read_text()):
        waived_section = markdown.split("Waived failures: 1", 1)[1].split("</details>", 1)[0]
        assert f"| {escaped} | failed |" in waived_section
        assert "Failures:" not in markdown  # no unexcused failure section

    page = (out / "html").read_text()
    assert re.search(
        r"<h2>Waived failures \(1\)</h2>.*?kind-waived.*?" + re.escape(node), page, re.DOTALL
    )
    assert "<h2>Failures" not in page

    (case,) = ET.parse(out / "junit").getroot().findall("testcase/failure")
    assert case.get("message", "").startswith("[waived] ")
    assert ET.parse(out / "cobertura").getroot().tag == "coverage"

    annotations = [line for line in done.stdout.splitlines() if line.startswith("::")]
    assert [a.split(" ", 1)[0] for a in annotations] == ["::notice"]
    assert "title=waived failed%3A test_w.py%3A%3Atest_known_broken" in annotations[0]

    later = run_uetf(project, "report", "last", "--format=markdown")
    assert later.returncode == 0, later.stderr
    assert later.stdout == (out / "markdown").read_text()
    shown = run_uetf(project, "show")
    assert shown.returncode == 0, shown.stderr
    assert "waived failures (1):\n  test_w.py::test_known_broken failed" in shown.stdout
