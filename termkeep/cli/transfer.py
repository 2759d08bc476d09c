"""``termkeep put`` and ``termkeep get``: files to and from a host over SFTP, reconnecting and
resuming like ``termkeep attach``. The work is in headless/transfer.py and transfers/."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from termkeep.cli.common import fail, trace_if_asked
from termkeep.config.store import ProfileStore

TARGET_HELP = "a saved profile, an ssh_config Host, or [user@]host[:port]"


def _add_common(parser: argparse.ArgumentParser) -> None:
    existing = parser.add_mutually_exclusive_group()
    existing.add_argument(
        "--overwrite",
        action="store_true",
        help="replace a file that already exists at the destination (default: refuse it)",
    )
    existing.add_argument(
        "--keep-both",
        action="store_true",
        help="write 'name (1).ext' when the name is taken (default: refuse it)",
    )


def configure_put(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("target", metavar="TARGET", help=TARGET_HELP)
    parser.add_argument("sources", metavar="LOCAL", nargs="+", help="local files to send")
    parser.add_argument(
        "--to",
        metavar="REMOTE_DIR",
        help="the directory on the host to put them in (default: the login directory)",
    )
    _add_common(parser)


def configure_get(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("target", metavar="TARGET", help=TARGET_HELP)
    parser.add_argument(
        "sources",
        metavar="REMOTE",
        nargs="+",
        help="files on the host (relative paths start at the login directory)",
    )
    parser.add_argument(
        "--to",
        metavar="LOCAL_DIR",
        help="the local directory to put them in (default: the current directory)",
    )
    _add_common(parser)


def _local_problem(path: str) -> str | None:
    """Why a local file cannot be sent, checked before any connection is made."""
    if not os.path.lexists(path):
        return f"{path}: no such file"
    if Path(path).is_dir():
        return f"{path} is a directory; termkeep put sends files"
    if not Path(path).is_file():
        return f"{path} is not a regular file"
    if not os.access(path, os.R_OK):
        return f"{path}: permission denied"
    return None


def run_put(args: argparse.Namespace) -> int:
    for source in args.sources:
        if (problem := _local_problem(source)) is not None:
            return fail(problem)
    return _run(args, upload=True)


def run_get(args: argparse.Namespace) -> int:
    destination = args.to or "."
    if not Path(destination).is_dir():
        return fail(f"{destination} is not a directory")
    if not os.access(destination, os.W_OK | os.X_OK):
        return fail(f"{destination}: permission denied")
    return _run(args, upload=False)


def _run(args: argparse.Namespace, *, upload: bool) -> int:
    # The session stack (asyncssh) loads only for commands that connect.
    from termkeep.headless.transfer import TransferRequest, transfer  # noqa: PLC0415
    from termkeep.session.stop import run_to_exit  # noqa: PLC0415
    from termkeep.transfers.model import Direction, Existing  # noqa: PLC0415
    from termkeep.transport.quick_connect import resolve_target  # noqa: PLC0415

    store = ProfileStore()
    profile = resolve_target(store, args.target)
    existing = Existing.REFUSE
    if args.overwrite:
        existing = Existing.OVERWRITE
    elif args.keep_both:
        existing = Existing.KEEP_BOTH
    request = TransferRequest(
        Direction.UPLOAD if upload else Direction.DOWNLOAD, args.sources, args.to, existing
    )
    trace_if_asked()
    return run_to_exit(transfer(profile, store, request))
