"""Shared by the ``uetf`` subcommands: finding and opening the ledger, printing."""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import time
from pathlib import Path

from uetf_core.config import (
    DEFAULT_LEDGER,
    LEDGER_ENV,
    check_number,
    read_pyproject,
    resolve_ledger_location,
)
from uetf_core.errors import (
    LedgerFullError,
    LedgerLockedError,
    LedgerReadOnlyError,
    UetfError,
)
from uetf_core.exitcodes import ExitCode
from uetf_core.ids import host_name
from uetf_core.ledger import SCHEMA_VERSION, Ledger, open_ledger
from uetf_core.ledger.sqlite import SqliteLedger
from uetf_core.terminal import inert_document, visible_line


class NoLedgerError(UetfError):
    """The command reads a ledger and there is none where it looked."""

    slug = "no-ledger"
    exit_code = ExitCode.USAGE_ERROR


def _project_root(start: Path) -> Path | None:
    for folder in (start, *start.parents):
        if (folder / "pyproject.toml").is_file() or (folder / DEFAULT_LEDGER).is_file():
            return folder
    return None


def locate_ledger(explicit: str | None, cwd: Path | None = None) -> tuple[str, float]:
    """Where the ledger is, with the project's ``stale_after``; same defaults as the plugin."""
    cwd = cwd or Path.cwd()
    root = _project_root(cwd) or cwd
    table, _ = read_pyproject(root)
    where = f"{root / 'pyproject.toml'} [tool.uetf]"
    stale_after = check_number("stale_after", table.get("stale_after", 3600.0), where)
    raw = explicit or os.environ.get(LEDGER_ENV) or table.get("ledger") or DEFAULT_LEDGER
    base = cwd if (explicit or os.environ.get(LEDGER_ENV)) else root
    return resolve_ledger_location(str(raw), base), stale_after


def ledger_for(args: argparse.Namespace, check: str = "run") -> Ledger:
    """The ledger a command works on, checked for damage as the command needs.

    ``check`` is "run" for a command that only reads: a ledger this user cannot
    write (read-only media, say) is then opened read-only, its stale runs left for
    a writer to mark. "whole" is for a command that deletes: every page is checked
    before anything is written.
    """
    location, stale_after = locate_ledger(args.ledger)
    if "://" in location:
        ledger = open_ledger(location)
        if check == "whole":
            ledger.check_whole()
    else:
        path = Path(location.removeprefix("sqlite:").removeprefix("//"))
        if not path.exists():
            message = f"no ledger at {location}; run 'pytest --uetf' first or pass --ledger PATH"
            raise NoLedgerError(message)
        if check == "run" and not writable(path):
            return _read_only(path)
        try:
            ledger = SqliteLedger(path, check=check)
        except LedgerFullError:
            if check != "run":
                raise
            return _read_only(path)  # a full disk: reading needs no room
    if check == "whole":
        ledger.reap_abandoned(host_name(), time.time(), stale_after)
        return ledger
    # Marking stale runs is a courtesy of a reading command: a lock held by a run,
    # or media that turned read-only, must not stop it from showing the ledger.
    with contextlib.suppress(LedgerLockedError, LedgerReadOnlyError):
        ledger.reap_abandoned(host_name(), time.time(), stale_after)
    return ledger


def writable(path: Path) -> bool:
    return os.access(path, os.W_OK) and os.access(path.parent, os.W_OK)


def _read_only(path: Path) -> SqliteLedger:
    """A ledger this user cannot write, opened to read; it must already be current."""
    ledger = SqliteLedger(path, read_only=True, check="none")
    if ledger.version != SCHEMA_VERSION:
        ledger.close()
        message = (
            f"{path}: the ledger has schema version {ledger.version} and needs upgrading to "
            f"{SCHEMA_VERSION}, which cannot be done where it is not writable: run a uetf "
            "command once where the file and its folder are writable"
        )
        raise LedgerReadOnlyError(message)
    return ledger


def print_json(document: object) -> None:
    """A JSON document on standard output: strict JSON (no NaN), inert in a CI log."""
    text = json.dumps(document, indent=2, sort_keys=False, allow_nan=False)
    for line in inert_document("json", text):
        print(line)


def say(line: str = "") -> None:
    """One line for the terminal: recorded data in it shown escaped, never obeyed."""
    print(visible_line(line))


def seconds(value: float | None) -> str:
    """Seconds for a person: ``850 ms``, ``1.14 s``, ``2.5 min``."""
    if value is None:
        return "-"
    if value < 1:
        if value == 0 or value >= 0.0095:
            return f"{value * 1000:.0f} ms"
        return f"{value * 1000:.1f} ms"
    if value < 60:
        return f"{value:.2f} s"
    return f"{value / 60:,.1f} min"
