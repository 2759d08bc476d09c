"""``termkeep history``: the connection history, every drop and a summary per profile.

(The remote pane's own history is the scrollback, shown in the app, never here.)
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from termkeep import paths
from termkeep.cli.common import EXIT_OK, PROG, print_table

SHOWN_BAD_LINES = 5
"""Unreadable connection history lines named one by one; more are counted."""


def configure(parser: argparse.ArgumentParser) -> None:
    parser.description = (
        "Print the connection history: every drop of every session (when, why, how long "
        "until it recovered) and a summary per profile. The scrollback of a tab (the remote "
        "pane's own history) is shown in the app instead."
    )
    parser.add_argument(
        "profile", nargs="?", metavar="PROFILE", help="only this profile's drops and summary"
    )


def run(args: argparse.Namespace) -> int:
    from termkeep.records import connection_history  # noqa: PLC0415

    path = paths.connection_history_file()
    read = connection_history.read_history(path)
    _warn_bad_lines(read.bad_lines)
    drops = [drop for drop in read.drops if args.profile in (None, drop.profile)]
    summaries = connection_history.summarize(read, args.profile)
    if not summaries:
        whose = f" for {args.profile!r}" if args.profile else ""
        print(f"no connection history{whose} yet ({path})")
        return EXIT_OK
    if drops:
        print_table(
            [connection_history.DROP_HEADER, *connection_history.drop_rows(drops)], sys.stdout
        )
    else:
        print("no drops recorded")
    print()
    print_table(
        [connection_history.SUMMARY_HEADER, *connection_history.summary_rows(summaries)], sys.stdout
    )
    return EXIT_OK


def _warn_bad_lines(bad_lines: Sequence[tuple[Path, int]]) -> None:
    """One line per unreadable history line (a few, then a count): skipped, not fatal."""
    for part, number in bad_lines[:SHOWN_BAD_LINES]:
        print(f"{PROG}: warning: {part}:{number}: not a history record (skipped)", file=sys.stderr)
    if len(bad_lines) > SHOWN_BAD_LINES:
        more = len(bad_lines) - SHOWN_BAD_LINES
        print(f"{PROG}: warning: {more} more unreadable lines skipped", file=sys.stderr)
