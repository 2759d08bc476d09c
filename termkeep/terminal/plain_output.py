"""Terminal output as plain text, for a session log in "output" mode: what a person would
read, without the escape sequences that colour and move it.

A small state machine over bytes fed in arbitrary chunks (a sequence may be split across
two reads). CSI, OSC, DCS, APC, PM and SOS sequences and two-byte escapes are dropped; so
are C0 controls except newline and tab, and the carriage return (``\\r\\n`` becomes one
line break). Text is decoded as UTF-8 incrementally; invalid bytes become U+FFFD.
"""

from __future__ import annotations

import codecs
from enum import Enum, auto

_ESC = 0x1B
_BEL = 0x07
_STRING_INTRODUCERS = frozenset(b"]PX^_")  # OSC, DCS, SOS, PM, APC: run to BEL or ST
_KEPT_CONTROLS = frozenset(b"\n\t")


class _State(Enum):
    TEXT = auto()
    ESCAPE = auto()
    CSI = auto()
    STRING = auto()
    STRING_ESCAPE = auto()


class PlainOutput:
    """Feed output bytes; get the printable text they carry."""

    def __init__(self) -> None:
        self._state = _State.TEXT
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")

    def feed(self, data: bytes) -> str:
        """The text in ``data`` (and in what earlier feeds left unfinished)."""
        kept = bytearray()
        for byte in data:
            if self._step(byte):
                kept.append(byte)
        return self._decoder.decode(bytes(kept))

    def _step(self, byte: int) -> bool:
        """Advance by one byte; True when the byte is text to keep."""
        state = self._state
        if state is _State.TEXT:
            return self._text(byte)
        if state is _State.ESCAPE:
            if 0x20 <= byte <= 0x2F:  # an intermediate (ESC ( B picks a charset): more follows
                return False
            self._state = (
                _State.CSI
                if byte == ord("[")
                else _State.STRING
                if byte in _STRING_INTRODUCERS
                else _State.TEXT
            )
        elif state is _State.CSI:
            if 0x40 <= byte <= 0x7E:  # the final byte ends the sequence
                self._state = _State.TEXT
        elif state is _State.STRING:
            if byte == _BEL:
                self._state = _State.TEXT
            elif byte == _ESC:
                self._state = _State.STRING_ESCAPE
        else:  # STRING_ESCAPE: ESC \ ends the string; anything else stays inside it
            self._state = _State.TEXT if byte == ord("\\") else _State.STRING
        return False

    def _text(self, byte: int) -> bool:
        if byte == _ESC:
            self._state = _State.ESCAPE
            return False
        return (byte >= 0x20 and byte != 0x7F) or byte in _KEPT_CONTROLS
