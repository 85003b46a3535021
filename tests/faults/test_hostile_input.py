"""Hostile test ids and messages through a real run, every report format and every
printing command: nothing raises, nothing reaches a terminal raw, nothing reads as a
CI command, markup stays inert and JSON stays exact; bad numbers are usage errors."""

from __future__ import annotations

import contextlib
import io
import json
import os
import re
import time
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, example, given, settings
from hypothesis import strategies as st

from conftest import git, make_repo, run_pytest, run_uetf
from uetf_core.cli import main as uetf_main
from uetf_core.records import storable
from uetf_core.terminal import INVISIBLE

FAST = {"PYTEST_DISABLE_PLUGIN_AUTOLOAD": "1"}

# What a hostile id or message is made of: terminal control, CI workflow commands, bidi
# overrides, Unicode line ends, and the markup of every report format.
HOSTILE = [
    "\x1b[2J\x1b[31mred",  # clear the screen, colour
    "\x1b]0;owned\x07",  # OSC: retitle the terminal
    "nul\x00byte",
    "\n::error file=a.py,line=1::injected\n",  # a workflow command on its own line
    "##[error]legacy form",  # obeyed anywhere in a line
    "\r\x1b[Khidden",
    "\x9b31m c1 \x85nel",
    "bidi \u202egnp.exe\u202c \u2066iso\u2069",
    "line\u2028sep",
    "<script>alert(1)</script>",
    "]]><x/>&amp;&#0;",
    "**bold** [link](https://evil.example) @someone #1 | `tick` ~~~",
    "%0A::warning::percent",
    # What Python decodes an undecodable file name's bytes to (a lone surrogate):
    # UTF-8, and so either back end, cannot hold it as it is.
    "caf\udce9.txt",
]
piece = st.sampled_from(HOSTILE) | st.text(st.characters(exclude_categories=("Cs",)), max_size=6)
hostile_text = st.lists(piece, min_size=1, max_size=4).map("".join)
# A message of 100 KB, lines of it workflow commands: every run has one.
BIG = "::error file=x.py,line=1::big\n\x1b[31m" * 3000
PROPERTY = r"[A-Za-z]+=[^,:]*"
WORKFLOW_COMMAND = re.compile(rf"^::(error|warning|notice)( {PROPERTY}(,{PROPERTY})*)?::")

TEST_FILE = """\
import json
import pathlib

import pytest

import mod

CASES = json.loads(pathlib.Path(__file__).with_name("cases.json").read_text("utf-8"))


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_case(case):
    assert mod.double(1) == 2
    if case["message"] is not None:
        raise AssertionError(case["message"])
"""


def _strict(text: str) -> Any:
    """``text`` parsed as strict JSON: NaN and Infinity refused."""

    def refuse(name: str) -> Any:
        raise ValueError(f"not strict JSON: {name}")

    return json.loads(text, parse_constant=refuse)


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A git project whose one test is parametrized with whatever ids cases.json holds."""
    root = tmp_path_factory.mktemp("hostile")
    (root / "mod.py").write_text("def double(n):\n    return 2 * n\n")
    (root / "test_h.py").write_text(TEST_FILE)
    # Without this pytest shows non-ASCII ids escaped; a project may set it, so UETF
    # must take the raw text.
    (root / "pytest.ini").write_text(
        "[pytest]\ndisable_test_id_escaping_and_forfeit_all_rights_to_community_support = true\n"
    )
    (root / ".gitignore").write_text(".ledger/\nout/\n__pycache__/\ncases.json\n")
    git(root, "init", "-q", "-b", "main")
    git(root, "config", "user.email", "dev@example.invalid")
    git(root, "config", "user.name", "UETF tests")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "base")
    return root


def _cli(*args: str) -> tuple[int, str, str]:
    """The ``uetf`` command in this process: exit status, stdout, stderr."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        status = uetf_main(list(args))
    return status, out.getvalue(), err.getvalue()


