"""How a headless command (``attach``, ``tunnel``) stops: the one place for its stop semantics.

Whatever the command is doing (connecting, waiting at a password prompt, in the middle of a
reconnect) and whatever state its terminal is in (closed window, closed pipe), these hold:

1. SIGTERM, SIGHUP and SIGINT end it with ssh's code for that case, 255.
2. The outcome is settled *before* anything is written. A message that cannot be shown (EIO
   from a hung-up terminal, EPIPE under ``| head -1``) is dropped; it never keeps the
   command running.
3. Cleanup runs (listeners closed, connections closed, records written) but within
   ``CLOSE_WITHIN`` seconds; a second stop signal stops waiting for it at once.
4. After the event loop ends, a worker thread that is still busy (a resolver that does not
   answer) does not hold the exit either (``run_to_exit``).

A command makes one ``HeadlessRun`` with the session cores it keeps, calls
``finish(code, message)`` for its own reasons to end (the session ended, a profile gave
up, the user typed ``~.``), and awaits ``run()``: the cores start one after the other and
close together however the run ends, so ``attach`` and ``tunnel`` cannot stop differently.
The signal handling itself is ``platform.signals``'.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import sys
import threading
import warnings
from collections.abc import Awaitable, Callable, Coroutine, Mapping, Sequence
from typing import Any, Protocol, override

from termkeep.platform.signals import signal_handlers
from termkeep.platform.tty import STDERR_FD, write_fully
from termkeep.terminal.ssh_text import ssh_visible

EXIT_OK = 0
EXIT_GAVE_UP = 255
"""What ssh returns when the connection, not the remote command, ended it (a signal too)."""
CLOSE_WITHIN = 1.0
"""Seconds cleanup may take after a stop before the command exits anyway."""
THREADS_WITHIN = 0.5
"""Seconds worker threads get to finish once the loop is done, before the process exits."""

type Say = Callable[[str], None]

_log = logging.getLogger(__name__)


def stopped_by(signum: int) -> str:
    """The line printed when a stop signal ends a command: ``stopped by SIGTERM``."""
    return f"stopped by {signal.Signals(signum).name}"


class Stop:
    """The outcome of one headless command and the way it ends."""

    def __init__(self, say: Say) -> None:
        self._say = say
        self._outcome: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        self._closing: asyncio.Future[None] | None = None

    @property
    def finished(self) -> bool:
        """Whether the outcome is settled (the command is ending)."""
        return self._outcome.done()

    def finish(self, code: int, message: str | None = None) -> None:
        """End with ``code``; ``message`` is shown if it still can be. The first call wins."""
        if self._outcome.done():
            return
        self._outcome.set_result(code)
        if message:
            try:
                self._say(message)
            except Exception:  # whatever the output did, the command is ending
                _log.debug("could not show %r", message, exc_info=True)

    async def run(
        self,
        start: Callable[[], Awaitable[None]],
        close: Callable[[], Awaitable[None]],
        *,
        signals: Mapping[signal.Signals, Callable[[], None]] | None = None,
    ) -> int:
        """Run ``start``, then wait for the outcome; ``close`` runs however it ends."""
        with signal_handlers(self._on_stop_signal, signals or {}):
            try:
                await self._start(start)
                return await self._outcome
            finally:
                await self._close(close)

    async def _start(self, start: Callable[[], Awaitable[None]]) -> None:
        """``start`` may still be running when a stop comes: the stop wins."""
        starting = asyncio.ensure_future(start())
        either: set[asyncio.Future[Any]] = {starting, self._outcome}
        await asyncio.wait(either, return_when=asyncio.FIRST_COMPLETED)
        if not starting.done():
            starting.cancel()
            await asyncio.wait({starting})
        if not starting.cancelled():
            starting.result()  # start's own error, if it failed

    async def _close(self, close: Callable[[], Awaitable[None]]) -> None:
        self._closing = asyncio.ensure_future(close())
        done, _ = await asyncio.wait({self._closing}, timeout=CLOSE_WITHIN)
        if not done:
            _log.debug("cleanup took longer than %s s; exiting anyway", CLOSE_WITHIN)
            self._closing.cancel()
        elif not self._closing.cancelled() and self._closing.exception() is not None:
            _log.debug("cleanup failed", exc_info=self._closing.exception())

    def _on_stop_signal(self, signum: int) -> None:
        if self._closing is not None and not self._closing.done():
            self._closing.cancel()  # told again while cleaning up: stop waiting for it
        self.finish(EXIT_GAVE_UP, stopped_by(signum))


class Runnable(Protocol):
    """What a headless run starts and closes (a ``SessionCore``)."""

    async def start(self) -> None: ...
    async def close(self) -> None: ...


class HeadlessRun:
    """The session cores of one headless command, run under one ``Stop``."""

    def __init__(self, say: Say, cores: Sequence[Runnable] = ()) -> None:
        """``say`` shows a line to the user (the messages of ``finish`` and of signals)."""
        self._stop = Stop(say)
        self._cores = list(cores)

    def add(self, core: Runnable) -> None:
        """Run ``core`` too (before ``run``)."""
        self._cores.append(core)

    def finish(self, code: int, message: str | None = None) -> None:
        """End with ``code``; ``message`` is shown if it still can be. The first call wins."""
        self._stop.finish(code, message)

    async def run(
        self,
        *,
        release: Callable[[], None] | None = None,
        signals: Mapping[signal.Signals, Callable[[], None]] | None = None,
    ) -> int:
        """Start the cores, wait for the outcome, close them; the exit code. ``release``
        runs first when closing (the user's terminal is theirs again whatever fails);
        ``signals`` are handled meanwhile (SIGWINCH for a terminal's size)."""

        async def close() -> None:
            try:
                if release is not None:
                    release()
            finally:
                await self._close_cores()

        return await self._stop.run(self._start_cores, close, signals=signals)

    async def _start_cores(self) -> None:
        for core in self._cores:
            await core.start()

    async def _close_cores(self) -> None:
        # Each core's listeners and connection close even if another's close failed.
        results = await asyncio.gather(
            *(core.close() for core in self._cores), return_exceptions=True
        )
        for result in results:
            if isinstance(result, BaseException):
                _log.debug("closing a session failed", exc_info=result)


def run_to_exit(main: Coroutine[Any, Any, int]) -> int:
    """Run a headless command's coroutine and return its exit code, without letting a worker
    thread that is still busy (a blocked resolver) hold the process after it is done."""
    logging.lastResort = _VisibleLastResort()
    with asyncio.Runner() as runner:
        code = runner.run(main)
        if not runner.run(_threads_finished(THREADS_WITHIN)):
            _exit_now(code)
    return code


async def _threads_finished(bound: float) -> bool:
    with warnings.catch_warnings():  # the timeout is expected here, not news to the user
        warnings.simplefilter("ignore", RuntimeWarning)
        loop = asyncio.get_running_loop()
        assert isinstance(loop, asyncio.BaseEventLoop)  # the only kind asyncio.Runner makes
        await loop.shutdown_default_executor(timeout=bound)
    return not any(
        thread.is_alive() and not thread.daemon
        for thread in threading.enumerate()
        if thread is not threading.main_thread()
    )


def _exit_now(code: int) -> None:
    """Leave now: the work is done and a stuck thread would only delay the exit."""
    logging.shutdown()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()
    os._exit(code)


class _VisibleLastResort(logging.Handler):
    """Warnings nobody else handles, on stderr with ssh's rules (they may quote a server)
    and never raising on a stderr that is gone; replaces logging's own last resort."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)

    @override
    def emit(self, record: logging.LogRecord) -> None:
        with contextlib.suppress(Exception):
            text = ssh_visible(self.format(record))
            write_fully(STDERR_FD, f"{text}\n".encode())
