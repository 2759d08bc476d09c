"""Notice local network changes (a new address, a changed route) by polling ``/proc/net``.

When a laptop changes Wi-Fi or a VPN comes up, the old TCP connection is usually dead while
a new one would work at once. Comparing a fingerprint of the routes and local addresses once
a second is cheap (a few small files), needs no privileges and no netlink socket, and works
in any network namespace. Where ``/proc/net`` is missing the fingerprint is empty and never
changes, so the supervisor simply never hears of a change.

The network is the same for every session of a process, so one ``NetworkWatch`` per event
loop polls for all of them (``shared_watch``): ten tabs cost one look a second, not ten.
"""

from __future__ import annotations

import asyncio
import logging
import weakref
from collections.abc import Callable, Hashable
from pathlib import Path

from termkeep.supervisor.clock import Clock

_log = logging.getLogger(__name__)

PROC_NET = Path("/proc/net")

POLL_INTERVAL = 1.0
"""Seconds between looks at the local addresses and routes."""

type Fingerprint = frozenset[str]
type FingerprintSource = Callable[[], Hashable]
type ChangeListener = Callable[[], None]

# Columns that describe a route, leaving out counters (RefCnt, Use) that change all the time.
_IPV4_ROUTE_COLUMNS = (0, 1, 2, 3, 6, 7)  # Iface Destination Gateway Flags Metric Mask
_IPV6_ROUTE_COLUMNS = (0, 1, 2, 3, 4, 5, 8, 9)  # dest/len src/len next-hop metric flags iface
_IPV6_ADDRESS_COLUMNS = (0, 2, 5)  # address, prefix length, interface (not the DAD flags)


def local_network_fingerprint(proc_net: Path = PROC_NET) -> Fingerprint:
    """A value that changes when a local address or route changes, and only then."""
    return frozenset(
        [
            *(f"route4 {line}" for line in _columns(proc_net / "route", _IPV4_ROUTE_COLUMNS, 1)),
            *(f"route6 {line}" for line in _columns(proc_net / "ipv6_route", _IPV6_ROUTE_COLUMNS)),
            *(f"addr6 {line}" for line in _columns(proc_net / "if_inet6", _IPV6_ADDRESS_COLUMNS)),
            *(f"addr4 {address}" for address in _local_ipv4_addresses(proc_net / "fib_trie")),
        ]
    )


def _read(path: Path) -> list[str]:
    try:
        return path.read_text(encoding="ascii", errors="replace").splitlines()
    except OSError:
        return []


def _columns(path: Path, keep: tuple[int, ...], skip_header: int = 0) -> list[str]:
    """The chosen whitespace-separated columns of each line of a ``/proc/net`` table."""
    rows = []
    for line in _read(path)[skip_header:]:
        fields = line.split()
        if len(fields) > max(keep):
            rows.append(" ".join(fields[i] for i in keep))
    return rows


def _local_ipv4_addresses(fib_trie: Path) -> set[str]:
    """Addresses of this host: in fib_trie, a ``|-- ADDRESS`` line followed by a
    ``/32 host LOCAL`` line."""
    addresses = set()
    previous = ""
    for line in _read(fib_trie):
        text = line.strip()
        if text.endswith("host LOCAL") and previous.startswith("|-- "):
            addresses.add(previous.removeprefix("|-- "))
        if text.startswith("|-- "):
            previous = text
    return addresses


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
