"""termkeep's command line: parsing and printing only; the work lives in config/ and transport/.

Commands are registered in ``COMMANDS``. To add one (``demo``, ``attach`` …), write a
``configure(parser)`` that declares its arguments and a ``run(args) -> exit code``, and add a
``Command`` to the list; nothing else here needs to change. ``termkeep PROFILE...`` is short
for ``termkeep open PROFILE...``.

Exit codes: 0 success, 1 an error (printed as one ``termkeep: error: ...`` line), 2 bad usage
(also one line), 130 interrupted. No traceback reaches the user.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn, TextIO

import termkeep
from termkeep import paths
from termkeep.config.errors import ConfigError
from termkeep.config.forwards import Forward, ForwardError, ForwardKind, parse_ssh_forward
from termkeep.config.profile import InvalidProfileNameError, Profile
from termkeep.config.schema import (
    FORWARDS_KEY,
    KEYS,
    Kind,
    check_profile,
    profile_from_mapping,
    profile_values,
    toml_literal,
    value_problem,
)
from termkeep.config.settings import PREDICT_CHOICES, settings_or_defaults
from termkeep.config.store import ProfileStore, StoredProfile
from termkeep.terminal.ssh_text import ssh_visible

if TYPE_CHECKING:
    from termkeep.config.importing import ImportReport

PROG = "termkeep"
EXIT_OK = 0
EXIT_ERROR = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130

Runner = Callable[[argparse.Namespace], int]


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


@dataclass(frozen=True, slots=True)
class Command:
    """One top-level subcommand."""

    name: str
    help: str
    configure: Callable[[argparse.ArgumentParser], None]
    """Adds the command's arguments (and sub-commands) to its parser."""
    run: Runner | None
    """Runs the command; None when ``configure`` sets a runner per sub-command."""


def _fail(message: str) -> int:
    # A message may quote outside text (a file's contents, a server's words): ssh's rules.
    print(f"{PROG}: error: {ssh_visible(message)}", file=sys.stderr)
    return EXIT_ERROR


# --- open and demo: the app ----------------------------------------------------------------


def _configure_open(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "profiles",
        nargs="*",
        metavar="TARGET",
        help="saved profiles, ssh_config Hosts or [user@]host[:port] to open in tabs",
    )


def _run_open(args: argparse.Namespace) -> int:
    from termkeep.transport.quick_connect import resolve_target  # noqa: PLC0415
    from termkeep.ui.app import TermkeepApp  # noqa: PLC0415 - textual loads only for the app
    from termkeep.ui.failures import start_logging  # noqa: PLC0415

    store = ProfileStore()
    for name in args.profiles:  # a typo is a one-line error here, not an empty app
        resolve_target(store, name)
    _trace_if_asked()
    start_logging()
    app = TermkeepApp(store=store, startup_profiles=args.profiles)
    app.run()
    return app.return_code or EXIT_OK


DEMO_RTT_MAX_MS = 10_000


