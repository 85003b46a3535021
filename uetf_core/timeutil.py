"""Timestamps as the ledger and the schemas write them: ISO 8601, UTC."""

from __future__ import annotations

import datetime as dt


def utcnow() -> dt.datetime:
    """The current time, timezone-aware in UTC."""
    return dt.datetime.now(dt.timezone.utc)


def iso(moment: dt.datetime | float) -> str:
    """``moment`` (a datetime or a POSIX timestamp) as an ISO 8601 string in UTC."""
    if isinstance(moment, (int, float)):
        moment = dt.datetime.fromtimestamp(moment, dt.timezone.utc)
    return moment.isoformat()


def parse_iso(text: str) -> dt.datetime:
    """An ISO 8601 string written by :func:`iso` back as a datetime; a trailing ``Z``
    (UTC) is read on every supported Python, not only from 3.11."""
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    return dt.datetime.fromisoformat(text)
