"""What a ledger location names: a PostgreSQL server, or a SQLite file.

A location is a ``postgresql://`` URL, libpq's ``keyword=value`` form, a
``sqlite:PATH``, or a file path. Anything else shaped like a URL (a scheme and
``:/``, such as ``postgresql:/u@h/db`` after a path was made of it) is refused:
a URL is a server or an error, never the name of a file, where a password
written in it would be kept on disk.
"""

from __future__ import annotations

import re
from urllib.parse import quote

from uetf_core.errors import ConfigError, LedgerError
from uetf_core.lazy_pattern import LazyPattern
from uetf_core.redact import redact

POSTGRES_SCHEMES = ("postgresql://", "postgres://")
# libpq's keyword=value form: pairs, each value quoted or up to a space.
_PAIRS = LazyPattern(r"\s*(?:[A-Za-z_]+\s*=\s*(?:'(?:[^'\\]|\\.)*'|(?:[^\s'\\]|\\.)+)\s*)+", re.S)
_KEYWORD = LazyPattern(r"(?:^|\s)([A-Za-z_]+)\s*=")
_PAIR = LazyPattern(r"([A-Za-z_]+)\s*=\s*('(?:[^'\\]|\\.)*'|(?:[^\s'\\]|\\.)+)", re.S)
# At least one of these makes a string of pairs a connection string, not a file name.
_CONNECTION_KEYS = frozenset({"host", "hostaddr", "port", "dbname", "user", "service"})


class LedgerLocationError(ConfigError, LedgerError):
    """A ledger location names no ledger UETF can open: a bad setting (exit 4), and a
    ledger that cannot be used (a ``LedgerError``) to code that opens one."""

    slug = "ledger-location"


# A scheme and ':/': the start of a URL, or of one a path joined its slashes in.
_URL_LIKE = LazyPattern(r"[A-Za-z][A-Za-z0-9+.-]+:/")


def is_postgres(location: str) -> bool:
    """Whether ``location`` names a PostgreSQL server (a URL or the keyword=value form)."""
    if location.lower().startswith(POSTGRES_SCHEMES):
        return True
    if "=" not in location or _PAIRS.fullmatch(location) is None:
        return False
    return bool(_CONNECTION_KEYS & {key.lower() for key in _KEYWORD.findall(location)})


def sqlite_path(location: str) -> str:
    """The file a SQLite location names; one line for a location that is no file."""
    if location.startswith("sqlite:"):
        return location.removeprefix("sqlite:").removeprefix("//")
    if "://" in location:
        scheme = location.split("://", 1)[0]
        message = (
            f"ledger URL scheme {scheme!r} is not supported ({redact(location)}); give a file"
            " path for a SQLite ledger or a postgresql://USER@HOST:PORT/DATABASE URL"
        )
        raise LedgerLocationError(message)
    if ":/" in location and _URL_LIKE.match(location):
        message = (
            f"ledger location {redact(location)!r} is not a valid URL (a URL needs '://');"
            " write postgresql://USER@HOST:PORT/DATABASE, or a file path"
        )
        raise LedgerLocationError(message)
    return location


def as_url(location: str) -> str:
    """A PostgreSQL location as a URL: the keyword=value form becomes the URL of the
    same parameters (``postgresql://?host=h&dbname=d``), which libpq reads alike and
    which every other part of UETF knows as a server by its ``://``."""
    if location.lower().startswith(POSTGRES_SCHEMES):
        return location
    params = []
    for key, value in _PAIR.findall(location):
        if value.startswith("'"):
            value = value[1:-1]
        value = re.sub(r"\\(.)", r"\1", value, flags=re.S)
        params.append(f"{key}={quote(value, safe='')}")
    return "postgresql://?" + "&".join(params)
