"""Waivers read, matched and applied without pytest."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from conftest import record_run
from uetf_core.errors import ConfigError
from uetf_core.gates.spec import parse_gate
from uetf_core.judge import judge_gates
from uetf_core.waivers import Waiver, for_gate, load_waivers, waived_tests

FILE = """
[[waiver]]
gate = "path_coverage[src/legacy/**]"
owner = "alice"
reason = "legacy importer"
link = "https://tracker.example/1"
expires = 2030-01-01

[[waiver]]
test = "t.py::broken"
owner = "bob"
reason = "upstream"
expires = "2020-02-02"
"""


def test_load_and_match(tmp_path: Path) -> None:
    path = tmp_path / "waivers.toml"
    assert load_waivers(path) == ()
    path.write_text(FILE)
    gate, test = load_waivers(path)
    assert gate.expires == dt.date(2030, 1, 1) and test.expires == dt.date(2020, 2, 2)
    assert for_gate([gate], "path_coverage", "src/legacy/**") is gate
    assert for_gate([gate], "path_coverage", "src/core/**") is None
    assert gate.describe() == (
        "waived by alice until 2030-01-01: legacy importer (https://tracker.example/1)"
    )
    assert Waiver.from_dict(gate.as_dict()) == gate
    waived, notes = waived_tests([test], ["t.py::broken", "t.py::other"], dt.date(2020, 2, 2))
    assert set(waived) == {"t.py::broken"} and notes == []
    waived, notes = waived_tests([test], ["t.py::broken"], dt.date(2020, 2, 3))
    assert waived == {} and "expired on 2020-02-02" in notes[0]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[waiver]\ngate = 'x'\n", r"write each waiver as a \[\[waiver\]\] table"),
        ("[other]\n", "unknown table 'other'"),
        (
            "[[waiver]]\ngate = 'x'\ntest = 'y'\nowner = 'a'\nreason = 'r'\nexpires = 2030-01-01\n",
            "exactly one of",
        ),
        (
            "[[waiver]]\ngate = ''\nowner = 'a'\nreason = 'r'\nexpires = 2030-01-01\n",
            "non-empty string",
        ),
        (
            "[[waiver]]\ngate = 'x'\nowner = 'a'\nreason = 'r'\nexpires = 2030-01-01\nlink = 3\n",
            "'link' must be a string",
        ),
        ("not toml = = 1", "cannot read the waivers"),
    ],
)
def test_bad_files(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "waivers.toml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=message):
        load_waivers(path)


def test_judge_gates_waives_and_expires(tmp_path: Path) -> None:
    recorder = record_run(tmp_path, ["t.py::a"], ["t.py::broken"], gates=("min_tests>=5",))
    ledger, run_id = recorder.ledger, recorder.run_id
    specs = [parse_gate("min_tests>=5"), parse_gate("max_failures<=0")]
    waiver = {
        "gate": "min_tests",
        "test": None,
        "owner": "carol",
        "reason": "splitting",
        "link": None,
        "expires": "2999-01-01",
    }
    test_waiver = {
        "gate": None,
        "test": "t.py::broken",
        "owner": "dan",
        "reason": "flaky dep",
        "link": None,
        "expires": "2999-01-01",
    }
    results, notes = judge_gates(ledger, run_id, specs, {"waivers": [waiver, test_waiver]})
    verdicts = {r.spec.name: (r.verdict.value, r.value) for r in results}
    assert verdicts == {"min_tests": ("waived", 2.0), "max_failures": ("passed", 0.0)}
    assert notes == []
    expired = [{**waiver, "expires": "2001-01-01"}, {**test_waiver, "expires": "2001-01-01"}]
    results, notes = judge_gates(ledger, run_id, specs, {"waivers": expired})
    assert [r.verdict.value for r in results] == ["failed", "failed"]
    assert len(notes) == 2 and all("expired on 2001-01-01" in n for n in notes)
    ledger.close()
