"""The plugin's reading of options and configuration before uetf_core is imported."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pytest_uetf import plugin
from uetf_core.errors import GateSpecError
from uetf_core.gate_names import COVERAGE_GATES, gate_name
from uetf_core.gates.catalog import GATES
from uetf_core.gates.spec import parse_gate


def test_every_early_coverage_gate_is_in_the_catalog() -> None:
    """The coverage gates read before uetf_core is imported are gates the catalog knows."""
    assert set(GATES) >= COVERAGE_GATES


# Texts a user might type for --uetf-gate: names, globs, any operator-like
# run, spacing and values, valid or not.
_PIECES = st.sampled_from(
    [
        *GATES,
        "cov",
        "_x",
        "9lives",
        "[src/**]",
        "[usd]",
        "[",
        "]",
        "<",
        ">",
        "=",
        "!",
        " ",
        "\t",
        "90",
        "5m",
        "1e3",
        "-1",
        "x",
        "",
    ]
)
gate_texts = st.lists(_PIECES, max_size=8).map("".join) | st.text(
    alphabet=st.characters(codec="ascii"), max_size=30
)


@settings(max_examples=2000, deadline=None)
@given(gate_texts)
def test_early_gate_name_is_the_parsers(text: str) -> None:
    """The plugin's early reading of a --uetf-gate names the gate the parser reads."""
    try:
        spec = parse_gate(text)
    except GateSpecError:
        return
    assert gate_name(text) == spec.name


@pytest.mark.parametrize(
    "text",
    [
        "coverage==100",
        " coverage >= 90 ",
        "coverage>90",
        "path_coverage[src/**]==100",
        "patch_coverage<=100",
        "coverage_drop == 0",
    ],
)
def test_every_operator_declares_a_coverage_gate_early(text: str) -> None:
    """Any operator or spacing of a coverage gate is seen before uetf_core is imported."""
    assert plugin._declares_coverage_gate({}, [text])
    assert parse_gate(text).name in COVERAGE_GATES


def test_without_ini_options_the_command_line_alone_narrows(git_project) -> None:  # type: ignore[no-untyped-def]
    """With no addopts, what pytest parsed is the command line: -k and node ids make a
    run partial, -q and paths of the whole suite do not."""
    from conftest import run_pytest, uetf_summary

    root = git_project(
        {
            "pyproject.toml": "[tool.pytest.ini_options]\ntestpaths = ['tests']\n",
            "tests/test_a.py": "def test_a():\n    pass\n\n\ndef test_b():\n    pass\n",
        }
    )
    expected = {
        ("-q",): False,
        ("-k", "test_b"): True,  # (test_a matches the module's name: both tests run)
        ("tests/test_a.py::test_b",): True,
        ("tests",): False,
    }
    for args, partial in expected.items():
        done = run_pytest(root, "--uetf", *args)
        assert done.returncode == 0, done.stdout + done.stderr
        assert uetf_summary(root)["partial"] is partial, args