def _assert_terminal_safe(text: str, where: str, commands: frozenset[str] = frozenset()) -> None:
    """No raw control character; no line a workflow command unless UETF wrote it as one."""
    for line in text.split("\n"):
        assert INVISIBLE.search(line) is None, f"{where}: raw control in {line[:200]!r}"
        assert "##[" not in line, f"{where}: legacy workflow command in {line[:200]!r}"
        if line.lstrip().startswith("::"):
            assert line in commands, f"{where}: data starts a command: {line[:200]!r}"
            assert WORKFLOW_COMMAND.match(line), line[:200]


def _outside_fences(markdown: str) -> str:
    """The markdown with its fenced code blocks (inert by definition) taken out."""
    kept, fence = [], None
    for line in markdown.split("\n"):
        match = re.match(r"^(`{3,}|~{3,})", line)
        if fence is None and match:
            fence = match.group(1)
        elif fence is not None and line.startswith(fence) and not line.strip(fence[0]):
            fence = None
        elif fence is None:
            kept.append(line)
    return "\n".join(kept)


@settings(
    max_examples=4,
    derandomize=True,
    deadline=None,
    database=None,
    phases=[Phase.explicit, Phase.generate],  # each example is a real run: no shrinking
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(ids=st.lists(hostile_text, min_size=1, max_size=3), messages=st.lists(hostile_text))
@example(ids=HOSTILE, messages=HOSTILE)
def test_hostile_ids_and_messages_stay_inert(
    project: Path, ids: list[str], messages: list[str]
) -> None:
    """A real run of tests named and failing with hostile text: the terminal summary, every
    uetf command and every report format stay inert, and the JSON keeps the data exact."""
    cases = [{"id": f"{i}-{text}", "message": None} for i, text in enumerate(ids)]
    cases += [
        {"id": f"f{i}-{ids[i % len(ids)]}", "message": message}
        for i, message in enumerate(messages)
    ]
    cases.append({"id": "big", "message": BIG})
    (project / "cases.json").write_text(json.dumps(cases), "utf-8")
    out = project / "out"
    reports = ["markdown", "html", "junit", "json", "cobertura"]
    done = run_pytest(
        project,
        "-p",
        "pytest_uetf.plugin",
        "-p",
        "no:warnings",
        "-p",
        "no:cacheprovider",  # pytest's cache cannot write an id holding a lone surrogate
        "--uetf",
        "-q",
        "--tb=no",
        "-rN",
        "--uetf-cov=mod",
        "--uetf-gate=pass_rate>=100",
        *(f"--uetf-report={fmt}:{out / ('r.' + fmt)}" for fmt in reports),
        "--uetf-report=markdown:-",
        "--uetf-report=junit:-",
        "--uetf-report=json:-",
        env=FAST,
    )
    assert done.returncode == 1, done.stdout[-2000:] + done.stderr[-2000:]
    assert "Traceback" not in done.stderr and "INTERNALERROR" not in done.stdout
    _assert_terminal_safe(done.stdout, "pytest stdout")
    _assert_terminal_safe(done.stderr, "pytest stderr")

    failing = {
        f"test_h.py::test_case[{c['id']}]": c["message"] for c in cases if c["message"] is not None
    }
    report = _strict((out / "r.json").read_text("utf-8"))
    # Node ids as both back ends hold them: NUL and lone surrogates escaped (storable).
    stored_ids = {storable(node_id) for node_id in failing}
    assert {f["node_id"] for f in report["failures"]} == stored_ids
    messages_of = {storable(node_id): message for node_id, message in failing.items()}
    for failure in report["failures"]:
        # The message recorded is the exception's first line, controls and all (a NUL
        # shown as \x00, which PostgreSQL's text cannot hold: records.storable).
        first_line = storable((messages_of[failure["node_id"]].splitlines() or [""])[0])
        if len(first_line) < 1000:
            assert first_line in failure["message"]
    ET.fromstring((out / "r.junit").read_text("utf-8"))
    ET.fromstring((out / "r.cobertura").read_text("utf-8"))
    # The page's one script is its own (allowed by hash); no test id adds another.
    assert (out / "r.html").read_text("utf-8").lower().count("<script") == 1
    markdown = (out / "r.markdown").read_text("utf-8")
    assert "<script" not in _outside_fences(markdown).lower()
    assert INVISIBLE.search(markdown.replace("\n", "").replace("\t", "")) is None

    ledger = ["--ledger", str(project / ".ledger" / "uetf.db")]
    node_id = next(iter(failing))
    status, annotations, _ = _cli("report", "last", "--format", "github:-", *ledger)
    assert status == 0
    commands = frozenset(line for line in annotations.split("\n") if line.startswith("::"))
    assert commands, "the github report wrote no annotation"
    printing = [
        ["runs"],
        ["show", "last"],
        ["history", node_id],
        ["flaky"],
        ["costs", "--by", "test"],
        ["gate", "last"],
        ["plan", "--shards", "2"],
        ["watch", "last", "--timeout", "0"],
        ["doctor"],
        *(["report", "last", "--format", fmt] for fmt in [*reports, "github:-"]),
    ]
    for args in printing:
        status, stdout, stderr = _cli(*args, *ledger)
        assert status in (0, 1), (args, stderr)
        _assert_terminal_safe(stdout, f"uetf {args[0]}", commands)
        _assert_terminal_safe(stderr, f"uetf {args[0]} (stderr)")
    for args in [["runs"], ["show", "last"], ["history", node_id], ["flaky"], ["costs"]]:
        status, stdout, _ = _cli(*args, "--json", *ledger)
        assert status == 0, args
        _assert_terminal_safe(stdout, f"uetf {args[0]} --json")
        document = _strict(stdout)
        if args[0] == "show":
            assert {f["node_id"] for f in document["failures"]} >= stored_ids - {node_id}
    status, stdout, _ = _cli("report", "last", "--format", "json", *ledger)
    assert _strict(stdout)["failures"] == report["failures"]
    status, stdout, _ = _cli("report", "last", "--format", "junit", *ledger)
    ET.fromstring(stdout)


def test_a_stall_alert_shows_the_running_test_escaped() -> None:
    """The stall alert names the running test with its control characters escaped."""
    from uetf_core.monitor import Progress, RunMonitor

    hostile = "test_x.py::test[\x1b]0;owned\x07\n::error::x]"
    alerts: list[str] = []
    monitor = RunMonitor(
        "unused", "r", Progress(), lambda: [(hostile, "gw0")], 1, 5.0, 1.0, None, alerts.append
    )
    monitor.progress.last_finished = time.time() - 10
    monitor._check_stall(time.time())
    assert len(alerts) == 1
    _assert_terminal_safe(alerts[0].strip("\n"), "stall alert")
    assert "\\x1b]0;owned\\x07\\n::error::x" in alerts[0]
    assert monitor.stalls[0]["running"] == [(hostile, "gw0")]  # the event keeps it exact


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["--uetf-shard=1/99999999999999", "--uetf-workstream=w"], "1 to 10,000"),
        (["--uetf-stall-timeout=nan"], "--uetf-stall-timeout must be"),
        (["--uetf-gate=max_failures<=1.5"], "gate 'max_failures' is a count"),
        (["--uetf-gate=pass_rate>=nan"], "needs a finite number"),
    ],
)
def test_bad_numbers_on_the_command_line_are_usage_errors(
    project: Path, args: list[str], says: str
) -> None:
    """A shard count of 10**14, a NaN timeout or a fractional count gate: exit 4, one line."""
    done = run_pytest(project, "-p", "pytest_uetf.plugin", "--uetf", *args, env=FAST)
    assert done.returncode == 4, done.stdout[-2000:] + done.stderr[-2000:]
    assert says in done.stderr
    assert "Traceback" not in done.stderr + done.stdout and "INTERNALERROR" not in done.stdout


