"""An opt-in timeline of one process's connections, for finding where recovery time goes.

``TERMKEEP_TRACE=/path/file`` makes termkeep append, with a wall-clock timestamp per line:
its own ``trace:`` marks (TCP connect, authentication, channel open, attach report, probe
start and win, held keys delivered, pings) and asyncssh's packet log (every SSH message sent
and received, by name). scripts/bench_reconnect.py ``--trace`` lines this up against the
moment the network came back and the moment the marker's output was on screen. Nothing is
written unless the variable is set; no secret is ever logged (asyncssh logs message names
and sizes here, not contents).
"""

from __future__ import annotations

import logging
import os

import asyncssh

TRACE_ENV = "TERMKEEP_TRACE"
_FORMAT = "%(created).6f %(name)s %(message)s"


class _FirstLine(logging.Formatter):
    """One line per record: asyncssh adds packet dumps that say nothing about timing."""

    def format(self, record: logging.LogRecord) -> str:
        return super().format(record).splitlines()[0]


def enable_from_env() -> str | None:
    """Start tracing to the file ``TERMKEEP_TRACE`` names; returns the path, or None."""
    path = os.environ.get(TRACE_ENV)
    if not path:
        return None
    handler = logging.FileHandler(path)
    handler.setFormatter(_FirstLine(_FORMAT))
    for name in ("termkeep", "asyncssh"):
        logger = logging.getLogger(name)
        logger.setLevel(logging.DEBUG)
        logger.addHandler(handler)
    # Level 3 logs each SSH message by name (the lower levels only some of them).
    asyncssh.set_debug_level(3)
    return path
