"""Text for a terminal or a CI log: data shown, never obeyed.

Test ids, messages, paths and every other value a run records are data,
written by whoever wrote the tests or fed their parameters. Printed as they
are, they could move the cursor or retitle the terminal (ESC and OSC
sequences), hide text (NUL, a carriage return), reorder it (bidi overrides),
or in a CI log start a line that GitHub Actions runs as a workflow command
(``::error ...::``, or ``##[command]`` anywhere in a line). Every line UETF
prints to a terminal or a CI log goes through :func:`visible_line`; a report
sent to standard output goes through :func:`inert_document`. The JSON
outputs keep the data exact: JSON escapes what it must, and the few
characters changed here are changed into JSON's, XML's or HTML's own escapes.
"""

from __future__ import annotations

import re

from uetf_core.lazy_pattern import LazyPattern

# Shown escaped, never written raw:
# - C0 controls U+0000-U+001F (tab and newline too: one value, one line) and DEL U+007F;
# - C1 controls U+0080-U+009F (U+0085 NEL ends a line; U+009B is a one-byte CSI);
# - bidi marks, embeddings, overrides and isolates: U+061C, U+200E, U+200F,
#   U+202A-U+202E, U+2066-U+2069 (they reorder what the reader sees);
# - the line and paragraph separators U+2028 and U+2029 (some readers end a line there).
INVISIBLE = LazyPattern(
    "[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]"
)
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}
# GitHub Actions' older command form, ``##[error]text``, is obeyed anywhere in a line.
LEGACY_COMMAND = "##["
# Its current form, ``::error::text``, is obeyed at the start of a line, spaces skipped.
COMMAND_START = "::"


def _escape(match: re.Match[str]) -> str:
    char = match.group()
    named = _NAMED.get(char)
    if named:
        return named
    code = ord(char)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def visible(text: object) -> str:
    """``text`` with every character of INVISIBLE shown as an escape (``\\x1b``, ``\\n``).

    ``##[`` reads ``#\\x23[`` so that no part of a line is a workflow command.
    The result is one line.
    """
    value = str(text)
    if value.isascii() and value.isprintable() and LEGACY_COMMAND not in value:
        return value  # most names and messages: nothing to do
    return INVISIBLE.sub(_escape, value).replace(LEGACY_COMMAND, "#\\x23[")


def visible_line(line: object) -> str:
    """A whole printed line: :func:`visible`, and a line that would start with ``::`` starts
    with ``\\x3a:`` instead, so that data never reads as a workflow command."""
    value = visible(line)
    return _guard_start(value, "\\x3a")


def _guard_start(line: str, colon: str) -> str:
    body = line.lstrip()
    if not body.startswith(COMMAND_START):
        return line
    at = len(line) - len(body)
    return line[:at] + colon + line[at + 1 :]


# For each report format sent to standard output: how it writes a character (by its code)
# so that a reader of the document (a JSON parser, an XML parser, a browser) still reads it.
_JSON = "\\u{:04x}".format
_ENTITY = "&#x{:x};".format
_DOCUMENT_ESCAPES = {"json": _JSON, "junit": _ENTITY, "cobertura": _ENTITY, "html": _ENTITY}


def inert_document(fmt: str, text: str) -> list[str]:
    """The lines of a report in format ``fmt`` (``json``, ``junit``, ``markdown``...) for
    standard output: none of them is a workflow command, and none holds a raw control.

    JSON, XML and HTML keep their exact content: a character of INVISIBLE, a ``#`` of
    ``##[`` and a ``:`` that would start a line become the format's own escape. Markdown
    has no escape inside a code block, so its lines go through :func:`visible_line`; the
    file written to a path is the exact document.
    """
    lines = text.split("\n")
    if lines and not lines[-1]:
        lines.pop()
    escape = _DOCUMENT_ESCAPES.get(fmt)
    if escape is None:
        return [visible_line(line) for line in lines]
    out = []
    for line in lines:
        line = INVISIBLE.sub(lambda m: escape(ord(m.group())), line)
        line = line.replace(LEGACY_COMMAND, "#" + escape(ord("#")) + "[")
        out.append(_guard_start(line, escape(ord(":"))))
    return out
