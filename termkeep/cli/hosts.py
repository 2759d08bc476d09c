"""``termkeep hosts``: list, show, add and remove saved profiles; import ssh_config and PuTTY."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from termkeep.cli.common import EXIT_ERROR, EXIT_OK, PROG, add_forward_flags, fail, print_table
from termkeep.config.fields import FIELDS
from termkeep.config.forwards import Forward
from termkeep.config.profile import Profile
from termkeep.config.profile_document import toml_literal
from termkeep.config.schema import (
    FORWARDS_KEY,
    KEYS,
    Kind,
    profile_from_mapping,
    profile_values,
    value_problem,
)
from termkeep.config.store import ProfileStore, StoredProfile

if TYPE_CHECKING:
    from termkeep.config.importing import ImportReport


def configure(parser: argparse.ArgumentParser) -> None:
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
    agent = parser.add_mutually_exclusive_group()
    agent.add_argument(
        "-A",
        "--forward-agent",
        action="store_true",
        help="forward your SSH agent to the host (as ssh -A); while connected, the host's root "
        "can use your keys: only for hosts you trust",
    )
    agent.add_argument(
        "--forward-agent-socket",
        metavar="PATH",
        help="forward the agent at PATH, or at $VAR's path (implies -A)",
    )
    agent.add_argument(
        "-a",
        "--no-forward-agent",
        action="store_true",
        help="never forward the agent, whatever ssh_config says (as ssh -a)",
    )
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
    add_forward_flags(parser)
    tmux = parser.add_mutually_exclusive_group()
    tmux.add_argument("--tmux-session", metavar="NAME", help="tmux session (default termkeep-NAME)")
    tmux.add_argument("--no-tmux", action="store_true", help="do not run the session in tmux")
    parser.add_argument("--force", action="store_true", help="replace an existing profile")
    parser.set_defaults(run=_run_hosts_add)


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
    if args.forward_agent or args.forward_agent_socket is not None:
        data["agent_forwarding"] = True
    elif args.no_forward_agent:
        data["agent_forwarding"] = False
    if args.forward_agent_socket is not None:
        data["agent_forwarding_socket"] = args.forward_agent_socket
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
        return fail(f"profile {args.name!r} already exists; use --force to replace it")
    profile = profile_from_mapping(args.name, _add_args_to_mapping(args), "command line")
    path = store.save(profile, replace=args.force)
    print(f"saved {profile.name}: {profile.destination} ({path})")
    return EXIT_OK


def _keepalive_cell(profile: Profile) -> str:
    if profile.keepalive.interval <= 0:
        return "off"
    return f"{profile.keepalive.interval:g}s x{profile.keepalive.count_max}"


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
    print_table(rows, sys.stdout)
    return EXIT_ERROR if result.errors else EXIT_OK


def _show_lines(stored: StoredProfile) -> list[str]:
    """The effective settings as TOML, each default marked, unset values as comments, each
    key under its label in the profile editor."""
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
        lines.append(f"# {FIELDS[key].label}")  # the profile editor's words for the key
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
