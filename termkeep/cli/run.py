"""The commands that run sessions: ``open`` and ``demo`` start the app, ``attach`` and
``tunnel`` the headless session in this terminal. Each loads its stack (textual, asyncssh)
only when it runs."""

from __future__ import annotations

import argparse
import sys

from termkeep.cli.common import EXIT_OK, PROG, add_forward_flags, fail, trace_if_asked
from termkeep.config.schema import check_profile
from termkeep.config.settings import PREDICT_CHOICES, settings_or_defaults
from termkeep.config.store import ProfileStore


def configure_open(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "profiles",
        nargs="*",
        metavar="TARGET",
        help="saved profiles, ssh_config Hosts or [user@]host[:port] to open in tabs",
    )


def run_open(args: argparse.Namespace) -> int:
    from termkeep.transport.quick_connect import resolve_target  # noqa: PLC0415
    from termkeep.ui.app import TermkeepApp  # noqa: PLC0415 - textual loads only for the app
    from termkeep.ui.failures import start_logging  # noqa: PLC0415

    store = ProfileStore()
    for name in args.profiles:  # a typo is a one-line error here, not an empty app
        resolve_target(store, name)
    trace_if_asked()
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


def configure_demo(parser: argparse.ArgumentParser) -> None:
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


def run_demo(args: argparse.Namespace) -> int:
    import asyncio  # noqa: PLC0415

    from termkeep.ui.demo import run_demo  # noqa: PLC0415 - textual and asyncssh load only here
    from termkeep.ui.failures import start_logging  # noqa: PLC0415

    start_logging()
    return asyncio.run(run_demo(rtt=args.rtt / 1000, predict=args.predict))


# --- attach --------------------------------------------------------------------------------


def configure_attach(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "profile",
        metavar="TARGET",
        help="a saved profile, an ssh_config Host, or [user@]host[:port]",
    )


def run_attach(args: argparse.Namespace) -> int:
    # The session stack (asyncssh) loads only for commands that connect.
    from termkeep.headless.attach import attach  # noqa: PLC0415
    from termkeep.session.stop import run_to_exit  # noqa: PLC0415
    from termkeep.transport.quick_connect import resolve_target  # noqa: PLC0415

    store = ProfileStore()
    profile = resolve_target(store, args.profile)
    problems: list[str] = []
    settings = settings_or_defaults(problems)  # as the app does: the session matters more
    for problem in problems:
        print(f"{PROG}: warning: {problem}; using the default", file=sys.stderr)
    trace_if_asked()
    return run_to_exit(attach(profile, store, settings))


# --- tunnel --------------------------------------------------------------------------------


def configure_tunnel(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "targets",
        metavar="TARGET",
        nargs="+",
        help="saved profiles, ssh_config Hosts or [user@]host[:port], each with its forwards",
    )
    add_forward_flags(parser)
    parser.add_argument(
        "--exit-on-forward-failure",
        action="store_true",
        help="exit (255) when a forward cannot be set up, like ssh's ExitOnForwardFailure",
    )


def run_tunnel(args: argparse.Namespace) -> int:
    # The session stack (asyncssh) loads only for commands that connect.
    from dataclasses import replace  # noqa: PLC0415

    from termkeep.headless.tunnel import tunnel  # noqa: PLC0415
    from termkeep.session.stop import run_to_exit  # noqa: PLC0415
    from termkeep.transport.quick_connect import resolve_target  # noqa: PLC0415

    if args.forwards and len(args.targets) > 1:
        return fail("-L, -R and -D on the command line need exactly one TARGET")
    store = ProfileStore()
    profiles = [resolve_target(store, target) for target in args.targets]
    if args.forwards:
        forwards = (*profiles[0].forwards, *args.forwards)
        profiles[0] = check_profile(replace(profiles[0], forwards=forwards), "command line")
    for profile in profiles:
        if not profile.forwards:
            return fail(
                f"{profile.name!r} has no forwards; give some with -L, -R or -D, or save them "
                f"with 'termkeep hosts add {profile.name} ... -L ...'"
            )
    trace_if_asked()
    return run_to_exit(
        tunnel(profiles, store, exit_on_forward_failure=args.exit_on_forward_failure)
    )
