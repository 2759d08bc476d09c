"""A 10 MB OSC or DCS string must not grow the process by anything like 10 MB."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from termkeep.terminal.clipboard import ClipboardWrite
from termkeep.terminal.emulator import Emulator

TEN_MB = 10 * 1024 * 1024
CHUNK = b"QUFB" * 16_384  # 64 KiB, valid base64 so OSC 52 cannot reject it early
ALLOWED_GROWTH = 4 * 1024 * 1024


def resident_bytes() -> int:
    pages = int(Path("/proc/self/statm").read_text().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE")


@pytest.mark.parametrize(
    ("opening", "closing"),
    [
        (b"\x1b]2;", b"\x07"),  # title
        (b"\x1b]52;c;", b"\x07"),  # clipboard write: the engine alone would buffer it all
        (b"\x1b]8;;", b"\x1b\\"),  # hyperlink
        (b"\x1bP", b"\x1b\\"),  # DCS
        (b"\x1bP+q", b"\x1b\\"),  # XTGETTCAP
        (b"\x1b_G", b"\x1b\\"),  # APC (kitty graphics)
    ],
)
def test_ten_megabyte_string_keeps_memory_bounded(opening: bytes, closing: bytes) -> None:
    writes: list[ClipboardWrite] = []
    emulator = Emulator(80, 24, write=lambda _: None)
    emulator.on_clipboard_write = writes.append
    emulator.feed(b"warm up\r\n")
    before = resident_bytes()
    emulator.feed(opening)
    for _ in range(TEN_MB // len(CHUNK)):
        emulator.feed(CHUNK)
    emulator.feed(closing + b"still alive")
    growth = resident_bytes() - before
    assert growth < ALLOWED_GROWTH, f"grew {growth} bytes"
    assert "still alive" in emulator.text()
    assert writes == []  # an oversized clipboard write is dropped, not truncated
