"""What a run's options name is checked before any test runs; a usage error otherwise."""

from __future__ import annotations

from pathlib import Path

import pytest

from uetf_core.config import CliOptions, resolve_config
from uetf_core.errors import ConfigError
from uetf_core.ledger import open_ledger
from uetf_core.preflight import check_options
from uetf_core.run import RunRecorder
from uetf_core.states import RunState


def config_for(root: Path, **cli: object):  # type: ignore[no-untyped-def]
    return resolve_config(root, {}, CliOptions(**cli), env={})  # type: ignore[arg-type]


def test_options_naming_what_exists_pass(tmp_path: Path) -> None:
    """A recorded baseline, a readable diff and writable report paths raise nothing."""
    config = config_for(tmp_path)
    ledger = open_ledger(config.ledger)
    recorder = RunRecorder(ledger, config)
    recorder.start()
    (tmp_path / "change.diff").write_text("")
    fine = config_for(
        tmp_path,
        baseline=recorder.run_id,
        diff_file="change.diff",
        reports=("markdown", "json:out/deep/r.json", "github", "markdown:-"),
    )
    check_options(ledger, fine, tmp_path)
    ledger.close()


@pytest.mark.parametrize(
    ("option", "value", "said"),
    [
        ("baseline", "no-such-run", "--uetf-baseline no-such-run: no run"),
        ("diff_file", "missing.diff", "missing.diff does not exist"),
        ("diff_file", "folder", "is not a file"),
        ("reports", ("markdown:{root}/a-file/pr.md",), "a-file is a file, not a folder"),
        ("reports", ("html:{root}/folder",), "it is a folder; name a file"),
        ("progress_file", "no/such/folder/p.json", "no/such/folder does not exist"),
        ("progress_file", "a-file/p.json", "a-file is a file, not a folder"),
    ],
)
def test_options_naming_what_is_missing_are_usage_errors(
    tmp_path: Path, option: str, value: object, said: str
) -> None:
    """Each option whose target is missing or unusable is one line naming it."""
    (tmp_path / "a-file").write_text("")
    (tmp_path / "folder").mkdir()
    if isinstance(value, tuple):  # report paths are read from the working folder
        value = tuple(text.format(root=tmp_path) for text in value)
    config = config_for(tmp_path, **{"progress" if option == "progress_file" else option: value})
    ledger = open_ledger(config.ledger)
    with pytest.raises(ConfigError) as raised:
        check_options(ledger, config, tmp_path)
    ledger.close()
    assert said in str(raised.value) and "\n" not in str(raised.value)


def test_an_aborted_run_and_an_amended_exit_are_recorded(tmp_path: Path) -> None:
    """A run stopped at its start ends errored with the error's exit status; an exit status
    changed after the verdict is the one the ledger keeps."""
    config = config_for(tmp_path)
    ledger = open_ledger(config.ledger)
    stopped = RunRecorder(ledger, config)
    stopped.start()
    stopped.abort("--uetf-baseline x: no run", 4)
    stopped.abort("again", 3)  # a second stop changes nothing
    run = ledger.find_run(stopped.run_id)
    assert (run["state"], run["exit_status"], run["end_reason"]) == (
        "errored",
        4,
        "--uetf-baseline x: no run",
    )
    judged = RunRecorder(ledger, config)
    judged.start()
    judged.transition(RunState.COLLECTING)
    outcome = judged.finish(0)
    assert outcome.exit_status == 0
    judged.amend_exit_status(4, "cannot write the markdown report to out/pr.md")
    run = ledger.find_run(judged.run_id)
    assert run["exit_status"] == 4 and run["end_reason"].startswith("cannot write")
    ledger.close()
