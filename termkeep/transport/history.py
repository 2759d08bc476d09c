"""Read a tmux pane's history over the tab's own SSH connection, one page at a time.

Each read is one ``sh -c`` command on a fresh exec channel of the connection the tab is
attached through (no new connection, no extra authentication). Line counts are bounded and
the output is cut at ``MAX_PAGE_BYTES`` on the server (``head -c``) and again here, so a pane
full of very long lines cannot flood the client. Output is read as bytes: history may hold
anything a program printed, and decoding is the caller's business.
"""

from __future__ import annotations

from dataclasses import dataclass

import asyncssh

from termkeep.transport import tmux

MAX_PAGE_LINES = 5000
MAX_PAGE_BYTES = 8 * 1024 * 1024
"""A page of 5,000 lines with colours is well under this; very long lines are cut."""
HISTORY_TIMEOUT = 20.0
_SIZE_FORMAT = "#{history_size} #{history_limit} #{pane_height}"


class HistoryError(Exception):
    """tmux could not give the pane's history; the message says why, in tmux's words."""


@dataclass(frozen=True, slots=True)
class PaneExtent:
    """How much a pane holds: ``history`` lines above a screen of ``height`` lines."""

    history: int
    limit: int
    height: int


@dataclass(frozen=True, slots=True)
class HistoryPage:
    """Captured lines (raw bytes with SGR escapes, wrapped lines joined) and the extent of
    the pane when they were read."""

    extent: PaneExtent
    data: bytes


def _target(session: str) -> str:
    # '=NAME:' is the session's current pane, matched by exact name (not a prefix).
    return f"={session}:"


def page_command(session: str, first: int, last: int, *, max_bytes: int = MAX_PAGE_BYTES) -> str:
    """Print the pane's extent on one line, then its lines ``first``..``last`` (tmux
    numbering: 0 is the top of the screen, negative lines are history)."""
    if last < first:
        raise ValueError(f"empty line range {first}..{last}")
    if last - first + 1 > MAX_PAGE_LINES:
        raise ValueError(f"a page holds at most {MAX_PAGE_LINES} lines")
    target = _target(session)
    script = " && ".join(
        (
            tmux.shell_words("tmux", "display-message", "-p", "-t", target, _SIZE_FORMAT),
            tmux.shell_words(
                "tmux",
                "capture-pane",
                "-p",
                "-e",
                "-J",
                "-t",
                target,
                "-S",
                str(first),
                "-E",
                str(last),
            )
            + " | "
            + tmux.shell_words("head", "-c", str(max_bytes)),
        )
    )
    return tmux.remote_command(script)


def parse_page(output: bytes, stderr: bytes, exit_status: int | None) -> HistoryPage:
    """The page from a ``page_command``'s output, or HistoryError with tmux's message."""
    header, _, data = output.partition(b"\n")
    try:
        history, limit, height = (int(field) for field in header.split())
    except ValueError:
        problem = stderr.decode("utf-8", "replace").strip() or f"exit status {exit_status}"
        raise HistoryError(f"tmux gave no history: {problem}") from None
    return HistoryPage(PaneExtent(history, limit, height), data[:MAX_PAGE_BYTES])


async def read_page(
    conn: asyncssh.SSHClientConnection, session: str, first: int, last: int
) -> HistoryPage:
    """Lines ``first``..``last`` of ``session``'s current pane, over ``conn``."""
    try:
        result = await conn.run(
            page_command(session, first, last),
            check=False,
            request_pty=False,
            encoding=None,
            timeout=HISTORY_TIMEOUT,
        )
    except (asyncssh.Error, OSError, TimeoutError) as exc:
        raise HistoryError(f"could not read the remote history: {exc}") from exc
    stdout = result.stdout if isinstance(result.stdout, bytes) else b""
    stderr = result.stderr if isinstance(result.stderr, bytes) else b""
    return parse_page(stdout, stderr, result.exit_status)