@pytest.mark.parametrize(
    "setting", ["flush_interval = nan", "stale_after = inf", "batch_size = 100000000000000000000"]
)
def test_bad_numbers_in_pyproject_are_usage_errors(tmp_path: Path, setting: str) -> None:
    """flush_interval = nan (which once turned off every write) is refused before any test."""
    (tmp_path / "pyproject.toml").write_text(f"[tool.uetf]\n{setting}\n")
    (tmp_path / "test_a.py").write_text("def test_a():\n    pass\n")
    done = run_pytest(tmp_path, "-p", "pytest_uetf.plugin", "--uetf", env=FAST)
    assert done.returncode == 4, done.stdout[-2000:] + done.stderr[-2000:]
    assert f"key {setting.split()[0]!r} must be" in done.stderr
    assert not (tmp_path / ".ledger").exists() or "passed" not in done.stdout


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["plan", "--shards", "99999999999999"], "uetf plan --shards: the number of shards"),
        (["watch", "--interval", "nan"], "uetf watch --interval"),
        (["watch", "--timeout", "inf"], "uetf watch --timeout"),
    ],
)
def test_bad_numbers_for_uetf_are_usage_errors(tmp_path: Path, args: list[str], says: str) -> None:
    """uetf plan --shards 99999999999999 and a NaN interval: exit 4 and one line."""
    status, _, stderr = _cli(*args, "--ledger", str(tmp_path / "none.db"))
    assert status == 4
    assert says in stderr and len(stderr.strip().splitlines()) == 1


