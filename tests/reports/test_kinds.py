"""Failure kinds: one order for every format, and no kind crashes any of them."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from conftest import record_run
from uetf_core.reports.document import build_report
from uetf_core.reports.github import ANNOTATION, workflow_commands
from uetf_core.reports.gitlab import render_junit
from uetf_core.reports.html import render_html
from uetf_core.reports.kinds import FAILURE_KINDS, group_failures
from uetf_core.reports.markdown import render_markdown
from uetf_core.reports.text import failure_rows
from uetf_core.schemas import load_all


@pytest.mark.parametrize("schema", ["gate_report", "run_summary"])
def test_kinds_are_the_schemas_kinds(schema: str) -> None:
    """The reports know exactly the classifications the documents may carry, in one order."""
    failure = load_all()[schema]["properties"]["failures"]["items"]
    assert tuple(failure["properties"]["classification"]["enum"]) == FAILURE_KINDS
    assert set(ANNOTATION) == set(FAILURE_KINDS)


def test_groups_follow_the_one_order_and_keep_unknown_kinds() -> None:
    """Failures group by kind in FAILURE_KINDS order; a kind not known yet comes last."""
    failures = [
        {"node_id": "b", "classification": "waived"},
        {"node_id": "z", "classification": "later-kind"},
        {"node_id": "c", "classification": "new"},
        {"node_id": "a", "classification": "waived"},
        {"node_id": "d", "classification": "flaky"},
    ]
    groups = group_failures(failures)
    assert list(groups) == ["new", "flaky", "waived", "later-kind"]
    assert [f["node_id"] for f in groups["waived"]] == ["a", "b"]


@pytest.mark.parametrize("kind", [*FAILURE_KINDS, "later-kind"])
def test_every_format_renders_every_kind(tmp_path: Path, kind: str) -> None:
    """Whatever a failure's classification, markdown, HTML, GitHub, JUnit and text render it."""
    recorder = record_run(tmp_path, ["t.py::ok"], ["t.py::bad"])
    try:
        report = build_report(recorder.ledger, recorder.run_id)
        (failure,) = report["failures"]
        failure["classification"] = kind
        markdown = render_markdown(report)
        page = render_html(report, str(tmp_path))
        commands = workflow_commands(report)
        junit = ET.fromstring(render_junit(recorder.ledger, recorder.run_id, report))
    finally:
        recorder.ledger.close()
    sections = {
        "new": "Failures: 1 new, 0 pre-existing, 0 flaky",
        "pre-existing": "Failures: 0 new, 1 pre-existing, 0 flaky",
        "flaky": "Failures: 0 new, 0 pre-existing, 1 flaky",
        "waived": "Waived failures: 1",
        "later-kind": "Failures: 0 new, 0 pre-existing, 0 flaky, 1 later-kind",
    }
    assert sections[kind] in markdown
    assert "t\\.py\\:\\:bad" in markdown
    assert f'class="kind kind-{kind}">{kind}</span>' in page
    expected = {"new": "::error ", "waived": "::notice "}.get(kind, "::warning ")
    assert [c[: len(expected)] for c in commands] == [expected]
    message = junit.find("testcase/failure").get("message")  # type: ignore[union-attr]
    assert message.startswith("AssertionError" if kind == "new" else f"[{kind}] ")  # type: ignore[union-attr]
    assert failure_rows(report["failures"])[0].startswith(
        {"new": "new failures", "waived": "waived failures"}.get(kind, f"{kind} failures")
    )
