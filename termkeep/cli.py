"""Command line entry point (placeholder until the full CLI lands)."""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from termkeep import __version__


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="termkeep")
    parser.add_argument("--version", action="version", version=f"termkeep {__version__}")
    parser.parse_args(argv)
    return 0