def test_an_ascii_only_output_gets_names_escaped_not_a_traceback(tmp_path: Path) -> None:
    """Test names beyond ASCII, printed by every reading command to a stream that takes
    ASCII alone (PYTHONIOENCODING=ascii, as a code-page console or a bare container may
    have): escaped, with the command's own exit status."""
    tests = (
        'import pytest\n\n\n@pytest.mark.parametrize("x", ["caf\u00e9", "\u2603"])\n'
        'def test_caf\u00e9(x):\n    assert x == "no \u2603"\n'
    )
    root = make_repo(tmp_path / "names", {"test_u.py": tests})
    done = run_pytest(root, "-p", "pytest_uetf.plugin", "--uetf", env=FAST)
    assert done.returncode == 1, done.stdout + done.stderr
    ascii_only = {"PYTHONIOENCODING": "ascii"}
    for args in (["show", "last"], ["history", "test_u"], ["runs"], ["gate", "last"]):
        shown = run_uetf(root, *args, env=ascii_only)
        assert shown.returncode in (0, 1), (args, shown.stderr)
        assert "Traceback" not in shown.stderr, args
    listed = run_uetf(root, "history", "test_u", env=ascii_only).stdout
    assert "test_caf\\xe9[\\u2603]" in listed


def test_a_project_in_a_folder_named_in_bytes_utf8_cannot_decode(tmp_path: Path) -> None:
    """A project under a folder whose name is not UTF-8 (Latin-1 bytes, as an old archive
    unpacks): the run is recorded with the folder's name escaped, no traceback, and the
    ledger reads back."""
    folder = tmp_path / os.fsdecode(b"caf\xe9")
    tests = "def test_a():\n    pass\n\n\ndef test_b():\n    assert 0\n"
    root = make_repo(folder, {"test_a.py": tests})
    # -q --tb=no: pytest itself prints the folder's bytes as they are in its header and
    # tracebacks, which this test's pipe (UTF-8) would not decode.
    done = run_pytest(root, "-p", "pytest_uetf.plugin", "--uetf", "-q", "--tb=no", env=FAST)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "INTERNALERROR" not in done.stdout and "Traceback" not in done.stderr
    assert "1 failed, 1 passed" in done.stdout
    shown = run_uetf(root, "show", "last", "--json")
    assert shown.returncode == 0, shown.stderr
    document = json.loads(shown.stdout)
    assert document["state"] == "failed" and document["exit_status"] == 1
    # Names given on the command line in such bytes: looked up, not found, one line.
    odd = os.fsdecode(b"x\xe9")
    for args in (["show", odd], ["history", odd], ["gate", odd]):
        asked = run_uetf(root, *args)
        assert asked.returncode == 4, (args, asked.stderr)
        assert "Traceback" not in asked.stderr and len(asked.stderr.strip().splitlines()) == 1
