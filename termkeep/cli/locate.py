"""``termkeep locate``: where termkeep keeps its files."""

from __future__ import annotations

import argparse

from termkeep import paths
from termkeep.cli.common import EXIT_OK


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "what", nargs="?", choices=sorted(paths.LOCATIONS), help="print only this location"
    )


def run(args: argparse.Namespace) -> int:
    if args.what:
        print(paths.LOCATIONS[args.what]())
        return EXIT_OK
    width = max(len(name) for name in paths.LOCATIONS)
    for name, where in paths.LOCATIONS.items():
        print(f"{name:<{width}}  {where()}")
    return EXIT_OK
