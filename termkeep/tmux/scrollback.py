"""Read a tmux pane's scrollback over the tab's own SSH connection: pages of rows, and a
search that answers on the server.

Each read is one ``sh -c`` command on a side channel of the link the tab is attached
through (no new connection, no extra authentication), or a request to a helper shell kept
open there (``ScrollbackHelper``). Line counts are bounded and
the output is cut at ``MAX_PAGE_BYTES`` on the server (``head -c``) and again here, so a pane
full of very long lines cannot flood the client. Output is read as bytes: history may hold
anything a program printed, and decoding is the caller's business.

Pages are rows exactly as tmux numbers them (no ``-J``): a page of rows ``first..last``
is ``last - first + 1`` lines, so the reader can always say which row a line is, even
while the history grows. Each page comes with the pane's extent, taken in the same tmux
command list (see ``_extent_then_capture``).
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
MAX_CANDIDATES = 50
"""Rows a search returns, nearest first: the client checks them in order."""
_SIZE_FORMAT = "#{history_size} #{history_limit} #{pane_height} #{pane_width} #{alternate_on}"
_CANDIDATES_END = b"="


class ScrollbackError(Exception):
    """tmux could not give the pane's history; the message says why, in tmux's words."""


@dataclass(frozen=True, slots=True)
class PaneExtent:
    """How much a pane holds: ``history`` rows above a screen of ``height`` rows of
    ``width`` cells; ``limit`` is the pane's own history-limit; ``full_screen``: a program
    in the pane uses the alternate screen (less, vim), whose rows are not history."""

    history: int
    limit: int
    height: int
    width: int = 0
    full_screen: bool = False


@dataclass(frozen=True, slots=True)
class ScrollbackPage:
    """Captured rows (raw bytes with SGR escapes, one line a row) and the extent of the
    pane when they were read."""

    extent: PaneExtent
    data: bytes

    def rows(self) -> list[bytes]:
        """The page's rows (a final newline ends the last, it adds none)."""
        if not self.data:
            return []
        return self.data.removesuffix(b"\n").split(b"\n")


@dataclass(frozen=True, slots=True)
class SearchAnswer:
    """What the server found: ``candidates`` (tmux row numbers, by ``extent``, nearest to
    the cursor first in the search's direction, wrapping), and ``page``, rows around the
    first candidate (None when there is none)."""

    extent: PaneExtent
    candidates: tuple[int, ...]
    page: ScrollbackPage | None
    page_first: int
    """The row the page was asked from (tmux clamps it to the top of the history)."""


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
    return ScrollbackPage(
        _parse_extent(header, stderr or output, exit_status), data[:MAX_PAGE_BYTES]
    )


def _parse_extent(header: bytes, said_instead: bytes, exit_status: int | None) -> PaneExtent:
    """The extent line; when it is not one, ScrollbackError with what tmux said instead
    (on stderr, or in the output: tmux prints an empty extent for a missing pane)."""
    try:
        history, limit, height, width, alternate = (int(field) for field in header.split())
    except ValueError:
        said = b" ".join(said_instead.split()).decode("utf-8", "replace").strip()
        problem = said[:200] or f"exit status {exit_status}"
        raise ScrollbackError(f"tmux gave no history: {problem}") from None
    return PaneExtent(history, limit, height, width, full_screen=alternate == 1)


# The search's filter, in awk (no backslash: see shell.remote_command). Its first input
# line is the extent (empty when the pane is missing: then tmux's complaint, which follows,
# is printed in its place); each row after it that holds the pattern, ASCII case folded (LC_ALL=C:
# the same on every server), is a candidate. It prints the extent, then the candidates
# nearest the cursor first in the search's direction, wrapping round.
_SEARCH_AWK = (
    'function add(r) { if (out < limit) { line = line " " r; out++ } } '
    'BEGIN { p = tolower(ENVIRON["pat"]) } '
    'NR == 1 { h = $1 + 0; if ($1 == "") bad = 1; else print; next } '
    "bad { print; exit } "
    "index(tolower($0), p) { rows[++n] = NR - 2 - h } "
    "END { if (forward == 1) { "
    "for (i = 1; i <= n; i++) if (rows[i] > cursor) add(rows[i]); "
    "for (i = 1; i <= n; i++) if (rows[i] <= cursor) add(rows[i]) "
    "} else { "
    "for (i = n; i >= 1; i--) if (rows[i] < cursor) add(rows[i]); "
    "for (i = n; i >= 1; i--) if (rows[i] >= cursor) add(rows[i]) "
    "} print line }"
)


def _search_script(session: str, cursor: str, forward: str, context: str) -> str:
    """The search, reading the pattern from ``$pat``; ``cursor``, ``forward`` and ``context``
    are shell words (numbers, or the helper's variables)."""
    target = _target(session)
    extent_and_rows = shell_words(
        "tmux", "display-message", "-p", "-t", target, _SIZE_FORMAT, ";",
        "capture-pane", "-p", "-t", target, "-S", "-", "-E", "-",
    )  # fmt: skip
    awk = (
        f"LC_ALL=C awk -v cursor={cursor} -v forward={forward} -v limit={MAX_CANDIDATES} "
        + shell_words(_SEARCH_AWK)
    )
    page = shell_words(*_extent_then_capture(target))
    head = shell_words("head", "-c", str(MAX_PAGE_BYTES))
    return (
        f"export pat; found=$({extent_and_rows} 2>&1 | {awk}); "
        'printf "%s" "$found" | head -n 2; echo; echo =; '
        'set -- $(printf "%s" "$found" | sed -n 2p); '
        f'if [ -n "$1" ]; then echo "$1"; {page} -S "$(($1 - {context}))" -E "$(($1 + {context}))"'
        f" | {head}; fi"
    )


