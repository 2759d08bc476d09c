"""What outside text looks like once it is safe to show."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from termkeep.terminal.display_text import safe_text
from termkeep.terminal.emulator import TITLE_MAX_LENGTH, sanitize_title


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("plain [b]brackets[/b] stay", "plain [b]brackets[/b] stay"),
        ("esc\x1b[31mred", "esc\u241b[31mred"),
        ("nul\x00bell\x07", "nul\u2400bell\u2407"),
        ("del\x7f", "del\u2421"),
        ("c1\x9b31m", "c1\ufffd31m"),
        ("tab\there", "tab here"),
        ("two\nlines", "two\u240alines"),
        ("\u202eevil\u202c tab", "evil tab"),
        ("\u2067isolate\u2069 \u200fmark", "isolate mark"),
        ("zero\u200bwidth\ufeff\u2060", "zerowidth"),
        ("family \U0001f468\u200d\U0001f469", "family \U0001f468\u200d\U0001f469"),
        ("lone \ud800 surrogate", "lone \ufffd surrogate"),
    ],
)
def test_controls_become_visible_and_bidi_tricks_go(text: str, shown: str) -> None:
    assert safe_text(text) == shown


def test_newlines_stay_where_several_lines_are_expected() -> None:
    assert safe_text("one\ntwo\r\n", multiline=True) == "one\ntwo\u240d\n"


def test_long_text_is_cut_with_an_ellipsis() -> None:
    shown = safe_text("x" * 100_000, limit=50)
    assert len(shown) == 50
    assert shown.endswith("…")


def test_a_title_loses_controls_and_bidi_and_is_capped() -> None:
    assert sanitize_title("\u202etab 2\x1b]") == "tab 2]"
    assert len(sanitize_title("t" * 10_000)) == TITLE_MAX_LENGTH


@given(st.text())
def test_nothing_unsafe_survives(text: str) -> None:
    shown = safe_text(text, limit=500)
    assert len(shown) <= 500
    assert not any(ord(c) < 0x20 or 0x7F <= ord(c) <= 0x9F for c in shown)
    assert not any(0xD800 <= ord(c) <= 0xDFFF for c in shown)
    assert not set(shown) & set("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
    shown.encode("utf-8")  # no lone surrogate left to break the outer terminal's output