def _demo_rtt(text: str) -> float:
    """``--rtt`` in milliseconds, checked: a clear message instead of a traceback."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of milliseconds") from None
    if not 0 <= value <= DEMO_RTT_MAX_MS:
        raise argparse.ArgumentTypeError(f"must be from 0 to {DEMO_RTT_MAX_MS} ms, not {text}")
    return value


def _configure_demo(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--rtt",
        type=_demo_rtt,
        default=0.0,
        metavar="MS",
        help="add this many milliseconds of round trip (a slow link, to feel predictive echo)",
    )
    parser.add_argument(
        "--predict",
        choices=PREDICT_CHOICES,
        help="predictive echo in the demo (default: adaptive)",
    )


def _run_demo(args: argparse.Namespace) -> int:
    import asyncio  # noqa: PLC0415

    from termkeep.ui.demo import run_demo  # noqa: PLC0415 - textual and asyncssh load only here
    from termkeep.ui.failures import start_logging  # noqa: PLC0415

    start_logging()
    return asyncio.run(run_demo(rtt=args.rtt / 1000, predict=args.predict))


# --- locate --------------------------------------------------------------------------------


def _configure_locate(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "what", nargs="?", choices=sorted(paths.LOCATIONS), help="print only this location"
    )


def _run_locate(args: argparse.Namespace) -> int:
    if args.what:
        print(paths.LOCATIONS[args.what]())
        return EXIT_OK
    width = max(len(name) for name in paths.LOCATIONS)
    for name, where in paths.LOCATIONS.items():
        print(f"{name:<{width}}  {where()}")
    return EXIT_OK


# --- history -------------------------------------------------------------------------------

SHOWN_BAD_LINES = 5
"""Unreadable history lines named one by one; more are counted."""


def _configure_history(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "profile", nargs="?", metavar="PROFILE", help="only this profile's drops and summary"
    )


def _run_history(args: argparse.Namespace) -> int:
    from termkeep.config import connection_history as history  # noqa: PLC0415

    path = paths.connection_history_file()
    read = history.read_history(path)
    _warn_bad_lines(read.bad_lines)
    drops = [drop for drop in read.drops if args.profile in (None, drop.profile)]
    summaries = history.summarize(read, args.profile)
    if not summaries:
        whose = f" for {args.profile!r}" if args.profile else ""
        print(f"no connection history{whose} yet ({path})")
        return EXIT_OK
    if drops:
        _print_table([history.DROP_HEADER, *history.drop_rows(drops)], sys.stdout)
    else:
        print("no drops recorded")
    print()
    _print_table([history.SUMMARY_HEADER, *history.summary_rows(summaries)], sys.stdout)
    return EXIT_OK


def _warn_bad_lines(bad_lines: Sequence[tuple[Path, int]]) -> None:
    """One line per unreadable history line (a few, then a count): skipped, not fatal."""
    for part, number in bad_lines[:SHOWN_BAD_LINES]:
        print(f"{PROG}: warning: {part}:{number}: not a history record (skipped)", file=sys.stderr)
    if len(bad_lines) > SHOWN_BAD_LINES:
        more = len(bad_lines) - SHOWN_BAD_LINES
        print(f"{PROG}: warning: {more} more unreadable lines skipped", file=sys.stderr)


# --- hosts ---------------------------------------------------------------------------------


def _configure_hosts(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(title="commands", metavar="COMMAND", required=True)
    listing = sub.add_parser("list", help="list saved profiles")
    listing.set_defaults(run=_run_hosts_list)
    show = sub.add_parser("show", help="show a profile's settings, defaults included")
    show.add_argument("name", metavar="NAME")
    show.set_defaults(run=_run_hosts_show)
    remove = sub.add_parser("rm", help="delete a profile")
    remove.add_argument("name", metavar="NAME")
    remove.set_defaults(run=_run_hosts_rm)
    _configure_hosts_add(sub.add_parser("add", help="save a new profile"))
    ssh_config = sub.add_parser(
        "import-ssh-config", help="make profiles from ssh_config Host entries"
    )
    ssh_config.add_argument(
        "file", nargs="?", type=Path, metavar="FILE", help="default: ~/.ssh/config"
    )
    ssh_config.add_argument("--overwrite", action="store_true", help="replace existing profiles")
    ssh_config.set_defaults(run=_run_import_ssh_config)
    putty = sub.add_parser("import-putty", help="make profiles from PuTTY saved sessions")
    putty.add_argument(
        "dir",
        nargs="?",
        type=Path,
        metavar="DIR",
        help="PuTTY's settings dir or its sessions/ dir; default: where PuTTY looks",
    )
    putty.add_argument("--overwrite", action="store_true", help="replace existing profiles")
    putty.set_defaults(run=_run_import_putty)


def _checked(key: str) -> Callable[[str], object]:
    """An argparse ``type`` that parses and range-checks a value as the profile file does."""
    kind = KEYS[key].kind

    def convert(text: str) -> object:
        try:
            value: object = int(text) if kind is Kind.INT else float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not {kind.value}") from None
        problem = value_problem(key, value)
        if problem:
            raise argparse.ArgumentTypeError(f"{text} is out of range: {problem}")
        return value

    convert.__name__ = kind.value  # argparse names the type in its own messages
    return convert


def _configure_hosts_add(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("name", metavar="NAME", help="profile name (its file name)")
    parser.add_argument("--host", required=True, help="host name or address")
    parser.add_argument("--port", type=_checked("port"), help="SSH port (default 22)")
    parser.add_argument("--user", help="login name")
    parser.add_argument(
        "--identity", action="append", default=[], metavar="PATH", help="key file (repeatable)"
    )
    parser.add_argument(
        "--known-hosts", metavar="PATH", help="the profile's own known_hosts file (checked first)"
    )
    parser.add_argument(
        "--user-known-hosts",
        action="append",
        default=[],
        metavar="PATH",
        help="ssh's UserKnownHostsFile (repeatable; default ~/.ssh/known_hosts, known_hosts2)",
    )
    parser.add_argument(
        "--global-known-hosts",
        action="append",
        default=[],
        metavar="PATH",
        help="ssh's GlobalKnownHostsFile (repeatable; default /etc/ssh/ssh_known_hosts, ...2)",
    )
    parser.add_argument(
        "--strict-host-key-checking",
        choices=("ask", "yes", "accept-new", "no"),
        help="ssh's StrictHostKeyChecking for unknown keys (default ask); a changed key is "
        "always refused",
    )
    parser.add_argument(
        "--host-key-alias", metavar="NAME", help="ssh's HostKeyAlias: look the key up as NAME"
    )
    parser.add_argument("--jump", metavar="NAME_OR_USER@HOST", help="jump host")
    parser.add_argument(
        "--keepalive",
        type=_checked("keepalive.interval"),
        metavar="SECONDS",
        help="SSH keepalive interval, 0 = off (default 5)",
    )
    parser.add_argument(
        "--keepalive-count",
        type=_checked("keepalive.count_max"),
        metavar="N",
        help="missed keepalives before the link counts as dead (default 3)",
    )
    _add_forward_flags(parser)
    tmux = parser.add_mutually_exclusive_group()
    tmux.add_argument("--tmux-session", metavar="NAME", help="tmux session (default termkeep-NAME)")
    tmux.add_argument("--no-tmux", action="store_true", help="do not run the session in tmux")
    parser.add_argument("--force", action="store_true", help="replace an existing profile")
    parser.set_defaults(run=_run_hosts_add)


def _forward_of(kind: ForwardKind) -> Callable[[str], Forward]:
    """An argparse type reading ssh's syntax for one of -L/-R/-D, with ssh's own messages."""

    def convert(text: str) -> Forward:
        try:
            return parse_ssh_forward(kind, text)
        except ForwardError as error:
            raise argparse.ArgumentTypeError(str(error)) from None

    convert.__name__ = f"{kind.flag} forward"
    return convert


def _add_forward_flags(parser: argparse.ArgumentParser) -> None:
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


def _add_args_to_mapping(args: argparse.Namespace) -> dict[str, object]:
    """The profile file's data for the options given (unset options keep defaults)."""
    data: dict[str, object] = {"host": args.host}
    optional = {
        "port": args.port,
        "user": args.user,
        "known_hosts_file": args.known_hosts,
        "jump": args.jump,
        "strict_host_key_checking": args.strict_host_key_checking,
        "host_key_alias": args.host_key_alias,
    }
    data.update({key: value for key, value in optional.items() if value is not None})
    if args.identity:
        data["identity_files"] = list(args.identity)
    if args.user_known_hosts:
        data["user_known_hosts_files"] = list(args.user_known_hosts)
    if args.global_known_hosts:
        data["global_known_hosts_files"] = list(args.global_known_hosts)
    if args.forwards:
        data["forwards"] = [forward.as_table() for forward in args.forwards]
    keepalive = {"interval": args.keepalive, "count_max": args.keepalive_count}
    data["keepalive"] = {key: value for key, value in keepalive.items() if value is not None}
    if args.no_tmux:
        data["tmux"] = {"enabled": False}
    elif args.tmux_session is not None:
        data["tmux"] = {"session": args.tmux_session}
    return data


