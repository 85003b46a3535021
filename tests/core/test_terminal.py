"""What UETF prints to a terminal or a CI log: data shown escaped, never obeyed."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET

import pytest

from uetf_core.terminal import INVISIBLE, inert_document, visible, visible_line


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("test_a[plain id]", "test_a[plain id]"),
        ("a\x1b[2Jb", "a\\x1b[2Jb"),  # clear screen
        ("\x1b]0;owned\x07", "\\x1b]0;owned\\x07"),  # OSC: retitle the terminal
        ("nul\x00here", "nul\\x00here"),
        ("one\ntwo\r\tthree", "one\\ntwo\\r\\tthree"),
        ("del\x7f c1\x9b nel\x85", "del\\x7f c1\\x9b nel\\x85"),
        ("abc\u202edcba\u2066x\u2069", "abc\\u202edcba\\u2066x\\u2069"),
        ("line\u2028sep", "line\\u2028sep"),
        ("x ##[error]boom", "x #\\x23[error]boom"),
        ("caf\u00e9 \u4e2d", "caf\u00e9 \u4e2d"),  # printable Unicode stays as it is
    ],
)
def test_visible_escapes_controls_bidi_and_legacy_commands(text: str, shown: str) -> None:
    """Controls, C1, bidi overrides and ``##[`` are shown as escapes; other text is unchanged."""
    assert visible(text) == shown


def test_every_invisible_character_is_escaped() -> None:
    """No character of the documented set survives visible(): U+0000-U+001F, U+007F-U+009F,
    the bidi marks, embeddings, overrides and isolates, and U+2028/U+2029."""
    chars = [chr(c) for c in [*range(0x20), *range(0x7F, 0xA0)]]
    chars += ["\u061c", "\u200e", "\u200f", "\u2028", "\u2029"]
    chars += [chr(c) for c in [*range(0x202A, 0x202F), *range(0x2066, 0x206A)]]
    for char in chars:
        assert INVISIBLE.search(visible(f"a{char}b")) is None, repr(char)
        assert len(visible(f"a{char}b").splitlines()) == 1


@pytest.mark.parametrize(
    "line",
    ["::error file=a.py,line=1::owned", "   ::warning::x", "\u3000::notice::x", "\n::error::x"],
)
def test_a_line_never_starts_as_a_workflow_command(line: str) -> None:
    """A printed line that data would start with ``::`` starts with an escaped colon."""
    out = visible_line(line)
    assert not out.lstrip().startswith("::")
    assert "::" in out  # the rest is shown as it was


def test_json_on_stdout_parses_to_the_exact_data() -> None:
    """The JSON sent to standard output is inert line by line and parses to the exact data."""
    data = {"id": "t[\x1b]0;x\x07]", "message": "::error::a\n##[error]b\x7f\u202e", "n": [1, 2]}
    text = json.dumps(data, indent=2)
    lines = inert_document("json", text)
    assert all(not line.lstrip().startswith("::") and "##[" not in line for line in lines)
    assert all(INVISIBLE.search(line) is None for line in lines)
    assert json.loads("\n".join(lines)) == data


def test_xml_on_stdout_parses_to_the_exact_data() -> None:
    """XML sent to standard output: no line is a command, and the parsed text is unchanged."""
    message = "first\n::error file=a.py::owned\n ##[set-output name=x]y \u202e\r"
    element = ET.Element("failure", message="m")
    element.text = message
    text = ET.tostring(element, encoding="unicode")
    lines = inert_document("junit", text)
    assert all(not line.lstrip().startswith("::") and "##[" not in line for line in lines)
    assert all(INVISIBLE.search(line) is None for line in lines)
    assert ET.fromstring("\n".join(lines)).text == message


def test_markdown_on_stdout_is_shown_escaped() -> None:
    """Markdown has no escape in a code block: its lines are shown as visible_line shows them."""
    lines = inert_document("markdown", "```text\n::error::x\x1b[31m\n```\n")
    assert lines == ["```text", "\\x3a:error::x\\x1b[31m", "```"]
