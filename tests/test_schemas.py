"""The JSON Schemas: well-formed, complete, and strict enough to reject typos."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator
from referencing import Registry, Resource

from uetf_core.schemas import errors_of, load_all

SCHEMA_DIR = Path(__file__).parent.parent / "schema"
RUN = "20261125T031600-a1b2c3"
AT = "2026-11-25T03:16:00.123456+00:00"
GATE = {
    "name": "pass_rate",
    "op": ">=",
    "threshold": 100,
    "value": 75.0,
    "verdict": "failed",
    "reason": None,
    "mode": "fail",
    "unit": "%",
}
CONFIG = {
    "enabled": False,
    "ledger": "/p/.ledger/uetf.db",
    "gate_mode": "fail",
    "gates": [{"name": "pass_rate", "op": ">=", "threshold": 100, "mode": "fail", "unit": "%"}],
    "batch_size": 500,
    "flush_interval": 1.0,
    "stale_after": 3600.0,
    "rootdir": "/p",
    "sources": {"pyproject": None, "cli": [], "env": []},
    "cov_source": ["src"],
    "base": "origin/main",
    "diff_file": None,
    "baseline": None,
    "min_patch_lines": 1,
}
ERROR = {
    "node_id": "t.py::test_a",
    "attempt": 1,
    "phase": "call",
    "exc_type": "AssertionError",
    "message": "assert 1 == 2",
    "path": "t.py",
    "lineno": 3,
    "traceback": "...",
    "truncated": False,
}
TOTALS = dict.fromkeys(
    ["collected", "passed", "failed", "skipped", "xfailed", "xpassed", "errors", "reruns"], 0
)

# One valid document per schema, and (schema, mutation, why) for invalid ones.
VALID: dict[str, dict[str, Any]] = {
    "run_config": CONFIG,
    "run_state": {
        "run_id": RUN,
        "state": "running",
        "started_at": AT,
        "finished_at": None,
        "heartbeat_at": AT,
        "pid": 42,
        "host": "ci-1",
        "rootdir": "/p",
        "uetf_version": "0.1.0",
        "exit_status": None,
        "end_reason": None,
        "partial": False,
        "verdict": None,
    },
    "task": {"run_id": RUN, "node_id": "t.py::a", "index": 0, "path": "t.py", "state": "pending"},
    "routing_decision": {
        "run_id": RUN,
        "node_id": "t.py::a",
        "target": "gw0",
        "strategy": "duration",
        "estimate_seconds": 0.5,
        "fallback": True,
        "fallback_reason": "never seen: module median",
        "at": AT,
    },
    "schedule_entry": {
        "run_id": RUN,
        "node_id": "t.py::a",
        "position": 0,
        "priority": 1.5,
        "constraint": None,
        "reason": "failed-first",
    },
    "progress_snapshot": {
        "run_id": RUN,
        "at": AT,
        "done": 10,
        "total": 100,
        "elapsed_seconds": 3.2,
        "eta_seconds": 28.8,
        "outcomes": dict.fromkeys(
            ["passed", "failed", "skipped", "xfailed", "xpassed", "error", "rerun"], 0
        ),
    },
    "execution_event": {
        "run_id": RUN,
        "seq": 0,
        "at": AT,
        "kind": "run_state",
        "subject": RUN,
        "from_state": "pending",
        "to_state": "initializing",
        "data": {},
    },
    "patch_ledger_entry": {
        "run_id": RUN,
        "state": "detected",
        "base_ref": "origin/main",
        "merge_base": "a" * 40,
        "head": "b" * 40,
        "diff_hash": "c" * 64,
        "files": [
            {"path": "src/a.py", "old_path": None, "status": "modified", "added_lines": [[3, 7]]}
        ],
    },
    "error_capture": ERROR,
    "tool_result": {
        "run_id": None,
        "tool": "git",
        "argv": ["git", "merge-base", "HEAD", "origin/main"],
        "exit_code": 0,
        "duration_seconds": 0.01,
        "ok": True,
        "stderr_excerpt": "",
        "at": AT,
    },
    "workstream_state": {
        "workstream_id": "ci-123",
        "state": "running",
        "created_at": AT,
        "updated_at": AT,
        "expect_shards": 4,
    },
    "phase_state": {"workstream_id": "ci-123", "phase": "unit", "state": "passed"},
    "ws_step": {
        "workstream_id": "ci-123",
        "phase": "unit",
        "step_id": "unit-1",
        "run_id": RUN,
        "shard": "1/4",
        "state": "passed",
    },
    "ws_dependency": {"workstream_id": "ci-123", "phase": "integration", "depends_on": "unit"},
    "doc_metadata": {
        "kind": "gate_report",
        "format": "json",
        "path": "uetf-report.json",
        "sha256": "0" * 64,
        "size_bytes": 120,
        "run_ids": [RUN],
        "created_at": AT,
    },
    "test_execution_record": {
        "run_id": RUN,
        "node_id": "t.py::test_a",
        "attempt": 1,
        "worker": "gw0",
        "outcome": "failed",
        "setup": {"outcome": "passed", "duration": 0.001},
        "call": {"outcome": "failed", "duration": 0.01},
        "teardown": {"outcome": "passed", "duration": 0.001},
        "duration": 0.012,
        "started_at": AT,
        "finished_at": AT,
        "skip_reason": None,
        "xfail_reason": None,
        "error": ERROR,
    },
    "validation_record": {
        "subject": "run config",
        "schema": "run_config",
        "valid": False,
        "errors": [{"path": "gates/0/op", "message": "'=>' is not one of"}],
        "at": AT,
    },
    "worker_state": {
        "run_id": RUN,
        "worker_id": "gw1",
        "state": "crashed",
        "tests_run": 12,
        "started_at": AT,
        "stopped_at": AT,
        "reason": "node down",
    },
    "test_gate": GATE,
    "gate_report": {
        "run_id": RUN,
        "verdict": "failed",
        "state": "failed",
        "exit_status": 6,
        "generated_at": AT,
        "started_at": AT,
        "duration_seconds": 1.5,
        "head_commit": None,
        "partial": False,
        "uetf_version": "0.1.0",
        "totals": {
            "collected": 2,
            "passed": 1,
            "failed": 1,
            "skipped": 0,
            "xfailed": 0,
            "xpassed": 0,
            "errors": 0,
            "reruns": 0,
        },
        "pass_rate": 50.0,
        "gates": [GATE],
        "gates_not_judged": None,
        "failures": [
            {
                "node_id": "t.py::b",
                "outcome": "failed",
                "classification": "new",
                "baseline_outcome": None,
                "message": "AssertionError: 1 != 2",
                "path": "t.py",
                "line": 4,
                "traceback": "t.py:4: AssertionError",
            }
        ],
        "coverage": None,
        "patch": {
            "base_ref": "origin/main",
            "merge_base": "a" * 40,
            "problem": None,
            "files": [
                {
                    "path": "app.py",
                    "added_lines": [[3, 5]],
                    "uncovered_lines": [[5, 5]],
                    "covered_lines": [[3, 4]],
                }
            ],
        },
        "slowest": [{"node_id": "t.py::a", "duration": 0.5, "outcome": "passed"}],
        "baseline": None,
        "trend": [
            {
                "run_id": RUN,
                "started_at": AT,
                "tests": 2,
                "pass_rate": 50.0,
                "coverage": None,
                "duration_seconds": 1.5,
            }
        ],
    },
    "cost_record": {
        "run_id": RUN,
        "scope": "test",
        "subject": "t.py::a",
        "name": "openai_tokens",
        "amount": 1234,
        "unit": "tokens",
    },
    "run_summary": {
        "run_id": RUN,
        "state": "failed",
        "started_at": AT,
        "finished_at": AT,
        "duration_seconds": 1.5,
        "host": "ci-1",
        "pid": 42,
        "rootdir": "/p",
        "uetf_version": "0.1.0",
        "exit_status": 1,
        "end_reason": "tests failed",
        "partial": False,
        "verdict": "failed",
        "totals": {**TOTALS, "collected": 4, "passed": 3, "failed": 1},
        "gates": [GATE],
        "config": CONFIG,
    },
}


def _set(path: str, value: Any) -> Any:
    def mutate(doc: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        target: Any = doc
        for part in parents:
            target = target[int(part)] if part.isdigit() else target[part]
        target[last] = value

    return mutate


def _drop(key: str) -> Any:
    return lambda doc: doc.pop(key)


def _typo(key: str, typo: str) -> Any:
    return lambda doc: doc.__setitem__(typo, doc.pop(key))


INVALID: list[tuple[str, Any, str]] = [
    ("run_config", _set("gate_mode", "loud"), "unknown gate mode"),
    (
        "run_config",
        _set("gates", [{"name": "pass_rat", "op": ">=", "threshold": 1, "mode": "fail"}]),
        "unknown gate",
    ),
    ("run_config", _typo("batch_size", "batchsize"), "misspelt key"),
    ("run_state", _set("state", "done"), "unknown state"),
    ("run_state", _set("run_id", "run-1"), "malformed run id"),
    ("task", _set("state", "finished"), "unknown task state"),
    ("routing_decision", _set("strategy", "random"), "unknown strategy"),
    ("schedule_entry", _set("position", -1), "negative position"),
    ("progress_snapshot", _drop("total"), "missing total"),
    ("execution_event", _set("kind", "whatever"), "unknown kind"),
    ("execution_event", _set("at", "yesterday"), "not a date-time"),
    ("patch_ledger_entry", _set("files.0.added_lines", [[1]]), "half a range"),
    ("patch_ledger_entry", _set("state", "merged"), "unknown patch state"),
    ("error_capture", _set("phase", "lunch"), "unknown phase"),
    ("error_capture", _set("message", "x" * 5000), "message over its bound"),
    ("tool_result", _drop("argv"), "missing argv"),
    ("workstream_state", _set("state", "done"), "unknown state"),
    ("phase_state", _set("state", "done"), "unknown state"),
    ("ws_step", _set("shard", "one of four"), "malformed shard"),
    ("ws_dependency", _drop("depends_on"), "missing dependency"),
    ("doc_metadata", _set("sha256", "xyz"), "malformed hash"),
    ("doc_metadata", _set("run_ids", []), "covers no run"),
    ("test_execution_record", _set("outcome", "ok"), "unknown outcome"),
    ("test_execution_record", _set("attempt", 0), "attempt below 1"),
    ("test_execution_record", _set("error.exc_type", ""), "embedded error invalid"),
    ("validation_record", _set("valid", "no"), "valid not a bool"),
    ("worker_state", _set("state", "sleeping"), "unknown worker state"),
    ("test_gate", _set("verdict", "ok"), "unknown verdict"),
    ("test_gate", _set("op", "=>"), "bad operator"),
    ("gate_report", _set("gates", [{"name": "pass_rate"}]), "embedded gate incomplete"),
    ("gate_report", _set("verdict", "skipped"), "a report's verdict is never skipped"),
    ("gate_report", _set("trend", [{"run_id": RUN}]), "trend point without its figures"),
    ("cost_record", _set("scope", "galaxy"), "unknown scope"),
    ("run_summary", _drop("totals"), "missing totals"),
    ("run_summary", _set("totals", {**TOTALS, "passd": 1}), "misspelt total"),
    ("run_summary", _set("config", {**CONFIG, "ledgr": "x"}), "embedded config typo"),
]

EXPECTED = set(VALID)
# Invalid examples that only a "format" check rejects.
FORMAT_ONLY = {"not a date-time"}


@pytest.fixture(scope="session")
def files() -> dict[str, dict[str, Any]]:
    """Every schema file in schema/, by short name."""
    return {
        path.name.removesuffix(".v1.json"): json.loads(path.read_text())
        for path in sorted(SCHEMA_DIR.glob("*.json"))
    }


def test_every_concept_has_a_schema(files: dict[str, dict[str, Any]]) -> None:
    """The 17 framework schemas and the domain's own are all present, and all load."""
    assert set(files) >= EXPECTED
    assert set(load_all()) == set(files)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_schema_is_well_formed(files: dict[str, dict[str, Any]], name: str) -> None:
    """Each schema passes the 2020-12 meta-schema, has its $id and rejects unknown keys."""
    schema = files[name]
    Draft202012Validator.check_schema(schema)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["$id"] == f"urn:uetf:schema:{name}.v1"
    assert schema["additionalProperties"] is False
    assert schema["required"]


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_valid_example_passes(name: str) -> None:
    """A well-formed document validates against its schema."""
    assert errors_of(name, VALID[name]) == []