def _run_hosts_add(args: argparse.Namespace) -> int:
    store = ProfileStore()
    if store.exists(args.name) and not args.force:  # also reports a bad name first
        return _fail(f"profile {args.name!r} already exists; use --force to replace it")
    profile = profile_from_mapping(args.name, _add_args_to_mapping(args), "command line")
    path = store.save(profile, replace=args.force)
    print(f"saved {profile.name}: {profile.destination} ({path})")
    return EXIT_OK


def _keepalive_cell(profile: Profile) -> str:
    if profile.keepalive.interval <= 0:
        return "off"
    return f"{profile.keepalive.interval:g}s x{profile.keepalive.count_max}"


def _print_table(rows: Sequence[Sequence[str]], out: TextIO) -> None:
    # Cells may hold what a server said (a drop's cause in the connection history).
    rows = [[ssh_visible(cell) for cell in row] for row in rows]
    widths = [max(len(row[column]) for row in rows) for column in range(len(rows[0]))]
    for row in rows:
        cells = [cell.ljust(width) for cell, width in zip(row, widths, strict=True)]
        print("  ".join(cells).rstrip(), file=out)


def _run_hosts_list(_args: argparse.Namespace) -> int:
    result = ProfileStore().load_all()
    for issue in result.errors:
        print(f"{PROG}: error: {issue}", file=sys.stderr)
    if not result.profiles:
        if not result.errors:
            print("no saved profiles; add one with 'termkeep hosts add NAME --host HOST'")
        return EXIT_ERROR if result.errors else EXIT_OK
    rows = [("NAME", "DESTINATION", "KEEPALIVE", "TMUX")]
    rows += [
        (
            profile.name,
            profile.destination,
            _keepalive_cell(profile),
            profile.tmux_session_name if profile.tmux.enabled else "off",
        )
        for profile in result.profiles
    ]
    _print_table(rows, sys.stdout)
    return EXIT_ERROR if result.errors else EXIT_OK


