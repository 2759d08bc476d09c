"""The local terminal in raw mode, restored whatever happens.

``termkeep attach`` passes every byte through, so the local terminal must be raw (no line
editing, no local echo, no signals from Ctrl-C) while attached, and exactly as it was when
termkeep exits: normally, on an exception, or on SIGTERM/SIGHUP. Prompts (a password on a
reconnect) need it cooked again for a moment; ``cooked()`` does that and pauses the keyboard
reader so the prompt, not the remote, gets the keys.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import termios
import tty
from collections.abc import AsyncIterator, Callable
from typing import Any

from termkeep.terminal.ssh_text import ssh_visible
from termkeep.transport.terminal_io import write_fully

type KeyHandler = Callable[[bytes], None]

_READ_CHUNK = 4096


class LocalTerminal:
    """stdin/stdout of this process; raw mode only when stdin is a terminal."""

    def __init__(self, stdin_fd: int = 0, stdout_fd: int = 1) -> None:
        self._in = stdin_fd
        self._out = stdout_fd
        self._saved: list[Any] | None = None  # termios attributes, as tcgetattr gives them
        self._raw = False
        self._on_keys: KeyHandler | None = None
        self._on_eof: Callable[[], None] | None = None
        self._gone = False
        self._closed = False

    @property
    def is_tty(self) -> bool:
        return os.isatty(self._in)

    def size(self) -> tuple[int, int]:
        """(columns, rows) of the local terminal; 80x24 when it is not a terminal."""
        try:
            columns, rows = os.get_terminal_size(self._out)
        except OSError:
            return (80, 24)
        return (columns or 80, rows or 24)

    def enter_raw(self) -> None:
        """Switch to raw mode, remembering the settings to restore."""
        if self._closed or not self.is_tty or self._raw:
            return
        try:
            if self._saved is None:
                self._saved = termios.tcgetattr(self._in)
            tty.setraw(self._in, termios.TCSANOW)
        except termios.error:  # the terminal hung up just now: there is nothing to set
            return
        self._raw = True

    def restore(self) -> None:
        """Put the terminal back as it was before ``enter_raw``."""
        if self._saved is not None and self._raw:
            with contextlib.suppress(termios.error):
                termios.tcsetattr(self._in, termios.TCSAFLUSH, self._saved)
        self._raw = False

    @property
    def gone(self) -> bool:
        """Whether the terminal went away (closed window, hung-up PTY): writes are dropped."""
        return self._gone

    def write(self, data: bytes) -> None:
        """Write everything, even when the terminal only takes part of it at once.

        A terminal that went away (EIO from a hung-up PTY, EPIPE, EBADF) is remembered and
        later writes are dropped: output has nowhere to go, and an error here must not stop
        the session from shutting down cleanly.
        """
        if not self._gone and not write_fully(self._out, data, patient=True):
            self._gone = True

    def message(self, text: str) -> None:
        """A status line of termkeep's own, on a line of its own (CR LF: raw mode). It may
        quote a server (a disconnect reason, a tmux error): shown with ssh's rules, so only
        the session's own stream reaches the terminal unfiltered."""
        shown = ssh_visible(text).replace("\n", "\r\n")
        self.write(f"\r\n[termkeep] {shown}\r\n".encode())

    def close(self) -> None:
        """The command is ending: stop reading and restore the terminal for good. Raw mode
        and the reader never come back after this, not even when a prompt that the stop cut
        short leaves its ``cooked()`` block."""
        self._closed = True
        self.stop_reading()
        self.restore()

    def start_reading(self, on_keys: KeyHandler, on_eof: Callable[[], None]) -> None:
        """Deliver keyboard input to ``on_keys`` from the event loop."""
        if self._closed:
            return
        self._on_keys, self._on_eof = on_keys, on_eof
        asyncio.get_running_loop().add_reader(self._in, self._readable)

    def stop_reading(self) -> None:
        with contextlib.suppress(ValueError, OSError):
            asyncio.get_running_loop().remove_reader(self._in)

    @contextlib.asynccontextmanager
    async def cooked(self) -> AsyncIterator[None]:
        """Cooked mode and no keyboard reader for the duration (a prompt is showing)."""
        was_raw, reading = self._raw, self._on_keys is not None
        self.stop_reading()
        self.restore()
        try:
            yield
        finally:
            if was_raw:
                self.enter_raw()
            if reading and self._on_keys is not None and self._on_eof is not None:
                self.start_reading(self._on_keys, self._on_eof)

    def _readable(self) -> None:
        try:
            data = os.read(self._in, _READ_CHUNK)
        except BlockingIOError:
            return
        except OSError:
            data = b""
        if data:
            assert self._on_keys is not None
            self._on_keys(data)
            return
        self.stop_reading()
        if self._on_eof is not None:
            self._on_eof()
