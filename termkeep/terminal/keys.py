"""Input encoding: key, mouse and paste events become the bytes an xterm-like terminal sends.

The ui layer describes a key only as Textual does (`event.key` such as "ctrl+shift+home",
and `event.character`); this module turns that into a physical key plus modifiers for
the engine's encoder, which follows the remote's modes (cursor-key and keypad application
mode, modifyOtherKeys, the kitty keyboard protocol) afresh for every event.

Keypad keys reach the encoder only when Textual names them apart from the main keyboard
(the kitty protocol on the host terminal); the encoder then follows keypad mode as Ghostty
does. Without the kitty protocol, ctrl+letter keys go out as the C0 bytes xterm sends.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from enum import Enum

import evp

from termkeep.terminal.emulator import Emulator

_MODIFIER_NAMES = {
    "shift": evp.Mods.SHIFT,
    "ctrl": evp.Mods.CTRL,
    "alt": evp.Mods.ALT,
    "meta": evp.Mods.ALT,  # terminals send meta as alt (ESC prefix)
    "super": evp.Mods.SUPER,
    "hyper": evp.Mods(0),  # no terminal encoding has hyper
}

# Keys that are modifiers themselves: pressing one alone sends nothing.
MODIFIER_KEYS = (
    frozenset(
        f"{side}_{name}"
        for side in ("left", "right")
        for name in ("shift", "control", "alt", "super", "hyper", "meta")
    )
    | {"shift", "ctrl", "control", "alt", "meta", "super", "hyper"}
    | {
        "iso_level3_shift",
        "iso_level5_shift",
        "caps_lock",
        "num_lock",
        "scroll_lock",
    }
)

_NAMED_KEYS: dict[str, evp.Key] = {
    "up": evp.Key.ARROW_UP,
    "down": evp.Key.ARROW_DOWN,
    "left": evp.Key.ARROW_LEFT,
    "right": evp.Key.ARROW_RIGHT,
    "home": evp.Key.HOME,
    "end": evp.Key.END,
    "pageup": evp.Key.PAGE_UP,
    "pagedown": evp.Key.PAGE_DOWN,
    "insert": evp.Key.INSERT,
    "delete": evp.Key.DELETE,
    "escape": evp.Key.ESCAPE,
    "enter": evp.Key.ENTER,
    "return": evp.Key.ENTER,
    "tab": evp.Key.TAB,
    "backspace": evp.Key.BACKSPACE,
    # Textual names these keypad keys apart from their main-keyboard twins.
    "decimal": evp.Key.NUMPAD_DECIMAL,
    "divide": evp.Key.NUMPAD_DIVIDE,
    "multiply": evp.Key.NUMPAD_MULTIPLY,
    "subtract": evp.Key.NUMPAD_SUBTRACT,
    "add": evp.Key.NUMPAD_ADD,
    "separator": evp.Key.NUMPAD_SEPARATOR,
    "kp_begin": evp.Key.NUMPAD_BEGIN,
} | {f"f{number}": evp.Key[f"F{number}"] for number in range(1, 25)}

# What the keypad's operator keys type; the encoder sends nothing for them without it.
_KEYPAD_TEXT = {
    "decimal": ".",
    "divide": "/",
    "multiply": "*",
    "subtract": "-",
    "add": "+",
    "separator": ",",
}

NO_MODS = evp.Mods(0)
_NAMED_KEY_SET = frozenset(_NAMED_KEYS.values())

# Textual's names for characters whose Unicode names it shortens.
_CHARACTER_NAMES = {
    "space": " ",
    "slash": "/",
    "backslash": "\\",
    "at": "@",
    "minus": "-",
    "plus": "+",
    "underscore": "_",
    "newline": "\n",
}

# Where each ASCII character sits on a US keyboard: (physical key, shifted?). The kitty
# protocol reports the physical key's unshifted character, so this is needed for it.
_PUNCTUATION_KEYS: dict[str, evp.Key] = {
    "`": evp.Key.BACKQUOTE,
    "\\": evp.Key.BACKSLASH,
    "[": evp.Key.BRACKET_LEFT,
    "]": evp.Key.BRACKET_RIGHT,
    ",": evp.Key.COMMA,
    "=": evp.Key.EQUAL,
    "-": evp.Key.MINUS,
    ".": evp.Key.PERIOD,
    "'": evp.Key.QUOTE,
    ";": evp.Key.SEMICOLON,
    "/": evp.Key.SLASH,
    " ": evp.Key.SPACE,
}
_SHIFTED_TO_UNSHIFTED = dict(zip('~!@#$%^&*()_+{}|:"<>?', "`1234567890-=[]\\;',./", strict=True))


@dataclass(frozen=True, slots=True)
class KeyPress:
    """A key event in the engine's terms: physical key, modifiers and typed text."""

    key: evp.Key
    mods: evp.Mods
    consumed_mods: evp.Mods = NO_MODS
    text: str | None = None
    unshifted: str | None = None


