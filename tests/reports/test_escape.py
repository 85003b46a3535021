"""Hostile test names and messages come out inert in every format's escaping."""

from __future__ import annotations

import re

from hypothesis import given
from hypothesis import strategies as st

from uetf_core.reports.escape import (
    html_text,
    markdown_block,
    markdown_inline,
    plain,
    workflow_data,
    workflow_property,
)

HOSTILE = [
    "test_x[a|b]",
    "test_x[<img src=x onerror=alert(1)>]",
    "test_x[@octocat please look]",
    "test_x[[click](https://evil.example/steal)]",
    "test_x[https://evil.example www.evil.example]",
    "test_x[\x1b[31mred\x1b[0m \x1b]8;;https://evil.example\x07link\x1b]8;;\x07]",
    "test_x[line\nbreak\r| --- |]",
    "test_x[``` fence]",
    "test_x[::error::injected]",
    "test_x[%0A::warning::x]",
    "test_x[#1 fixes]",
    "test_x[**bold** _em_ </details>]",
]


def test_markdown_inline_is_one_inert_line() -> None:
    for name in HOSTILE:
        out = markdown_inline(name)
        assert "\n" not in out and "\r" not in out and "\x1b" not in out
        assert re.search(r"(?<!\\)\|", out) is None  # no cell break-out
        assert "<" not in out and ">" not in out  # no raw HTML, no closing </details>
        assert re.search(r"@[A-Za-z0-9]", out) is None  # no mention
        assert re.search(r"#[0-9]", out) is None  # no issue reference
        assert "](" not in out and "://" not in out and "www." not in out  # no link
        assert "**" not in out and "```" not in out


def test_markdown_block_cannot_be_closed_from_inside() -> None:
    block = markdown_block("before\n```\n# heading\n````\nafter")
    fence = block.split("text", 1)[0]
    inner = block[len(fence) + len("text\n") : -len(fence)]
    assert len(fence) == 5 and fence not in inner
    assert block.endswith("\n" + fence)


def test_html_and_terminal_escapes() -> None:
    for name in HOSTILE:
        out = html_text(name)
        assert "<" not in out and ">" not in out and '"' not in out and "\x1b" not in out
    assert plain("\x1b[1;31mred\x1b[0m\x07") == "red"


def test_workflow_command_values() -> None:
    for name in HOSTILE:
        data = workflow_data(name)
        assert "\n" not in data and "\r" not in data
        prop = workflow_property(name)
        assert ":" not in prop and "," not in prop and "\n" not in prop
    assert workflow_data("50% done\n::error::x") == "50%25 done%0A::error::x"


@given(st.text())
def test_any_text_stays_inert(text: str) -> None:
    inline = markdown_inline(text)
    assert "\n" not in inline and "<" not in inline
    assert re.search(r"(?<!\\)\|", inline) is None
    assert "<" not in html_text(text) and "&" not in html_text(text).replace("&amp;", "").replace(
        "&lt;", ""
    ).replace("&gt;", "").replace("&quot;", "").replace("&#x27;", "")
    assert not set(workflow_property(text)) & {":", ",", "\n", "\r"}
