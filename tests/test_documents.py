"""The typed documents (``uetf_core.documents``, ``report_documents``) name exactly their
schemas' properties."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from uetf_core import documents as d
from uetf_core import report_documents as r

SCHEMA_DIR = Path(__file__).parent.parent / "schema"

# (typed document, schema, the path to its object in the schema)
CASES = [
    (d.RunRow, "run_state", ()),
    (d.RunConfigDocument, "run_config", ()),
    (d.GateSpecDocument, "run_config", ("$defs", "gate_spec")),
    (d.WaiverDocument, "run_config", ("properties", "waivers", "items")),
    (d.GateDocument, "test_gate", ()),
    (d.ErrorDocument, "error_capture", ()),
    (d.ExecutionDocument, "test_execution_record", ()),
    (d.TaskDocument, "task", ()),
    (d.EventDocument, "execution_event", ()),
    (d.WorkerDocument, "worker_state", ()),
    (d.ToolResultDocument, "tool_result", ()),
    (d.ValidationDocument, "validation_record", ()),
    (d.ProgressDocument, "progress_snapshot", ()),
    (d.RoutingDocument, "routing_decision", ()),
    (d.ScheduleDocument, "schedule_entry", ()),
    (d.DocumentMetadata, "doc_metadata", ()),
    (d.PatchEntry, "patch_ledger_entry", ()),
    (d.PatchFile, "patch_ledger_entry", ("properties", "files", "items")),
    (r.RunSummary, "run_summary", ()),
    (r.Failure, "run_summary", ("properties", "failures", "items")),
    (r.CoverageSummary, "run_summary", ("properties", "coverage", "anyOf", 1)),
    (
        r.CoverageFileSummary,
        "run_summary",
        ("properties", "coverage", "anyOf", 1, "properties", "files", "items"),
    ),
    (r.PatchSummary, "run_summary", ("properties", "patch", "anyOf", 1)),
    (r.ImpactSummary, "run_summary", ("properties", "impact", "oneOf", 1)),
    (
        r.PatchFileSummary,
        "run_summary",
        ("properties", "patch", "anyOf", 1, "properties", "files", "items"),
    ),
    (r.GateReport, "gate_report", ()),
    (r.ReportFailure, "gate_report", ("properties", "failures", "items")),
    (r.ReportPatch, "gate_report", ("properties", "patch")),
    (r.ReportPatchFile, "gate_report", ("properties", "patch", "properties", "files", "items")),
    (r.SlowTest, "gate_report", ("properties", "slowest", "items")),
    (r.FinalResult, "gate_report", ("properties", "tests", "items")),
    (r.BaselineFigures, "gate_report", ("properties", "baseline")),
    (r.TrendPoint, "gate_report", ("properties", "trend", "items")),
    (d.NamedHistoryEntry, "history", ("items",)),
    (d.FlakyTest, "flaky_tests", ("items",)),
    (d.LastFailure, "flaky_tests", ("items", "properties", "last_failure", "oneOf", 1)),
    (d.CostsDocument, "costs", ()),
    (d.CostGroup, "costs", ("properties", "groups", "items")),
    (d.CostAmount, "costs", ("$defs", "amounts", "additionalProperties")),
    (d.PhaseState, "phase_state", ()),
    (d.StepDocument, "ws_step", ()),
    (d.DependencyDocument, "ws_dependency", ()),
]


def _schema_object(schema: str, path: tuple[str | int, ...]) -> dict[str, object]:
    node = json.loads((SCHEMA_DIR / f"{schema}.v1.json").read_text("utf-8"))
    for step in path:
        node = node[step]
    assert isinstance(node, dict) and "properties" in node, (schema, path)
    return node


def _keys(typed: type) -> set[str]:
    return set(typed.__required_keys__) | set(typed.__optional_keys__)  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("typed", "schema", "path"), CASES, ids=[typed.__name__ for typed, _, _ in CASES]
)
def test_a_typed_document_names_its_schemas_properties(
    typed: type, schema: str, path: tuple[str | int, ...]
) -> None:
    """Every key of the typed document is a property of the schema's object, and back."""
    node = _schema_object(schema, path)
    assert _keys(typed) == set(node["properties"])  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("typed", "schema", "path"), CASES, ids=[typed.__name__ for typed, _, _ in CASES]
)
def test_what_a_schema_requires_the_typed_document_requires(
    typed: type, schema: str, path: tuple[str | int, ...]
) -> None:
    """A key the schema requires is never optional in the typed document (a stored
    configuration is the exception: older runs lack newer keys)."""
    node = _schema_object(schema, path)
    required = set(node.get("required", ()))  # type: ignore[call-overload]
    optional = set(typed.__optional_keys__)  # type: ignore[attr-defined]
    if typed is d.RunConfigDocument:
        assert optional == _keys(typed)
    else:
        assert not required & optional


def test_the_workstream_document_is_its_state_with_its_parts() -> None:
    """A workstream: the workstream_state properties, then its phases, steps and dependencies."""
    node = _schema_object("workstream_state", ())
    assert _keys(d.WorkstreamDocument) == set(node["properties"]) | {  # type: ignore[call-overload]
        "phases",
        "steps",
        "dependencies",
    }


def test_every_typed_document_is_held_to_a_schema() -> None:
    """No typed document of the module is left out of the checks above."""
    typed = {
        value
        for module in (d, r)
        for value in vars(module).values()
        if isinstance(value, type) and hasattr(value, "__required_keys__")
    }
    checked = {case[0] for case in CASES} | {d.WorkstreamDocument}
    # Rows with no schema of their own: the ledger's form of coverage, a test's history
    # without its name (the CLI adds it), a run in the trend charts, an attempt in
    # the slowest list.
    internal = {
        d.CoverageFile,
        d.StoredCoverage,
        d.HistoryEntry,
        d.RunTrend,
        d.SlowExecution,
        d.PhaseDocument,
        d.CostLabel,
    }
    assert typed - checked == internal
