"""Times as UETF writes and reads them."""

from __future__ import annotations

import datetime as dt

import pytest

from uetf_core.timeutil import iso, parse_iso


@pytest.mark.parametrize(
    "text", ["2026-12-07T10:00:00Z", "2026-12-07T10:00:00z", "2026-12-07T10:00:00+00:00"]
)
def test_an_iso_time_in_utc_reads_the_same_on_every_python(text: str) -> None:
    """``Z`` for UTC, as CI systems and reports write it, reads on Python 3.10 too
    (whose datetime.fromisoformat refuses it): ``uetf runs --since``, stored documents."""
    assert parse_iso(text) == dt.datetime(2026, 12, 7, 10, tzinfo=dt.timezone.utc)


def test_a_written_time_reads_back() -> None:
    """What ``iso`` writes, ``parse_iso`` reads as the same moment."""
    assert parse_iso(iso(1_765_100_000.25)).timestamp() == 1_765_100_000.25
