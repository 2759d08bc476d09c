"""The local terminal: raw mode restored whatever happens, and I/O that can neither block a
stop nor fail it.

``termkeep attach`` passes every byte through, so the local terminal must be raw (no line
editing, no local echo, no signals from Ctrl-C) while attached, and exactly as it was when
termkeep exits: normally, on an exception, or on SIGTERM/SIGHUP. Prompts (a password on a
reconnect) need it cooked again for a moment; ``RawTerminal.cooked()`` does that and pauses the
keyboard reader so the prompt, not the remote, gets the keys.

Two rules the headless commands rely on, kept here so every writer and every prompt follows
them:

- A write never raises. A terminal that went away (EIO from a hung-up pty), a reader that
  left (EPIPE under ``| head -1``) or a closed descriptor only makes ``write_fully`` return
  False: there is nowhere to show the text, and the command must still be able to stop.
- A question never runs in a thread. ``read_answer`` waits on the event loop, so cancelling
  it (a SIGTERM while the password prompt is open) ends it at once and puts the terminal's
  echo back; a thread blocked in ``getpass`` would hold the process until the user pressed
  Enter.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import select
import termios
import tty
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

type KeyHandler = Callable[[bytes], None]

CONTROLLING_TTY = "/dev/tty"
STDIN_FD = 0
STDERR_FD = 2
_WRITE_WAIT = 1.0
"""Seconds to wait for a full terminal to take more output before trying again."""
_WRITE_TRIES = 5
"""A terminal that takes nothing for this many waits is treated as gone."""
_READ_CHUNK = 1024
_KEYS_CHUNK = 4096
_LINE_ENDS = (b"\n", b"\r")


def write_fully(fd: int, data: bytes, *, patient: bool = False) -> bool:
    """Write all of ``data`` to ``fd``, even a bit at a time; False if the other end is gone,
    never an exception. A non-blocking ``fd`` that stays full is given up on after a few
    seconds, unless ``patient`` (the session's own output waits for a terminal paused with
    Ctrl-S)."""
    view = memoryview(data)
    stalls = 0
    while view:
        try:
            written = os.write(fd, view)
        except BlockingIOError:
            stalls += 1
            if stalls > _WRITE_TRIES and not patient:
                return False
            with contextlib.suppress(OSError, ValueError):
                select.select([], [fd], [], _WRITE_WAIT)
            continue
        except OSError:
            return False
        view = view[written:]
    return True


@contextlib.contextmanager
def prompt_terminal(path: str = CONTROLLING_TTY) -> Iterator[tuple[int, int]]:
    """``(read_fd, write_fd)`` to ask the user on: the controlling terminal, like ssh and
    getpass, even when stdin and stderr are pipes; stdin and stderr when there is none."""
    try:
        fd = os.open(path, os.O_RDWR | os.O_NOCTTY | os.O_NONBLOCK)
    except OSError:
        yield (STDIN_FD, STDERR_FD)
        return
    try:
        yield (fd, fd)
    finally:
        os.close(fd)


@contextlib.contextmanager
def _echo_off(fd: int) -> Iterator[None]:
    """No echo while a secret is typed; the settings come back whatever happens."""
    try:
        saved = termios.tcgetattr(fd)
    except termios.error:  # not a terminal: nothing is echoed anyway
        yield
        return
    quiet = list(saved)
    quiet[3] &= ~termios.ECHO
    try:
        termios.tcsetattr(fd, termios.TCSAFLUSH, quiet)
        yield
    finally:
        with contextlib.suppress(termios.error):
            termios.tcsetattr(fd, termios.TCSAFLUSH, saved)


async def read_answer(read_fd: int, write_fd: int, prompt: str, *, secret: bool) -> str | None:
    """Show ``prompt`` and read one line from ``read_fd`` on the event loop; None at end of
    input or when the terminal is gone. ``secret`` turns echo off for the answer."""
    if not secret:
        write_fully(write_fd, prompt.encode())
        return await _read_line(read_fd)
    with _echo_off(read_fd):  # before the prompt shows: nothing typed may be echoed
        write_fully(write_fd, prompt.encode())
        try:
            return await _read_line(read_fd)
        finally:
            write_fully(write_fd, b"\n")  # the Enter that was not echoed


async def _read_line(fd: int) -> str | None:
    loop = asyncio.get_running_loop()
    # A terminal hands over one line per read; from a pipe, read no further than the line
    # (byte by byte), so the next question's answer stays in the pipe for it.
    chunk_size = _READ_CHUNK if os.isatty(fd) else 1
    line = bytearray()
    readable = asyncio.Event()
    loop.add_reader(fd, readable.set)
    try:
        while True:
            await readable.wait()
            readable.clear()
            try:
                chunk = os.read(fd, chunk_size)
            except BlockingIOError:
                continue
            except OSError:  # EIO: the terminal hung up
                return None
            if not chunk:
                return line.decode("utf-8", "replace") if line else None
            line += chunk
            end = min((i for i in map(line.find, _LINE_ENDS) if i >= 0), default=-1)
            if end >= 0:
                return line[:end].decode("utf-8", "replace")
    finally:
        with contextlib.suppress(ValueError, OSError):
            loop.remove_reader(fd)


class RawTerminal:
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
            data = os.read(self._in, _KEYS_CHUNK)
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