@pytest.mark.parametrize(
    ("name", "mutate", "why"), INVALID, ids=[f"{n}-{w}" for n, _, w in INVALID]
)
def test_invalid_example_is_rejected(name: str, mutate: Any, why: str) -> None:
    """A document with one thing wrong is rejected."""
    document = copy.deepcopy(VALID[name])
    mutate(document)
    assert errors_of(name, document), why


def test_every_schema_has_an_invalid_example() -> None:
    """No schema goes untested for what it rejects."""
    assert {name for name, _, _ in INVALID} == EXPECTED


@pytest.fixture(scope="session")
def registry(files: dict[str, dict[str, Any]]) -> Registry[Any]:
    """Every schema file as a resource, keyed by its $id, as a consumer would load them."""
    return Registry().with_resources(
        (doc["$id"], Resource.from_contents(doc)) for doc in files.values()
    )


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_schema_files_work_with_plain_jsonschema(
    files: dict[str, dict[str, Any]], registry: Registry[Any], name: str
) -> None:
    """The files in schema/ alone, refs resolved by $id, accept the valid and reject the invalid.

    No format checker: what jsonschema checks for "format" depends on optional
    packages a consumer may lack, so examples only a format check rejects are
    left to test_date_time_format_is_checked_everywhere.
    """
    check = Draft202012Validator(files[name], registry=registry)
    assert list(check.iter_errors(VALID[name])) == []
    for schema_name, mutate, why in INVALID:
        if schema_name == name and why not in FORMAT_ONLY:
            document = copy.deepcopy(VALID[name])
            mutate(document)
            assert not check.is_valid(document), why


@pytest.mark.parametrize(
    ("value", "valid"),
    [
        ("2026-11-25T03:16:00+00:00", True),
        ("2026-11-25T03:16:00.123456+00:00", True),
        ("2026-11-25T03:16:00Z", True),
        ("2026-11-25T03:16:00", False),
        ("2026-13-25T03:16:00Z", False),
        ("yesterday", False),
        ("2026-11-25", False),
    ],
)
def test_date_time_format_is_checked_everywhere(value: str, valid: bool) -> None:
    """Timestamps must be RFC 3339 with a timezone, without any optional package."""
    from uetf_core.schemas import is_rfc3339

    assert is_rfc3339(value) is valid
