"""Signals of the headless commands (``attach``, ``tunnel``): a kill, a hang-up or Ctrl-C
ends the command the normal way (ssh's exit code 255, the session's cleanup runs), and
their handlers go when the command ends."""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import Callable, Iterator, Mapping

STOP_SIGNALS = (signal.SIGTERM, signal.SIGHUP, signal.SIGINT)


def stopped_by(signum: int) -> str:
    """The line printed when a stop signal ends a command: ``stopped by SIGTERM``."""
    return f"stopped by {signal.Signals(signum).name}"


@contextlib.contextmanager
def signal_handlers(
    on_stop: Callable[[int], None], others: Mapping[signal.Signals, Callable[[], None]] = {}
) -> Iterator[None]:
    """Call ``on_stop(signum)`` on each stop signal and each of ``others``' handlers on its
    signal, while inside the block."""
    loop = asyncio.get_running_loop()
    for signum, handler in others.items():
        loop.add_signal_handler(signum, handler)
    for signum in STOP_SIGNALS:
        loop.add_signal_handler(signum, on_stop, signum)
    try:
        yield
    finally:
        for signum in (*others, *STOP_SIGNALS):
            loop.remove_signal_handler(signum)
