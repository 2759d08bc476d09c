"""Terminal output as the plain text a session log keeps."""

from __future__ import annotations

import pytest

from termkeep.terminal.plain_output import PlainOutput


@pytest.mark.parametrize(
    ("chunks", "text"),
    [
        ([b"\x1b[1;31mred\x1b[0m plain\r\n"], "red plain\n"),
        ([b"\x1b]2;a title\x07after"], "after"),
        ([b"\x1b]8;;http://x\x1b\\link\x1b]8;;\x1b\\"], "link"),
        ([b"\x1bP+q544e\x1b\\dcs gone"], "dcs gone"),
        ([b"a\x1b", b"[K", b"b\x1b[", b"2J c"], "ab c"),
        ([b"caf\xc3", b"\xa9 \xff"], "café \ufffd"),
        ([b"bell\x07 nul\x00 tab\tend\x7f"], "bell nul tab\tend"),
        ([b"\x1b(Bcharset \x1b=keypad"], "charset keypad"),
    ],
)
def test_escapes_go_text_stays_even_split_across_reads(chunks: list[bytes], text: str) -> None:
    stripper = PlainOutput()
    assert "".join(stripper.feed(chunk) for chunk in chunks) == text
