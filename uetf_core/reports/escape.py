"""Test names, parameters, messages and paths are data: make them inert in each format.

A test id is chosen by whoever writes the test, parametrised ids by whatever
data feeds them; none of it may add markup, mentions, links, terminal control
or workflow commands to a report.
"""

from __future__ import annotations

import html
import re

from uetf_core.terminal import visible

# CSI and OSC sequences and any other ESC-introduced pair, as terminals read them.
_ANSI = re.compile(r"\x1b(?:\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(?:\x07|\x1b\\)|[@-Z\\-_])")
# C0 and C1 controls other than tab and newline, plus DEL.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
# Bidi marks, embeddings, overrides, isolates and the Unicode line separators: a browser
# would reorder or break the text around them, so reports show them as escapes (\u202e).
_REORDERING = re.compile("[\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]")
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]()+\-.!|~<>&\"'=:])")
# An invisible word joiner after @ and # and inside ://, www. stops GitHub
# from turning a name into a mention, an issue reference or a link.
_WORD_JOINER = "\u2060"
_AUTOLINK = re.compile(r"(?i)(://|www\.)")


def plain(text: object) -> str:
    """``text`` without terminal escapes or control characters (newlines and tabs kept),
    and with bidi and line-separator characters shown as escapes."""
    value = _CONTROL.sub("", _ANSI.sub("", str(text)))
    return _REORDERING.sub(lambda m: visible(m.group()), value)


def markdown_inline(text: object, limit: int | None = None) -> str:
    """``text`` as inert inline markdown: one line, every markup character escaped.

    Safe inside a table cell and in a ``<summary>``. ``limit`` shortens the text
    before escaping, so an escape is never cut in half.
    """
    value = " ".join(plain(text).split())
    if limit is not None and len(value) > limit:
        value = value[: limit - 1] + "…"
    value = _MARKDOWN_SPECIAL.sub(_escape_char, value)
    value = _AUTOLINK.sub(lambda m: m.group(1)[0] + _WORD_JOINER + m.group(1)[1:], value)
    return value.replace("@", "@" + _WORD_JOINER).replace("#", "#" + _WORD_JOINER)


def _escape_char(match: re.Match[str]) -> str:
    char = match.group(1)
    # HTML-significant characters as entities (GitHub passes some inline HTML
    # through); the pipe escaped so it cannot end a table cell; the rest with
    # a backslash, which CommonMark allows before any ASCII punctuation.
    return {"<": "&lt;", ">": "&gt;", "&": "&amp;", '"': "&quot;", "|": "\\|"}.get(
        char, "\\" + char
    )


def markdown_block(text: object) -> str:
    """``text`` (a traceback, say) as a fenced code block that its content cannot close."""
    value = plain(text).replace("\r\n", "\n").replace("\r", "\n")
    longest = max((len(run) for run in re.findall(r"`+|~+", value)), default=0)
    fence = "`" * max(3, longest + 1)
    return f"{fence}text\n{value}\n{fence}"


def html_text(text: object) -> str:
    """``text`` for an HTML element's content or a quoted attribute value."""
    return html.escape(plain(text), quote=True)


def workflow_data(text: object) -> str:
    """A GitHub workflow command's message, escaped as the runner expects.

    Its lines are kept (``%0A``); any other control character, a bidi override or a
    ``##[`` is shown escaped (``\x1b``), as on every line UETF prints to a CI log.
    """
    lines = str(text).replace("\r\n", "\n").split("\n")
    return "%0A".join(visible(line).replace("%", "%25") for line in lines)


def workflow_property(text: object) -> str:
    """A GitHub workflow command's property value (file, title): also ``:`` and ``,``."""
    return workflow_data(text).replace(":", "%3A").replace(",", "%2C")
