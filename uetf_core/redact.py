"""Secrets out of what UETF prints or stores: a ledger location's passwords.

A PostgreSQL connection string carries a secret three ways, and each is masked
with ``***``: the password of a URL's user (``postgresql://user:SECRET@host``),
a ``password`` or ``sslpassword`` parameter of a URL's query (its name in any
case or percent-encoded, as libpq decodes it), and the same keywords in the
``keyword=value`` form (``host=h password='a b'``). ``passfile`` names a file,
not a secret, and is kept. The redacted location is what goes to the terminal,
logs, reports and the ledger; only the connection itself sees the original.
"""

from __future__ import annotations

import re
from urllib.parse import unquote

from uetf_core.lazy_pattern import LazyPattern

MASK = "***"
# The connection parameters whose value is a secret.
SECRET_KEYS = frozenset({"password", "sslpassword"})
# A URL's scheme; one slash too, as a URL made into a path reads (postgresql:/u:pw@h).
_SCHEME = LazyPattern(r"[A-Za-z][A-Za-z0-9+.-]+:/{1,2}")
# keyword = value, the value single-quoted (with backslash escapes) or up to a space.
_KEYWORD = LazyPattern(
    r"([A-Za-z_%0-9]+)(\s*=\s*)('(?:[^'\\]|\\.)*(?:'|$)|(?:[^\s'\\]|\\.)*)", re.S
)
# Secrets shorter than this are not searched for in free text (a message):
# a one-letter password would otherwise mask every such letter of the message.
_SHORTEST_SCRUBBED = 4


def redact(location: str) -> str:
    """``location`` without its secrets: safe for output, logs, reports and the ledger."""
    return _rewrite(location, [])


def secrets_of(location: str) -> list[str]:
    """The secret values ``location`` holds, as written and as decoded."""
    found: list[str] = []
    _rewrite(location, found)
    values = {*found, *(unquote(value) for value in found)}
    return sorted((value for value in values if value), key=len, reverse=True)


def scrub(text: str, location: str) -> str:
    """``text`` (an error message about ``location``) with the location redacted and
    every secret of it masked wherever the message repeats it."""
    text = text.replace(location, redact(location))
    for secret in secrets_of(location):
        if len(secret) >= _SHORTEST_SCRUBBED:
            text = text.replace(secret, MASK)
    return text


def _rewrite(location: str, found: list[str]) -> str:
    """The redacted location; each masked value is appended to ``found``."""
    scheme = _SCHEME.match(location) if ":/" in location else None  # a plain path: no regex
    if scheme is None:
        return _keywords(location, found)
    head, rest = location[: scheme.end()], location[scheme.end() :]
    # libpq reads the user's part up to an '@' met before the first '/'; the last
    # such '@' is taken, so that a password holding '@' or '?' is masked whole.
    authority_end = rest.find("/")
    authority = rest if authority_end < 0 else rest[:authority_end]
    at = authority.rfind("@")
    if at >= 0:
        user, colon, password = rest[:at].partition(":")
        if colon:
            found.append(password)
            rest = f"{user}:{MASK}{rest[at:]}"
    query_at = rest.find("?")
    if query_at >= 0:
        rest = rest[: query_at + 1] + _query(rest[query_at + 1 :], found)
    return head + rest


def _query(query: str, found: list[str]) -> str:
    params = []
    for param in query.split("&"):
        key, equals, value = param.partition("=")
        if equals and _is_secret(key):
            found.append(value)
            value = MASK
        params.append(key + equals + value)
    return "&".join(params)


def _keywords(location: str, found: list[str]) -> str:
    """The ``keyword=value`` form; a plain file path passes unchanged."""
    if "=" not in location:
        return location

    def mask(match: re.Match[str]) -> str:
        key, equals, value = match.groups()
        if not _is_secret(key):
            return match.group(0)
        found.append(_unquoted(value))
        found.append(value)
        return f"{key}{equals}{MASK}"

    return _KEYWORD.sub(mask, location)


def _is_secret(key: str) -> bool:
    """Whether a parameter's value is a secret: libpq's password keywords, and (masked
    rather than shown) a misspelling of them, which libpq refuses by name."""
    name = unquote(key).strip().lower()
    if name in SECRET_KEYS:
        return True
    return name != "passfile" and ("pass" in name or "pwd" in name)


def _unquoted(value: str) -> str:
    """A value of the keyword form as libpq reads it: quotes off, escapes resolved."""
    if value.startswith("'"):
        value = value[1:-1] if value.endswith("'") and len(value) > 1 else value[1:]
    return re.sub(r"\\(.)", r"\1", value, flags=re.S)
