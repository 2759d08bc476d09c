"""Stop signals, handled on the event loop for the length of a block and put back after it.

What a stop *means* (the exit code, the message, how long cleanup may take) is the caller's;
this is only the part a port to another system would touch.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import Callable, Iterator, Mapping

STOP_SIGNALS = (signal.SIGTERM, signal.SIGHUP, signal.SIGINT)
"""The signals that end a headless command (a closed window sends SIGHUP)."""


@contextlib.contextmanager
def signal_handlers(
    on_stop: Callable[[int], None], others: Mapping[signal.Signals, Callable[[], None]]
) -> Iterator[None]:
    """``on_stop(signum)`` on each stop signal and each of ``others``' handlers on its
    signal, while inside the block; the handlers from before are back afterwards."""
    loop = asyncio.get_running_loop()
    signums = (*others, *STOP_SIGNALS)
    before = {signum: signal.getsignal(signum) for signum in signums}
    for signum, handler in others.items():
        loop.add_signal_handler(signum, handler)
    for signum in STOP_SIGNALS:
        loop.add_signal_handler(signum, on_stop, signum)
    try:
        yield
    finally:
        for signum in signums:
            loop.remove_signal_handler(signum)
            previous = before[signum]
            if previous is not None:  # None: set outside Python, nothing to put back
                signal.signal(signum, previous)
