"""Checks of what a run's options name, made before any test runs.

A baseline that does not exist, a diff file that cannot be read or a report
that cannot be written would otherwise be found at the end, after the whole
suite ran: each is a usage error (exit 4) as soon as the run starts.
"""

from __future__ import annotations

import os
from pathlib import Path

from uetf_core.config import RunConfig
from uetf_core.errors import ConfigError, RunNotFoundError
from uetf_core.ledger.base import Ledger


def check_options(ledger: Ledger, config: RunConfig, invocation_dir: Path) -> None:
    """Raise :class:`ConfigError` naming the first option whose target is unusable."""
    if config.baseline:
        try:
            ledger.find_run(config.baseline)
        except RunNotFoundError as exc:
            message = f"--uetf-baseline {config.baseline}: {str(exc).removeprefix('uetf: ')}"
            raise ConfigError(message) from None
    if config.diff_file:
        diff = invocation_dir / config.diff_file
        if not diff.is_file() or not os.access(diff, os.R_OK):
            why = "is not a file" if diff.exists() else "does not exist"
            raise ConfigError(f"--uetf-diff-file {config.diff_file}: {diff} {why}")
    if config.reports:
        check_report_destinations(config.reports, config.rootdir / ".ledger" / "reports")
    if config.progress_file:
        progress = invocation_dir / config.progress_file
        problem = _unwritable(progress, is_default=False)
        if problem is None and not progress.parent.is_dir():
            problem = f"the folder {progress.parent} does not exist"
        if problem:
            raise ConfigError(f"--uetf-progress {config.progress_file}: {problem}")


def check_report_destinations(specs: tuple[str, ...], default_dir: Path) -> None:
    """Each report spec is well formed and its file could be written."""
    from uetf_core.reports import STDOUT, parse_report_spec

    for text in specs:
        spec = parse_report_spec(text)
        if spec.path == STDOUT or (spec.format == "github" and spec.path is None):
            continue
        target = Path(spec.path) if spec.path else default_dir / "report"
        problem = _unwritable(target, is_default=spec.path is None)
        if problem:
            raise ConfigError(f"cannot write the {spec.format} report to {target}: {problem}")


def _unwritable(target: Path, is_default: bool) -> str | None:
    """Why ``target`` could not be written, or ``None``: it or its nearest existing folder."""
    if not is_default and target.is_dir():
        return "it is a folder; name a file"
    if not is_default and target.exists():
        return None if os.access(target, os.W_OK) else "the file is not writable"
    folder = target.parent
    while not folder.exists():
        if folder.parent == folder:
            return "no folder of its path exists"
        folder = folder.parent
    if not folder.is_dir():
        return f"{folder} is a file, not a folder"
    if not os.access(folder, os.W_OK | os.X_OK):
        return f"the folder {folder} is not writable"
    return None