def _show_lines(stored: StoredProfile) -> list[str]:
    """The effective settings as TOML, each default marked, unset values as comments."""
    lines = [
        f"# profile {stored.profile.name!r}: {stored.path}",
        "# values marked 'default' are not set in the file",
    ]
    section = ""
    for key, value in profile_values(stored.profile).items():
        if key == FORWARDS_KEY:
            continue  # shown last: TOML puts arrays of tables after the plain keys
        table, _, leaf = key.rpartition(".")
        if table != section:
            lines += ["", f"[{table}]"]
            section = table
        origin = "" if key in stored.explicit_keys else "  # default"
        if value is None:
            lines.append(f"# {leaf}: unset" + (" (default)" if origin else ""))
        else:
            lines.append(f"{leaf} = {toml_literal(value)}{origin}")
    return lines + _forward_lines(stored.profile.forwards)


def _forward_lines(forwards: Sequence[Forward]) -> list[str]:
    """The profile's forwards as ssh flags (a comment) and as the file's tables."""
    if not forwards:
        return ["", "# forwards: none (add with -L, -R, -D on 'termkeep hosts add')"]
    lines = ["", "# forwards, as ssh flags: " + " ".join(forward.flag for forward in forwards)]
    for forward in forwards:
        lines += [
            "[[forwards]]",
            *(f"{key} = {toml_literal(value)}" for key, value in forward.as_table().items()),
        ]
    return lines


def _run_hosts_show(args: argparse.Namespace) -> int:
    stored = ProfileStore().read(args.name)
    print("\n".join(_show_lines(stored)))
    return EXIT_OK


def _run_hosts_rm(args: argparse.Namespace) -> int:
    store = ProfileStore()
    path = store.path_for(args.name)
    store.delete(args.name)
    print(f"removed {args.name} ({path})")
    return EXIT_OK


def _print_report(report: ImportReport) -> None:
    for entry in report.imported:
        origin = "" if entry.source == entry.profile.name else f" (from {entry.source!r})"
        print(f"imported {entry.profile.name}{origin}: {entry.profile.destination}")
        for note in entry.notes:
            print(f"  note: {note}")
    for skipped in report.skipped:
        print(f"skipped {skipped.source!r}: {skipped.reason}")
    print(f"{len(report.imported)} imported, {len(report.skipped)} skipped, from {report.origin}")


def _run_import_ssh_config(args: argparse.Namespace) -> int:
    # Imported here: asyncssh takes half a second to import, which every other hosts
    # command (and --version) would otherwise pay.
    from termkeep.config.importing import save_plan  # noqa: PLC0415
    from termkeep.transport.ssh_config_import import read_ssh_config  # noqa: PLC0415

    plan = read_ssh_config(args.file)
    _print_report(save_plan(ProfileStore(), plan, overwrite=args.overwrite))
    return EXIT_OK


def _run_import_putty(args: argparse.Namespace) -> int:
    # The importers load only for their commands, not on every start of the app.
    from termkeep.config.importing import save_plan  # noqa: PLC0415
    from termkeep.config.putty import read_putty_sessions, resolve_sessions_dir  # noqa: PLC0415

    plan = read_putty_sessions(resolve_sessions_dir(args.dir))
    _print_report(save_plan(ProfileStore(), plan, overwrite=args.overwrite))
    return EXIT_OK


