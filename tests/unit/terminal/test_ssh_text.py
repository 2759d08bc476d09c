"""Server text as ssh prints it: controls in octal, printable UTF-8 and line ends kept."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from termkeep.terminal.ssh_text import ssh_visible, ssh_visible_bytes

_UNSAFE = {*range(0x00, 0x09), *range(0x0B, 0x20), *range(0x7F, 0xA0)}
_BIDI = {*range(0x202A, 0x202F), *range(0x2066, 0x206A)}


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("plain text \\ and [brackets]", "plain text \\ and [brackets]"),
        ("clear\x1b[2J", "clear\\033[2J"),
        ("title\x1b]2;pwned\x07", "title\\033]2;pwned\\007"),
        ("clip\x1b]52;c;ZXZpbA==\x1b\\", "clip\\033]52;c;ZXZpbA==\\033\\"),
        ("nul\x00del\x7f", "nul\\000del\\177"),
        ("c1 csi\x9b2J", "c1 csi\\302\\2332J"),
        ("c1 osc\x9d0;x\x9c", "c1 osc\\302\\2350;x\\302\\234"),
        ("tab\tand\nlines", "tab\tand\nlines"),
        ("crlf\r\nline", "crlf\nline"),
        ("lone\rreturn", "lone\\015return"),
        (
            "caf\u00e9 \u65e5\u672c \U0001f468\u200d\U0001f469",
            "caf\u00e9 \u65e5\u672c \U0001f468\u200d\U0001f469",
        ),
        ("\u202eevil\u202c", "\\342\\200\\256evil\\342\\200\\254"),
        ("lone \ud800", "lone \\355\\240\\200"),
    ],
)
def test_controls_show_in_octal_and_printable_text_stays(text: str, shown: str) -> None:
    assert ssh_visible(text) == shown


def test_a_multi_line_banner_still_reads_as_lines() -> None:
    banner = "Welcome to \x1b[1mprod\x1b[0m\r\nAuthorised users only\r\n"
    assert ssh_visible(banner).splitlines() == [
        "Welcome to \\033[1mprod\\033[0m",
        "Authorised users only",
    ]


def test_bytes_that_are_not_utf8_show_as_their_octal() -> None:
    assert ssh_visible_bytes(b"bad \xff\xfe and \xc2\x9b") == "bad \\377\\376 and \\302\\233"
    assert ssh_visible_bytes("ok \u00e9".encode()) == "ok \u00e9"


@given(st.text())
def test_nothing_that_drives_a_terminal_survives(text: str) -> None:
    shown = ssh_visible(text)
    assert not {ord(character) for character in shown} & (_UNSAFE | _BIDI)
    assert not any(0xD800 <= ord(character) <= 0xDFFF for character in shown)
    assert "\r" not in shown


@given(
    st.text(
        st.characters(
            exclude_categories=["Cc", "Cs"],
            exclude_characters="\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069",
        )
    )
)
def test_text_without_controls_is_unchanged(text: str) -> None:
    assert ssh_visible(text) == text


@given(st.binary())
def test_any_bytes_come_out_safe(data: bytes) -> None:
    shown = ssh_visible_bytes(data)
    assert not {ord(character) for character in shown} & (_UNSAFE | _BIDI)
    assert shown.encode("utf-8").decode("utf-8") == shown  # no lone surrogate left
