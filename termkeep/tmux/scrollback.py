"""Read a tmux pane's scrollback over the tab's own SSH connection, one page at a time.

Each read is one ``sh -c`` command on a side channel of the link the tab is attached
through (no new connection, no extra authentication), or a request to a helper shell kept
open there (``ScrollbackHelper``). Line counts are bounded and
the output is cut at ``MAX_PAGE_BYTES`` on the server (``head -c``) and again here, so a pane
full of very long lines cannot flood the client. Output is read as bytes: history may hold
anything a program printed, and decoding is the caller's business.
"""

from __future__ import annotations

import asyncio
import secrets
from dataclasses import dataclass

from termkeep.tmux.shell import remote_command, shell_words
from termkeep.transport.link import HelperShell, SideChannelError, SideChannels

MAX_PAGE_LINES = 5000
MAX_PAGE_BYTES = 8 * 1024 * 1024
"""A page of 5,000 lines with colours is well under this; very long lines are cut."""
PAGE_TIMEOUT = 20.0
_SIZE_FORMAT = "#{history_size} #{history_limit} #{pane_height}"


class ScrollbackError(Exception):
    """tmux could not give the pane's history; the message says why, in tmux's words."""


@dataclass(frozen=True, slots=True)
class PaneExtent:
    """How much a pane holds: ``history`` lines above a screen of ``height`` lines."""

    history: int
    limit: int
    height: int


@dataclass(frozen=True, slots=True)
class ScrollbackPage:
    """Captured lines (raw bytes with SGR escapes, wrapped lines joined) and the extent of
    the pane when they were read."""

    extent: PaneExtent
    data: bytes


def _target(session: str) -> str:
    # '=NAME:' is the session's current pane, matched by exact name (not a prefix).
    return f"={session}:"


def _extent_then_capture(target: str) -> list[str]:
    """One tmux client command list: the extent line, then the capture (its -S/-E follow).
    One list runs inside one turn of the tmux server's loop, before any more of the pane's
    output is read, so the extent is exactly the one the captured lines were numbered by;
    two tmux commands would let output scroll the pane between them."""
    return [
        "tmux",
        "display-message",
        "-p",
        "-t",
        target,
        _SIZE_FORMAT,
        ";",
        "capture-pane",
        "-p",
        "-e",
        "-J",
        "-t",
        target,
    ]


def page_command(session: str, first: int, last: int, *, max_bytes: int = MAX_PAGE_BYTES) -> str:
    """Print the pane's extent on one line, then its lines ``first``..``last`` (tmux
    numbering: 0 is the top of the screen, negative lines are history)."""
    if last < first:
        raise ValueError(f"empty line range {first}..{last}")
    if last - first + 1 > MAX_PAGE_LINES:
        raise ValueError(f"a page holds at most {MAX_PAGE_LINES} lines")
    words = [*_extent_then_capture(_target(session)), "-S", str(first), "-E", str(last)]
    return remote_command(shell_words(*words) + " | " + shell_words("head", "-c", str(max_bytes)))


def parse_page(output: bytes, stderr: bytes, exit_status: int | None) -> ScrollbackPage:
    """The page from a ``page_command``'s output, or ScrollbackError with tmux's message."""
    header, _, data = output.partition(b"\n")
    try:
        history, limit, height = (int(field) for field in header.split())
    except ValueError:
        said = (stderr or header).decode("utf-8", "replace").strip()
        problem = said[:200] or f"exit status {exit_status}"
        raise ScrollbackError(f"tmux gave no history: {problem}") from None
    return ScrollbackPage(PaneExtent(history, limit, height), data[:MAX_PAGE_BYTES])


async def read_page(link: SideChannels, session: str, first: int, last: int) -> ScrollbackPage:
    """Lines ``first``..``last`` of ``session``'s current pane, over ``link``'s connection."""
    try:
        result = await link.run(page_command(session, first, last), timeout=PAGE_TIMEOUT)
    except SideChannelError as exc:
        raise ScrollbackError(f"could not read the remote history: {exc}") from exc
    return parse_page(result.stdout, result.stderr, result.exit_status)


def helper_command(session: str, *, max_bytes: int = MAX_PAGE_BYTES) -> str:
    """A shell that answers ``NONCE FIRST LAST`` lines with a page and then ``NONCE`` on a
    line of its own. The nonce is random per request and chosen after the history was
    printed, so no history line can end a page early."""
    capture = shell_words(*_extent_then_capture(_target(session)))
    head = shell_words("head", "-c", str(max_bytes))
    script = (
        "while read -r nonce first last; do "
        f'{capture} -S "$first" -E "$last" 2>&1 | {head}; '
        'echo; echo "$nonce"; done'
    )
    return remote_command(script)


class ScrollbackHelper:
    """A helper shell kept open on the tab's connection, so a page costs one round trip
    (a fresh exec channel costs two: the channel open, then the command). One request at a
    time; it ends with its connection."""

    def __init__(self, shell: HelperShell) -> None:
        self._shell = shell
        self._lock = asyncio.Lock()

    @classmethod
    async def open(cls, link: SideChannels, session: str) -> ScrollbackHelper:
        """Start the helper for ``session``'s pane on ``link``'s connection."""
        try:
            shell = await asyncio.wait_for(link.open_helper(helper_command(session)), PAGE_TIMEOUT)
        except (SideChannelError, TimeoutError) as exc:
            raise ScrollbackError(f"could not open a channel for the history: {exc}") from exc
        return cls(shell)

    @property
    def closed(self) -> bool:
        return self._shell.closed

    async def read_page(self, first: int, last: int) -> ScrollbackPage:
        """Lines ``first``..``last``, as ``read_page`` reads them."""
        if last < first or last - first + 1 > MAX_PAGE_LINES:
            raise ValueError(f"bad page {first}..{last}")
        async with self._lock:
            nonce = secrets.token_hex(16)
            marker = f"\n{nonce}\n".encode()
            try:
                self._shell.write(f"{nonce} {first} {last}\n".encode())
                data = await asyncio.wait_for(self._shell.read_until(marker), PAGE_TIMEOUT)
            except (SideChannelError, TimeoutError) as exc:
                self.close()
                raise ScrollbackError(f"the history channel failed: {exc}") from exc
        return parse_page(data[: -len(marker)], b"", None)

    def close(self) -> None:
        """End the helper (the remote shell sees end of input and exits)."""
        self._shell.close()
