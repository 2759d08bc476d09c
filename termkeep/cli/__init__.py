"""termkeep's command line: parsing and printing only; the work lives in config/ and transport/.

Commands are registered in ``COMMANDS``. To add one (``demo``, ``attach`` …), write a
``configure(parser)`` that declares its arguments and a ``run(args) -> exit code`` in a module
of this package (``hosts``, ``history``, ``run``, ``locate``), and add a ``Command`` to the
list; nothing else here needs to change. ``termkeep PROFILE...`` is short for
``termkeep open PROFILE...``.

Exit codes: 0 success, 1 an error (printed as one ``termkeep: error: ...`` line), 2 bad usage
(also one line), 130 interrupted. No traceback reaches the user.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import NoReturn

import termkeep
from termkeep.cli import history, hosts, locate, run, transfer
from termkeep.cli.common import (
    EXIT_INTERRUPTED,
    EXIT_USAGE,
    PROG,
    Command,
    Runner,
    fail,
)
from termkeep.config.errors import ConfigError
from termkeep.config.profile import InvalidProfileNameError


class _Parser(argparse.ArgumentParser):
    """An ArgumentParser whose usage errors are one line, with where to find help."""

    def error(self, message: str) -> NoReturn:
        """Print ``termkeep: error: MESSAGE (see 'PROG --help')`` and exit 2."""
        self.exit(EXIT_USAGE, f"{PROG}: error: {message} (see '{self.prog} --help')\n")


class _VersionAction(argparse.Action):
    """``--version``: like argparse's own, but the version is looked up only when asked."""

    def __init__(self, option_strings: Sequence[str], **_argparse_defaults: object) -> None:
        super().__init__(
            option_strings,
            dest=argparse.SUPPRESS,
            default=argparse.SUPPRESS,
            nargs=0,
            help="show the version and exit",
        )

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        _namespace: argparse.Namespace,
        _values: object,
        _option_string: str | None = None,
    ) -> NoReturn:
        print(f"{PROG} {termkeep.version()}")
        parser.exit()


OPEN_COMMAND = "open"

COMMANDS: list[Command] = [
    Command(
        OPEN_COMMAND,
        "open profiles in tabs (the default command)",
        run.configure_open,
        run.run_open,
    ),
    Command(
        "demo",
        "try termkeep on a throwaway local SSH server serving your own shell",
        run.configure_demo,
        run.run_demo,
    ),
    Command(
        "attach",
        "one session in this terminal, like ssh, reconnecting by itself (Enter ~ . quits)",
        run.configure_attach,
        run.run_attach,
    ),
    Command(
        "tunnel",
        "only the forwards of profiles (no shell), kept up through outages, like autossh -N",
        run.configure_tunnel,
        run.run_tunnel,
    ),
    Command(
        "put",
        "send files to a host over SFTP, resuming after drops (scp that does not die)",
        transfer.configure_put,
        transfer.run_put,
    ),
    Command(
        "get",
        "fetch files from a host over SFTP, resuming after drops",
        transfer.configure_get,
        transfer.run_get,
    ),
    Command("hosts", "manage saved host profiles", hosts.configure, None),
    Command(
        "history",
        "print the connection history: every drop, and drops/hour and recovery per profile",
        history.configure,
        history.run,
    ),
    Command("locate", "print where termkeep keeps its files", locate.configure, locate.run),
]
"""Top-level commands, in help order. Add new ones here."""


def build_parser() -> argparse.ArgumentParser:
    """The full argument parser, built from ``COMMANDS``."""
    parser = _Parser(
        prog=PROG,
        description="SSH sessions in tabs that survive network loss (tmux reattach).",
        epilog="'termkeep PROFILE...' is short for 'termkeep open PROFILE...'.",
    )
    parser.add_argument("--version", action=_VersionAction)
    sub = parser.add_subparsers(title="commands", metavar="COMMAND")
    for command in COMMANDS:
        command_parser = sub.add_parser(command.name, help=command.help)
        command.configure(command_parser)
        if command.run is not None:
            command_parser.set_defaults(run=command.run)
    return parser


def _with_default_command(argv: list[str]) -> list[str]:
    """Route ``termkeep [PROFILE...]`` to the open command."""
    names = {command.name for command in COMMANDS}
    if not argv or (argv[0] not in names and not argv[0].startswith("-")):
        return [OPEN_COMMAND, *argv]
    return argv


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line and return the exit code (``python -m termkeep``, console script)."""
    arguments = list(sys.argv[1:] if argv is None else argv)
    try:
        args = build_parser().parse_args(_with_default_command(arguments))
    except SystemExit as exit_request:  # --help, --version and usage errors exit from argparse
        return exit_request.code if isinstance(exit_request.code, int) else EXIT_USAGE
    try:
        runner: Runner = args.run
        return runner(args)
    except (ConfigError, InvalidProfileNameError) as error:
        return fail(str(error))
    except OSError as error:
        where = f"{error.filename}: " if error.filename else ""
        return fail(f"{where}{error.strerror or error}")
    except KeyboardInterrupt:
        print(file=sys.stderr)
        return EXIT_INTERRUPTED
