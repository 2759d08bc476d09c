"""The escape sequences of desktop notifications: one per terminal, clean text, tmux's
passthrough wrapper."""

from __future__ import annotations

import pytest

from termkeep.terminal.desktop_notify import (
    Escape,
    clean,
    escape_for,
    notification,
    tmux_passthrough,
)


@pytest.mark.parametrize(
    ("term_program", "term", "escape"),
    [
        ("iTerm.app", "xterm-256color", Escape.OSC9),
        ("WezTerm", "xterm-256color", Escape.OSC9),
        ("ghostty", "xterm-ghostty", Escape.OSC9),
        (None, "xterm-kitty", Escape.OSC99),
        (None, "foot", Escape.OSC777),
        (None, "rxvt-unicode-256color", Escape.OSC777),
        ("vscode", "xterm-256color", Escape.OSC777),
        (None, None, Escape.OSC777),
    ],
)
def test_one_escape_by_term_program_then_term(
    term_program: str | None, term: str | None, escape: Escape
) -> None:
    assert escape_for(term_program, term) is escape


def test_the_bytes_of_each_escape() -> None:
    assert notification(Escape.OSC9, "build", "output finished") == (
        "\x1b]9;build: output finished\x07"
    )
    assert notification(Escape.OSC99, "build", "bell rang") == "\x1b]99;;build: bell rang\x1b\\"
    assert notification(Escape.OSC777, "build", "bell rang") == (
        "\x1b]777;notify;build;bell rang\x1b\\"
    )


def test_a_hostile_label_cannot_end_the_sequence_or_add_a_field() -> None:
    label = "evil\x07\x1b]52;c;aGk=\x1b\\;x\u202etxt.exe" + "y" * 500
    sequence = notification(Escape.OSC777, label, "bell rang")
    body = sequence.removeprefix("\x1b]777;notify;").removesuffix("\x1b\\")
    assert "\x1b" not in body
    assert "\x07" not in body
    assert "\u202e" not in body
    assert body.count(";") == 1  # only the separator of title and body
    assert len(clean(label)) == 200


def test_inside_tmux_every_escape_is_doubled_and_wrapped() -> None:
    wrapped = tmux_passthrough("\x1b]777;notify;a;b\x1b\\")
    assert wrapped == "\x1bPtmux;\x1b\x1b]777;notify;a;b\x1b\x1b\\\x1b\\"
