"""The errors UETF raises on bad input, each with one line and one exit code.

The plugin turns them into ``pytest.UsageError`` or ``pytest.exit``; the CLI
prints the message and returns ``exit_code``. Nothing above them prints a
traceback for a mistake a user can fix.
"""

from __future__ import annotations

from typing import ClassVar

from uetf_core.exitcodes import ExitCode


class UetfError(Exception):
    """Base of every error UETF reports to a user; ``slug`` names its kind."""

    slug: ClassVar[str] = "error"
    exit_code: ClassVar[int] = ExitCode.INTERNAL_ERROR

    def __str__(self) -> str:
        return f"uetf: {self.args[0] if self.args else self.slug}"


class ConfigError(UetfError):
    """A configuration key or value is wrong (pyproject.toml, options, env)."""

    slug = "config"
    exit_code = ExitCode.USAGE_ERROR


class GateSpecError(ConfigError):
    """A gate declaration names an unknown gate, operator or value."""

    slug = "gate-spec"


class LedgerError(UetfError):
    """The ledger cannot be used: not a ledger, corrupt, newer, unreachable."""

    slug = "ledger"
    exit_code = ExitCode.LEDGER_REFUSED


class LedgerUnreachableError(LedgerError):
    """A ledger server (PostgreSQL) could not be reached, after retrying."""

    slug = "ledger-unreachable"


class LedgerCorruptError(LedgerError):
    """The ledger file is damaged (SQLite reports it malformed); nothing is written to it."""

    slug = "ledger-corrupt"


class LedgerFullError(LedgerError):
    """The disk (or the file's size limit) holding the ledger is full."""

    slug = "ledger-full"


class LedgerReadOnlyError(LedgerError):
    """A command that writes met a ledger on read-only media or without write permission."""

    slug = "ledger-read-only"


class LedgerLockedError(LedgerError):
    """Another process held the ledger's write lock for longer than the busy timeout."""

    slug = "ledger-locked"


class LedgerAccessError(LedgerError):
    """The ledger file or its folder cannot be read or created: permission denied."""

    slug = "ledger-access"


class LedgerSettingError(ConfigError, LedgerError):
    """The ledger setting names no usable place: an unknown URL scheme, a path under a file.

    A bad setting, so a usage error (exit 4), though it is found where the ledger opens.
    """

    slug = "ledger-setting"
    exit_code = ExitCode.USAGE_ERROR


class RunNotFoundError(UetfError):
    """A run id or reference given on the command line matches no run."""

    slug = "run-not-found"
    exit_code = ExitCode.USAGE_ERROR


class TransitionError(UetfError):
    """A state machine was asked for a move its transition table forbids."""

    slug = "transition"


class SchemaValidationError(UetfError):
    """A record or document does not validate against its schema."""

    slug = "schema"
