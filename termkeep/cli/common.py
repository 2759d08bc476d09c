"""What every command of the command line shares: exit codes, the one-line error, tables,
ssh's forward flags and the connection trace switch."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TextIO

from termkeep.config.forwards import Forward, ForwardError, ForwardKind, parse_ssh_forward
from termkeep.terminal.ssh_text import ssh_visible

PROG = "termkeep"
EXIT_OK = 0
EXIT_ERROR = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130

Runner = Callable[[argparse.Namespace], int]


@dataclass(frozen=True, slots=True)
class Command:
    """One top-level subcommand."""

    name: str
    help: str
    configure: Callable[[argparse.ArgumentParser], None]
    """Adds the command's arguments (and sub-commands) to its parser."""
    run: Runner | None
    """Runs the command; None when ``configure`` sets a runner per sub-command."""


def fail(message: str) -> int:
    """Print ``termkeep: error: MESSAGE`` on stderr; the exit code of an error."""
    # A message may quote outside text (a file's contents, a server's words): ssh's rules.
    print(f"{PROG}: error: {ssh_visible(message)}", file=sys.stderr)
    return EXIT_ERROR


def print_table(rows: Sequence[Sequence[str]], out: TextIO) -> None:
    """Rows in columns two spaces apart, the first row being the header."""
    # Cells may hold what a server said (a drop's cause in the connection history).
    rows = [[ssh_visible(cell) for cell in row] for row in rows]
    widths = [max(len(row[column]) for row in rows) for column in range(len(rows[0]))]
    for row in rows:
        cells = [cell.ljust(width) for cell, width in zip(row, widths, strict=True)]
        print("  ".join(cells).rstrip(), file=out)


def _forward_of(kind: ForwardKind) -> Callable[[str], Forward]:
    """An argparse type reading ssh's syntax for one of -L/-R/-D, with ssh's own messages."""

    def convert(text: str) -> Forward:
        try:
            return parse_ssh_forward(kind, text)
        except ForwardError as error:
            raise argparse.ArgumentTypeError(str(error)) from None

    convert.__name__ = f"{kind.flag} forward"
    return convert


def add_forward_flags(parser: argparse.ArgumentParser) -> None:
    """ssh's -L, -R and -D, repeatable, in the order given."""
    helps = {
        ForwardKind.LOCAL: ("[BIND:]PORT:HOST:HOSTPORT", "local forward, like ssh -L (repeatable)"),
        ForwardKind.REMOTE: (
            "[BIND:]PORT:HOST:HOSTPORT",
            "remote forward, like ssh -R (repeatable)",
        ),
        ForwardKind.DYNAMIC: ("[BIND:]PORT", "SOCKS5 proxy, like ssh -D (repeatable)"),
    }
    for kind, (metavar, text) in helps.items():
        parser.add_argument(
            kind.flag,
            dest="forwards",
            action="append",
            default=[],
            type=_forward_of(kind),
            metavar=metavar,
            help=text,
        )


def trace_if_asked() -> None:
    """TERMKEEP_TRACE=FILE: log a timeline of connections (transport/trace.py)."""
    if os.environ.get("TERMKEEP_TRACE"):
        from termkeep.transport.trace import enable_from_env  # noqa: PLC0415

        enable_from_env()
