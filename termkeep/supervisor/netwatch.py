"""Notice local network changes (a new address, a changed route) by polling a fingerprint.

The fingerprint is ``platform.netroutes.local_network_fingerprint`` (``/proc/net``) unless a
test brings its own. The network is the same for every session of a process, so one
``NetworkWatch`` per event loop polls for all of them (``shared_watch``): ten tabs cost one
look a second, not ten.
"""

from __future__ import annotations

import asyncio
import logging
import weakref
from collections.abc import Callable, Hashable

from termkeep.supervisor.clock import Clock

_log = logging.getLogger(__name__)

POLL_INTERVAL = 1.0
"""Seconds between looks at the local addresses and routes."""

type FingerprintSource = Callable[[], Hashable]
type ChangeListener = Callable[[], None]


class NetworkWatch:
    """Polls one fingerprint source on one clock and tells every subscriber of a change.

    The poll runs only while someone is subscribed; the last ``unsubscribe`` stops it and
    returns the stopped task, for the caller to await.
    """

    def __init__(
        self,
        fingerprint: FingerprintSource,
        clock: Clock,
        *,
        on_idle: Callable[[], None] | None = None,
    ) -> None:
        self._fingerprint = fingerprint
        self._clock = clock
        self._listeners: list[ChangeListener] = []
        self._task: asyncio.Task[None] | None = None
        self._on_idle = on_idle
        """Called when the last subscriber left (the shared registry forgets the watch)."""

    def subscribe(self, listener: ChangeListener) -> None:
        """Call ``listener`` after every change from now on (one that raises is logged and
        the others are still called)."""
        self._listeners.append(listener)
        if self._task is None:
            last = self._fingerprint()  # the baseline is taken now, not a poll later
            self._task = asyncio.create_task(self._poll(last))

    def unsubscribe(self, listener: ChangeListener) -> asyncio.Task[None] | None:
        """Stop calling ``listener``; returns the poll task if this stopped it."""
        if listener in self._listeners:
            self._listeners.remove(listener)
        if self._listeners or self._task is None:
            return None
        task, self._task = self._task, None
        task.cancel()
        if self._on_idle is not None:
            self._on_idle()
        return task

    async def _poll(self, last: Hashable) -> None:
        while True:  # ends when the last subscriber leaves
            await self._clock.sleep_until(self._clock.now() + POLL_INTERVAL)
            current = self._fingerprint()
            if current == last:
                continue
            last = current
            for listener in list(self._listeners):
                try:
                    listener()
                except Exception:  # one broken subscriber must not deafen the others
                    _log.exception("network change listener failed")


_shared: weakref.WeakKeyDictionary[
    asyncio.AbstractEventLoop, dict[tuple[FingerprintSource, Clock], NetworkWatch]
] = weakref.WeakKeyDictionary()


def shared_watch(fingerprint: FingerprintSource, clock: Clock) -> NetworkWatch:
    """The running loop's watch of ``fingerprint`` on ``clock``, made on first use.

    Supervisors that share both (the app's tabs: the real fingerprint on the real clock)
    share one poll; a test's own fingerprint or fake clock gets a watch of its own.
    """
    watches = _shared.setdefault(asyncio.get_running_loop(), {})
    key = (fingerprint, clock)
    watch = watches.get(key)
    if watch is None:

        def forget() -> None:
            watches.pop(key, None)

        watch = watches[key] = NetworkWatch(fingerprint, clock, on_idle=forget)
    return watch
