"""A LazyPattern compiles on first use and answers as the compiled pattern does."""

from __future__ import annotations

import re

from uetf_core.lazy_pattern import LazyPattern
from uetf_core.ledger.location import is_postgres, sqlite_path
from uetf_core.redact import redact


def test_compiled_at_first_use_only() -> None:
    lazy = LazyPattern(r"(a+)(b?)", re.I)
    assert lazy._compiled is None
    assert lazy.match("AAb") is not None
    assert lazy._compiled is re.compile(r"(a+)(b?)", re.I)


def test_answers_as_re_does() -> None:
    pattern, text = r"([a-z]+)=(\d+)", "x=1 yy=22 z=q"
    lazy, compiled = LazyPattern(pattern), re.compile(pattern)
    assert lazy.findall(text) == compiled.findall(text)
    assert lazy.sub(r"\2=\1", text) == compiled.sub(r"\2=\1", text)
    assert lazy.sub(lambda m: m.group(1).upper(), text) == "X YY z=q"
    assert lazy.search(text).group(0) == "x=1"  # type: ignore[union-attr]
    assert lazy.fullmatch("ab=3") is not None and lazy.fullmatch("ab=3 ") is None


def test_plain_locations_skip_the_patterns_and_read_the_same() -> None:
    for location in (".ledger/uetf.db", "/tmp/a b/uetf.db", "C:\\ledger\\uetf.db"):
        assert redact(location) == location
        assert not is_postgres(location)
        assert sqlite_path(location) == location
    assert is_postgres("host=db dbname=uetf")
    assert redact("postgresql://u:secret@h/db") == "postgresql://u:***@h/db"
