"""Table-driven: every key TerminalView handles becomes the bytes xterm would send."""

from __future__ import annotations

import string

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from termkeep.terminal.emulator import Emulator
from termkeep.terminal.keys import (
    InputEncoder,
    MouseAction,
    MouseButton,
    MouseModifiers,
    parse_key,
)

CSI = "\x1b["
SS3 = "\x1bO"

# (Textual key name, Textual character, bytes in normal cursor mode, in application mode)
CURSOR_KEYS = [
    ("up", None, CSI + "A", SS3 + "A"),
    ("down", None, CSI + "B", SS3 + "B"),
    ("right", None, CSI + "C", SS3 + "C"),
    ("left", None, CSI + "D", SS3 + "D"),
    ("home", None, CSI + "H", SS3 + "H"),
    ("end", None, CSI + "F", SS3 + "F"),
    # With a modifier, both modes send the CSI 1;m form.
    ("ctrl+up", None, CSI + "1;5A", CSI + "1;5A"),
    ("shift+left", None, CSI + "1;2D", CSI + "1;2D"),
    ("alt+right", None, CSI + "1;3C", CSI + "1;3C"),
    ("ctrl+shift+home", None, CSI + "1;6H", CSI + "1;6H"),
    ("shift+end", None, CSI + "1;2F", CSI + "1;2F"),
]

FUNCTION_KEYS = [
    ("f1", SS3 + "P"),
    ("f2", SS3 + "Q"),
    ("f3", SS3 + "R"),
    ("f4", SS3 + "S"),
    ("f5", CSI + "15~"),
    ("f6", CSI + "17~"),
    ("f7", CSI + "18~"),
    ("f8", CSI + "19~"),
    ("f9", CSI + "20~"),
    ("f10", CSI + "21~"),
    ("f11", CSI + "23~"),
    ("f12", CSI + "24~"),
    ("ctrl+f1", CSI + "1;5P"),
    ("shift+f5", CSI + "15;2~"),
    ("alt+f12", CSI + "24;3~"),
]

EDITING_KEYS = [
    ("insert", CSI + "2~"),
    ("delete", CSI + "3~"),
    ("pageup", CSI + "5~"),
    ("pagedown", CSI + "6~"),
    ("shift+pageup", CSI + "5;2~"),
    ("ctrl+pagedown", CSI + "6;5~"),
    ("alt+insert", CSI + "2;3~"),
    ("ctrl+delete", CSI + "3;5~"),
    ("ctrl+shift+delete", CSI + "3;6~"),
]

# (key name, character as Textual gives it, bytes)
OTHER_KEYS = [
    ("tab", "\t", "\t"),
    ("shift+tab", None, CSI + "Z"),
    ("enter", "\r", "\r"),
    ("backspace", "\x7f", "\x7f"),
    ("ctrl+h", "\x08", "\x08"),
    ("escape", "\x1b", "\x1b"),
    ("space", " ", " "),
    ("ctrl+space", None, "\x00"),
    ("ctrl+at", None, "\x00"),
    ("ctrl+backslash", "\x1c", "\x1c"),
    ("ctrl+right_square_bracket", "\x1d", "\x1d"),
    ("ctrl+underscore", "\x1f", "\x1f"),
    ("a", "a", "a"),
    ("A", "A", "A"),
    ("exclamation_mark", "!", "!"),
    ("plus", "+", "+"),
    ("+", "+", "+"),
    ("alt++", "+", "\x1b+"),
    ("é", "é", "é"),
    ("中", "中", "中"),
    ("alt+x", "x", "\x1bx"),
    ("alt+shift+a", "A", "\x1bA"),
    ("alt+enter", None, "\x1b\r"),
    ("alt+backspace", None, "\x1b\x7f"),
    ("alt+ctrl+a", "\x01", "\x1b\x01"),
    ("ctrl+shift+a", None, "\x01"),
    # Keypad operators, as Textual names them when the host terminal tells them apart.
    ("add", "+", "+"),
    ("subtract", "-", "-"),
    ("multiply", "*", "*"),
    ("divide", "/", "/"),
    ("decimal", ".", "."),
    ("kp_begin", None, CSI + "E"),
] + [
    (f"ctrl+{letter}", None, chr(index + 1)) for index, letter in enumerate(string.ascii_lowercase)
]

MODIFIER_ONLY = ["left_shift", "right_shift", "left_control", "right_alt", "left_super", "shift"]

# Kitty keyboard protocol, flag 1 (disambiguate escape codes), as the remote enables it.
KITTY_KEYS = [
    ("a", "a", "a"),
    ("ctrl+a", "\x01", CSI + "97;5u"),
    ("alt+a", "a", CSI + "97;3u"),
    ("escape", "\x1b", CSI + "27u"),
    ("enter", "\r", "\r"),
    ("up", None, CSI + "A"),
    ("shift+tab", None, CSI + "9;2u"),
    ("f5", None, CSI + "15~"),
]


def encoder(setup: bytes = b"") -> InputEncoder:
    emulator = Emulator(80, 24, write=lambda _: None)
    emulator.feed(setup)
    return InputEncoder(emulator)