def parse_key(name: str, character: str | None) -> KeyPress | None:
    """Turn Textual's key name and character into a KeyPress; None for modifier-only keys."""
    if name.endswith("+"):  # the plus key itself, perhaps with modifiers ("ctrl++")
        *modifier_names, base = [*name[:-1].split("+")[:-1], "+"]
    else:
        *modifier_names, base = name.split("+")
    if base in MODIFIER_KEYS or not base:
        return None
    mods = evp.Mods(0)
    for modifier in modifier_names:
        mods |= _MODIFIER_NAMES.get(modifier, evp.Mods(0))
    if base in _NAMED_KEYS:
        return KeyPress(_NAMED_KEYS[base], mods, text=_KEYPAD_TEXT.get(base))
    typed = _character_of(base, character)
    if typed is None:
        return None
    return _character_press(typed, mods)


def _character_of(base: str, character: str | None) -> str | None:
    if len(base) == 1:
        return base
    if base in _CHARACTER_NAMES:
        return _CHARACTER_NAMES[base]
    try:
        return unicodedata.lookup(base.replace("_", " ").upper())
    except KeyError:
        pass
    if character is not None and len(character) == 1 and character.isprintable():
        return character
    return None


def _character_press(typed: str, mods: evp.Mods) -> KeyPress:
    if typed == "\n":  # ctrl+j: Textual's "newline"
        return KeyPress(evp.Key.J, mods | evp.Mods.CTRL, text="j", unshifted="j")
    if evp.Mods.SHIFT in mods and typed.isascii() and typed.islower():
        typed = typed.upper()  # Textual names alt+shift+a by its unshifted letter
    unshifted = typed
    shifted = False
    if typed.isascii() and typed.isalpha():
        unshifted, shifted = typed.lower(), typed.isupper()
        key = evp.Key[unshifted.upper()]
    elif typed.isascii() and typed.isdigit():
        key = evp.Key[f"DIGIT_{typed}"]
    elif typed in _SHIFTED_TO_UNSHIFTED:
        unshifted, shifted = _SHIFTED_TO_UNSHIFTED[typed], True
        key = _physical_key(unshifted)
    else:
        key = _PUNCTUATION_KEYS.get(typed, evp.Key.UNIDENTIFIED)
    consumed = evp.Mods(0)
    if shifted:
        mods |= evp.Mods.SHIFT
        consumed = evp.Mods.SHIFT
    # Control acts on the unshifted key (ctrl+shift+a is still ^A, as xterm sends).
    text = unshifted if evp.Mods.CTRL in mods else typed
    if text == unshifted:
        consumed = evp.Mods(0)
    return KeyPress(key, mods, consumed, text, unshifted)


def _physical_key(unshifted: str) -> evp.Key:
    if unshifted.isdigit():
        return evp.Key[f"DIGIT_{unshifted}"]
    return _PUNCTUATION_KEYS[unshifted]


class MouseAction(Enum):
    """What the mouse did."""

    PRESS = evp.MouseAction.PRESS
    RELEASE = evp.MouseAction.RELEASE
    MOTION = evp.MouseAction.MOTION


