"""The reference docs are generated from the code's tables and kept current."""

from __future__ import annotations

import importlib.util
from pathlib import Path

DOCS = Path(__file__).parent.parent / "docs"


def test_reference_docs_are_current() -> None:
    """docs/gates.md and docs/configuration.md match what gen_reference.py writes now."""
    spec = importlib.util.spec_from_file_location("gen_reference", DOCS / "gen_reference.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert (DOCS / "gates.md").read_text() == module.gates_md(), "run python docs/gen_reference.py"
    assert (DOCS / "configuration.md").read_text() == module.configuration_md()


def test_ci_recipes_ask_for_reports_that_exist() -> None:
    """Every --uetf-report in the recipes is a format UETF writes."""
    import re

    from uetf_core.reports import parse_report_spec

    root = Path(__file__).resolve().parent.parent
    for recipe in ("github-actions.yml", "gitlab-ci.yml"):
        text = (root / "docs" / "ci" / recipe).read_text()
        specs = re.findall(r"--uetf-report=(\S+)", text)
        assert specs, recipe
        for spec in specs:
            parse_report_spec(spec)