@pytest.mark.parametrize(("name", "character", "normal", "application"), CURSOR_KEYS)
def test_cursor_keys_in_both_cursor_modes(
    name: str, character: str | None, normal: str, application: str
) -> None:
    assert encoder().key(name, character) == normal.encode()
    assert encoder(b"\x1b[?1h").key(name, character) == application.encode()


@pytest.mark.parametrize(("name", "expected"), FUNCTION_KEYS + EDITING_KEYS)
def test_function_and_editing_keys(name: str, expected: str) -> None:
    assert encoder().key(name, None) == expected.encode()


@pytest.mark.parametrize(("name", "character", "expected"), OTHER_KEYS)
def test_text_control_and_alt_keys(name: str, character: str | None, expected: str) -> None:
    assert encoder().key(name, character) == expected.encode()


@pytest.mark.parametrize("name", MODIFIER_ONLY)
def test_modifier_only_keys_send_nothing(name: str) -> None:
    assert parse_key(name, None) is None
    assert encoder().key(name, None) == b""


@pytest.mark.parametrize(("name", "character", "expected"), KITTY_KEYS)
def test_kitty_protocol_when_the_remote_enables_it(
    name: str, character: str | None, expected: str
) -> None:
    assert encoder(b"\x1b[>1u").key(name, character) == expected.encode()


def test_kitty_protocol_off_again_after_the_remote_pops_it() -> None:
    keys = encoder(b"\x1b[>1u\x1b[<u")
    assert keys.key("ctrl+a", "\x01") == b"\x01"
    assert keys.key("escape", "\x1b") == b"\x1b"


def test_paste_is_bracketed_only_when_the_remote_asks() -> None:
    assert encoder().paste("a\nb") == b"a\rb"
    assert encoder(b"\x1b[?2004h").paste("a\nb") == b"\x1b[200~a\nb\x1b[201~"


def test_paste_cannot_end_the_bracket_early() -> None:
    pasted = encoder(b"\x1b[?2004h").paste("x\x1b[201~rm -rf /\n")
    assert pasted.count(b"\x1b[201~") == 1
    assert pasted.endswith(b"\x1b[201~")


def test_mouse_is_silent_until_the_remote_tracks_it() -> None:
    keys = encoder()
    assert keys.mouse(MouseAction.PRESS, 3, 1, MouseButton.LEFT) == b""


def test_mouse_normal_tracking_x10_encoding() -> None:
    keys = encoder(b"\x1b[?1000h")
    assert keys.mouse(MouseAction.PRESS, 3, 1, MouseButton.LEFT) == b'\x1b[M $"'
    # 1000 reports no motion, even with a button held.
    assert keys.mouse(MouseAction.MOTION, 4, 1, MouseButton.LEFT) == b""


def test_mouse_sgr_press_release_wheel_and_modifiers() -> None:
    keys = encoder(b"\x1b[?1000h\x1b[?1006h")
    assert keys.mouse(MouseAction.PRESS, 3, 1, MouseButton.LEFT) == CSI.encode() + b"<0;4;2M"
    assert keys.mouse(MouseAction.RELEASE, 3, 1, MouseButton.LEFT) == CSI.encode() + b"<0;4;2m"
    assert keys.mouse(MouseAction.PRESS, 0, 0, MouseButton.WHEEL_UP) == CSI.encode() + b"<64;1;1M"
    assert keys.mouse(MouseAction.PRESS, 0, 0, MouseButton.WHEEL_DOWN) == (
        CSI.encode() + b"<65;1;1M"
    )
    ctrl = MouseModifiers(ctrl=True)
    assert keys.mouse(MouseAction.PRESS, 0, 0, MouseButton.RIGHT, ctrl) == (
        CSI.encode() + b"<18;1;1M"
    )


def test_mouse_button_motion_only_while_a_button_is_held() -> None:
    keys = encoder(b"\x1b[?1002h\x1b[?1006h")
    assert keys.mouse(MouseAction.MOTION, 5, 1) == b""
    keys.mouse(MouseAction.PRESS, 4, 1, MouseButton.LEFT)
    assert keys.mouse(MouseAction.MOTION, 5, 1, MouseButton.LEFT) == CSI.encode() + b"<32;6;2M"
    keys.mouse(MouseAction.RELEASE, 5, 1, MouseButton.LEFT)
    assert keys.mouse(MouseAction.MOTION, 6, 1) == b""


def test_mouse_any_motion() -> None:
    keys = encoder(b"\x1b[?1003h\x1b[?1006h")
    assert keys.mouse(MouseAction.MOTION, 5, 1) == CSI.encode() + b"<35;6;2M"


@given(st.text(max_size=30), st.one_of(st.none(), st.text(max_size=3)))
def test_any_key_description_encodes_without_error(name: str, character: str | None) -> None:
    # The property is that nothing raises: Textual may hand us names we have never seen.
    data = encoder().key(name, character)
    assert isinstance(data, bytes)


@given(st.characters(categories=["L", "N", "P", "S"]))
@example("+")
def test_any_printable_character_types_itself(character: str) -> None:
    assert encoder().key(character, character) == character.encode()
