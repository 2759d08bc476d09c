"""OSC 52 clipboard sequences, taken out of the stream before the engine sees them.

The engine buffers an OSC 52 payload without limit (a 40 MB payload grew the process by
26 MB), so a hostile or broken remote could exhaust memory with one endless sequence.
This filter removes every OSC 52 sequence from the byte stream, keeps at most
`max_payload` bytes of one, and hands complete writes to a callback. Reads (`?`) are
dropped: answering them would let any remote program read the local clipboard.

Writes that get through are decided per tab by a `ClipboardGate`: a tab on screen writes,
a background tab writes, is denied, or asks the user once.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum, StrEnum

OSC52_START = b"\x1b]52;"
# BEL or ESC end an OSC string (ESC \ is ST; any other ESC aborts it and starts a new
# sequence); CAN and SUB abort it.
_STRING_END = re.compile(rb"[\x07\x18\x1a\x1b]")
DEFAULT_MAX_PAYLOAD = 1 << 20  # 1 MiB of base64 is 768 KB of text: far above real copies.


@dataclass(frozen=True, slots=True)
class ClipboardWrite:
    """A remote program's request to put `text` on a clipboard.

    `selection` holds OSC 52's target letters as sent (`c` clipboard, `p` primary,
    `s` selection, ...); an empty text means the program asked to clear it.
    """

    selection: str
    text: str


class Osc52Filter:
    """Strips OSC 52 from a byte stream fed in arbitrary chunks, reporting writes."""

    def __init__(
        self,
        on_write: Callable[[ClipboardWrite], object],
        *,
        max_payload: int = DEFAULT_MAX_PAYLOAD,
    ) -> None:
        self._on_write = on_write
        self._max_payload = max_payload
        self._inside = False
        self._overflowed = False
        self._payload = bytearray()
        self._held = b""  # a tail that may be the start of OSC52_START
        self._pending_esc = False  # the payload ended in ESC: is the next byte `\`?

    def filter(self, data: bytes) -> bytes:
        """The bytes of `data` that are not part of an OSC 52 sequence, in order."""
        if self._held:
            data = self._held + data
            self._held = b""
        if not self._inside and not self._pending_esc and not self._may_start(data):
            return self._hold_partial_start(data)
        kept: list[bytes] = []
        position = 0
        while position < len(data):
            if self._pending_esc or self._inside:
                position = self._consume_payload(data, position, kept)
                continue
            start = data.find(OSC52_START, position)
            if start < 0:
                kept.append(self._hold_partial_start(data[position:]))
                break
            kept.append(data[position:start])
            self._begin()
            position = start + len(OSC52_START)
        return b"".join(kept)

    @staticmethod
    def _may_start(data: bytes) -> bool:
        # Multi-byte searches run at about 1 GB/s on escape-heavy output, single-byte
        # ones at memchr speed: look for the rarer `]` first (this is the hot path).
        return b"]" in data and OSC52_START in data

    def _begin(self) -> None:
        self._inside = True
        self._overflowed = False
        self._payload.clear()

    def _hold_partial_start(self, tail: bytes) -> bytes:
        """Keep back a trailing proper prefix of OSC52_START; the next chunk decides."""
        for length in range(min(len(OSC52_START) - 1, len(tail)), 0, -1):
            if tail.endswith(OSC52_START[:length]):
                self._held = tail[-length:]
                return tail[:-length]
        return tail

    def _consume_payload(self, data: bytes, position: int, kept: list[bytes]) -> int:
        if self._pending_esc:
            self._pending_esc = False
            if data[position : position + 1] == b"\\":
                self._finish()
                return position + 1
            # ESC followed by anything else aborts the string and starts a new sequence.
            self._inside = False
            kept.append(b"\x1b")
            return position
        match = _STRING_END.search(data, position)
        end = match.start() if match else len(data)
        self._append(data[position:end])
        if match is None:
            return end
        terminator = data[end]
        if terminator == 0x07:
            self._finish()
        elif terminator == 0x1B:
            self._pending_esc = True
        else:
            self._inside = False  # CAN/SUB: aborted, nothing written
        return end + 1

    def _append(self, chunk: bytes) -> None:
        if self._overflowed:
            return
        if len(self._payload) + len(chunk) > self._max_payload:
            self._overflowed = True
            self._payload.clear()
            return
        self._payload += chunk

    def _finish(self) -> None:
        self._inside = False
        if self._overflowed:
            return
        write = parse_osc52(bytes(self._payload))
        self._payload.clear()
        if write is not None:
            self._on_write(write)


def parse_osc52(payload: bytes) -> ClipboardWrite | None:
    """The write an OSC 52 payload (`Pc;Pd`) asks for, or None for a read or garbage."""
    selection, separator, encoded = payload.partition(b";")
    if not separator or encoded == b"?":
        return None
    try:
        decoded = base64.b64decode(encoded, validate=True)
    except (binascii.Error, ValueError):
        return None
    return ClipboardWrite(
        selection=selection.decode("ascii", errors="replace"),
        text=decoded.decode("utf-8", errors="replace"),
    )


class BackgroundWrites(StrEnum):
    """What an OSC 52 write from a tab that is not on screen does."""

    ASK = "ask"
    """Ask the user once for the tab; the answer holds for the tab's life."""
    ALLOW = "allow"
    DENY = "deny"


class Verdict(Enum):
    """What to do with one clipboard write."""

    WRITE = "write"
    DROP = "drop"
    ASK = "ask"
    """Ask the user now; their answer goes to ``ClipboardGate.answered``."""
    WAIT = "wait"
    """A question is open already: this write waits for its answer (the latest one wins)."""


class ClipboardGate:
    """One tab's rule for the remote's clipboard writes.

    A write from the tab on screen goes through (the app checked ``clipboard_write``
    already): the user sees what its program does. A background tab's program writes
    unseen, maybe over something the user just copied: ``background`` says whether that
    is allowed, denied, or asked once per tab.
    """

    def __init__(self, background: BackgroundWrites = BackgroundWrites.ASK) -> None:
        self.background = background
        self._answer: bool | None = None
        self._waiting: str | None = None
        self._asking = False

    @property
    def answer(self) -> bool | None:
        """The user's answer for this tab, once given."""
        return self._answer

    def request(self, text: str, *, shown: bool) -> Verdict:
        """A write of ``text``; ``shown``: the tab is the one on screen."""
        if shown or self.background is BackgroundWrites.ALLOW:
            return Verdict.WRITE
        if self.background is BackgroundWrites.DENY:
            return Verdict.DROP
        if self._answer is not None:
            return Verdict.WRITE if self._answer else Verdict.DROP
        self._waiting = text
        if self._asking:
            return Verdict.WAIT
        self._asking = True
        return Verdict.ASK

    def answered(self, allowed: bool) -> str | None:
        """The user answered: the text to write now (the last one asked for), if allowed."""
        self._answer = allowed
        self._asking = False
        waiting, self._waiting = self._waiting, None
        return waiting if allowed else None