def search_command(session: str, cursor: int, *, forward: bool, context: int) -> str:
    """Search ``session``'s pane for the pattern on the command's input (one line), see
    ``parse_search``."""
    script = "IFS= read -r pat; " + _search_script(
        session, str(int(cursor)), "1" if forward else "0", str(int(context))
    )
    return remote_command(script)


def parse_search(
    output: bytes, stderr: bytes, exit_status: int | None, *, context: int
) -> SearchAnswer:
    """The answer of ``search_command``: the extent, the candidates, ``=``, then (when a
    candidate was found) that candidate's row and the page of rows ``context`` around it."""
    head, separator, rest = output.partition(b"\n" + _CANDIDATES_END + b"\n")
    header, _, numbers = head.partition(b"\n")
    extent = _parse_extent(header, stderr or output, exit_status)
    if not separator:
        raise ScrollbackError("the search's answer was cut short")
    try:
        candidates = tuple(int(word) for word in numbers.split())
    except ValueError:
        raise ScrollbackError("the search's answer was garbled") from None
    if not candidates or not rest:
        return SearchAnswer(extent, candidates, None, 0)
    pick, _, page = rest.partition(b"\n")
    try:
        page_first = int(pick) - context
    except ValueError:
        raise ScrollbackError("the search's answer was garbled") from None
    return SearchAnswer(extent, candidates, parse_page(page, b"", None), page_first)


async def read_page(link: SideChannels, session: str, first: int, last: int) -> ScrollbackPage:
    """Lines ``first``..``last`` of ``session``'s current pane, over ``link``'s connection."""
    try:
        result = await link.run(page_command(session, first, last), timeout=PAGE_TIMEOUT)
    except SideChannelError as exc:
        raise ScrollbackError(f"could not read the remote history: {exc}") from exc
    return parse_page(result.stdout, result.stderr, result.exit_status)


async def search(
    link: SideChannels, session: str, pattern: str, cursor: int, *, forward: bool, context: int
) -> SearchAnswer:
    """Search ``session``'s pane over ``link``'s connection (see ``search_command``)."""
    command = search_command(session, cursor, forward=forward, context=context)
    try:
        result = await link.run(command, timeout=PAGE_TIMEOUT, stdin=_pattern_line(pattern))
    except SideChannelError as exc:
        raise ScrollbackError(f"could not search the remote history: {exc}") from exc
    return parse_search(result.stdout, result.stderr, result.exit_status, context=context)


def _pattern_line(pattern: str) -> bytes:
    # The pattern travels on the command's input, never on a command line: no quoting can
    # go wrong, whatever it holds. One line: a newline would end it early.
    if "\n" in pattern or "\r" in pattern or "\0" in pattern:
        raise ValueError("a search pattern is one line")
    return pattern.encode() + b"\n"


def helper_command(session: str, *, max_bytes: int = MAX_PAGE_BYTES) -> str:
    """A shell that answers requests, each ended by ``NONCE`` on a line of its own:
    ``NONCE p FIRST LAST`` with a page, ``NONCE s CURSOR FORWARD CONTEXT`` followed by the
    pattern's line with a search's answer. The nonce is random per request and chosen after
    the history was printed, so no history line can end an answer early."""
    capture = shell_words(*_extent_then_capture(_target(session)))
    head = shell_words("head", "-c", str(max_bytes))
    # $a, $b and $c are numbers termkeep wrote itself (the request line).
    search_script = _search_script(session, "$a", "$b", "$c")
    script = (
        "while read -r nonce kind a b c; do "
        f'if [ "$kind" = s ]; then IFS= read -r pat; {search_script}; '
        f'else {capture} -S "$a" -E "$b" 2>&1 | {head}; fi; '
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
        data = await self._ask(f"p {first} {last}\n".encode())
        return parse_page(data, b"", None)

    async def search(
        self, pattern: str, cursor: int, *, forward: bool, context: int
    ) -> SearchAnswer:
        """The answer ``search`` gives, through the helper."""
        line = _pattern_line(pattern)
        request = f"s {int(cursor)} {1 if forward else 0} {int(context)}\n".encode() + line
        return parse_search(await self._ask(request), b"", None, context=context)

    async def _ask(self, request: bytes) -> bytes:
        async with self._lock:
            nonce = secrets.token_hex(16)
            marker = f"\n{nonce}\n".encode()
            try:
                self._shell.write(nonce.encode() + b" " + request)
                data = await asyncio.wait_for(self._shell.read_until(marker), PAGE_TIMEOUT)
            except (SideChannelError, TimeoutError) as exc:
                self.close()
                raise ScrollbackError(f"the history channel failed: {exc}") from exc
        return data[: -len(marker)]

    def close(self) -> None:
        """End the helper (the remote shell sees end of input and exits)."""
        self._shell.close()