# --- attach --------------------------------------------------------------------------------


def _configure_attach(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "profile",
        metavar="TARGET",
        help="a saved profile, an ssh_config Host, or [user@]host[:port]",
    )


def _run_attach(args: argparse.Namespace) -> int:
    # The session stack (asyncssh) loads only for commands that connect.
    from termkeep.headless.attach import attach  # noqa: PLC0415
    from termkeep.headless.stop import run_to_exit  # noqa: PLC0415
    from termkeep.transport.quick_connect import resolve_target  # noqa: PLC0415

    store = ProfileStore()
    profile = resolve_target(store, args.profile)
    problems: list[str] = []
    settings = settings_or_defaults(problems)  # as the app does: the session matters more
    for problem in problems:
        print(f"{PROG}: warning: {problem}; using the default", file=sys.stderr)
    _trace_if_asked()
    return run_to_exit(attach(profile, store, settings))


# --- tunnel --------------------------------------------------------------------------------


def _configure_tunnel(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "targets",
        metavar="TARGET",
        nargs="+",
        help="saved profiles, ssh_config Hosts or [user@]host[:port], each with its forwards",
    )
    _add_forward_flags(parser)
    parser.add_argument(
        "--exit-on-forward-failure",
        action="store_true",
        help="exit (255) when a forward cannot be set up, like ssh's ExitOnForwardFailure",
    )


def _run_tunnel(args: argparse.Namespace) -> int:
    # The session stack (asyncssh) loads only for commands that connect.
    from dataclasses import replace  # noqa: PLC0415

    from termkeep.headless.stop import run_to_exit  # noqa: PLC0415
    from termkeep.headless.tunnel import tunnel  # noqa: PLC0415
    from termkeep.transport.quick_connect import resolve_target  # noqa: PLC0415

    if args.forwards and len(args.targets) > 1:
        return _fail("-L, -R and -D on the command line need exactly one TARGET")
    store = ProfileStore()
    profiles = [resolve_target(store, target) for target in args.targets]
    if args.forwards:
        forwards = (*profiles[0].forwards, *args.forwards)
        profiles[0] = check_profile(replace(profiles[0], forwards=forwards), "command line")
    for profile in profiles:
        if not profile.forwards:
            return _fail(
                f"{profile.name!r} has no forwards; give some with -L, -R or -D, or save them "
                f"with 'termkeep hosts add {profile.name} ... -L ...'"
            )
    _trace_if_asked()
    return run_to_exit(
        tunnel(profiles, store, exit_on_forward_failure=args.exit_on_forward_failure)
    )


def _trace_if_asked() -> None:
    """TERMKEEP_TRACE=FILE: log a timeline of connections (transport/trace.py)."""
    if os.environ.get("TERMKEEP_TRACE"):
        from termkeep.transport.trace import enable_from_env  # noqa: PLC0415

        enable_from_env()


# --- registry and entry point --------------------------------------------------------------


OPEN_COMMAND = "open"

COMMANDS: list[Command] = [
    Command(
        OPEN_COMMAND, "open profiles in tabs (the default command)", _configure_open, _run_open
    ),
    Command(
        "demo",
        "try termkeep on a throwaway local SSH server serving your own shell",
        _configure_demo,
        _run_demo,
    ),
    Command(
        "attach",
        "one session in this terminal, like ssh, reconnecting by itself (Enter ~ . quits)",
        _configure_attach,
        _run_attach,
    ),
    Command(
        "tunnel",
        "only the forwards of profiles (no shell), kept up through outages, like autossh -N",
        _configure_tunnel,
        _run_tunnel,
    ),
    Command("hosts", "manage saved host profiles", _configure_hosts, None),
    Command(
        "history",
        "print every connection drop and a summary per profile (drops/hour, recovery)",
        _configure_history,
        _run_history,
    ),
    Command("locate", "print where termkeep keeps its files", _configure_locate, _run_locate),
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
        return _fail(str(error))
    except OSError as error:
        where = f"{error.filename}: " if error.filename else ""
        return _fail(f"{where}{error.strerror or error}")
    except KeyboardInterrupt:
        print(file=sys.stderr)
        return EXIT_INTERRUPTED