class MouseButton(Enum):
    """Which button; the wheel's two directions count as buttons, as terminals report them."""

    NONE = None
    LEFT = evp.MouseButton.LEFT
    MIDDLE = evp.MouseButton.MIDDLE
    RIGHT = evp.MouseButton.RIGHT
    WHEEL_UP = evp.MouseButton.FOUR
    WHEEL_DOWN = evp.MouseButton.FIVE


@dataclass(frozen=True, slots=True)
class MouseModifiers:
    """Modifier keys held during a mouse event."""

    shift: bool = False
    ctrl: bool = False
    alt: bool = False


class InputEncoder:
    """Encodes keys, mouse events and pastes for one emulator, following its modes."""

    def __init__(self, emulator: Emulator) -> None:
        self._emulator = emulator
        self._keys = evp.KeyEncoder(emulator.engine)
        self._mouse = evp.MouseEncoder(emulator.engine, track_last_cell=True)
        self._buttons_held: set[MouseButton] = set()

    def key(self, name: str, character: str | None) -> bytes:
        """The bytes a key sends the remote; empty for modifier-only or unknown keys."""
        press = parse_key(name, character)
        if press is None:
            return b""
        legacy = self._legacy_control(press, character)
        if legacy is not None:
            return legacy
        return self._keys.encode(
            press.key,
            mods=press.mods,
            consumed_mods=press.consumed_mods,
            text=press.text,
            unshifted_codepoint=press.unshifted,
        )

    def _legacy_control(self, press: KeyPress, character: str | None) -> bytes | None:
        """The control byte the host terminal already made (ctrl+_ is 0x1f), if it did.

        Sending it as is matches what xterm sends for the same keys; only the kitty
        protocol, when the remote enabled it, encodes such keys differently.
        """
        if press.key in _NAMED_KEY_SET:
            return None
        if _is_ctrl_letter(press):
            # xterm sends ^I and ^M for ctrl+i and ctrl+m, not an ambiguous CSI u.
            character = chr(ord(press.text or "") & 0x1F)
        if character is None or len(character) != 1:
            return None
        if ord(character) >= 0x20 and character != "\x7f":
            return None
        if self._emulator.kitty_keyboard_active:
            return None
        prefix = b"\x1b" if evp.Mods.ALT in press.mods else b""
        return prefix + character.encode()

    def paste(self, text: str) -> bytes:
        """The bytes a paste sends: bracketed when the remote asked (mode 2004)."""
        return evp.encode_paste(text, bracketed=self._emulator.bracketed_paste)

    def mouse(
        self,
        action: MouseAction,
        column: int,
        row: int,
        button: MouseButton = MouseButton.NONE,
        modifiers: MouseModifiers = MouseModifiers(),
    ) -> bytes:
        """The bytes a mouse event sends; empty when the remote does not track the mouse."""
        if action is MouseAction.PRESS and button not in (
            MouseButton.WHEEL_UP,
            MouseButton.WHEEL_DOWN,
        ):
            self._buttons_held.add(button)
        elif action is MouseAction.RELEASE:
            self._buttons_held.discard(button)
        return self._mouse.encode(
            action.value,
            column,
            row,
            button=button.value,
            mods=_mouse_mods(modifiers),
            any_button_pressed=bool(self._buttons_held),
        )


def _is_ctrl_letter(press: KeyPress) -> bool:
    text = press.text or ""
    only_ctrl_alt_shift = not press.mods & ~(evp.Mods.CTRL | evp.Mods.ALT | evp.Mods.SHIFT)
    return (
        evp.Mods.CTRL in press.mods
        and only_ctrl_alt_shift
        and len(text) == 1
        and text.isascii()
        and text.isalpha()
    )


def _mouse_mods(modifiers: MouseModifiers) -> evp.Mods:
    mods = evp.Mods(0)
    if modifiers.shift:
        mods |= evp.Mods.SHIFT
    if modifiers.ctrl:
        mods |= evp.Mods.CTRL
    if modifiers.alt:
        mods |= evp.Mods.ALT
    return mods
