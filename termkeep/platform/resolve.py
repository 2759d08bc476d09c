"""The addresses of a host for each connection attempt, without a thread per attempt.

asyncio's ``getaddrinfo`` runs every lookup on the loop's default executor, which starts a
thread for each lookup that finds no idle one and never stops it. During an outage every
tab probes its host every 250-500 ms, so six tabs on one host kept up to six lookups in
flight and the app grew a thread for each (its stack and malloc arena resident for the rest
of the day). Two rules keep that to what is needed: an address literal (what most saved
hosts and every test use) is parsed here, which never blocks nor queries anything; and the
lookups of one name and port that overlap share one, whatever the number of tabs.

Nothing is cached past the lookup: every attempt after it asks the system again, so a name
that moved is followed as before.
"""

from __future__ import annotations

import asyncio
import functools
import socket
import weakref
from typing import Any

type AddressInfo = tuple[socket.AddressFamily, socket.SocketKind, int, str, tuple[Any, ...]]

_in_flight: weakref.WeakKeyDictionary[
    asyncio.AbstractEventLoop, dict[tuple[str, int], asyncio.Future[list[AddressInfo]]]
] = weakref.WeakKeyDictionary()
"""Per event loop, the lookups running now."""


async def resolve(host: str, port: int) -> list[AddressInfo]:
    """The stream addresses of ``host``, like ``loop.getaddrinfo``; raises
    ``socket.gaierror`` as it does."""
    literal = _literal(host, port)
    if literal is not None:
        return literal
    # Shielded: one attempt given up (its connect timeout) must not cancel the others'.
    return await asyncio.shield(_shared_lookup(host, port))


def _literal(host: str, port: int) -> list[AddressInfo] | None:
    try:
        return socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_NUMERICHOST)
    except socket.gaierror:
        return None  # a name, not an address


def _shared_lookup(host: str, port: int) -> asyncio.Future[list[AddressInfo]]:
    loop = asyncio.get_running_loop()
    running = _in_flight.setdefault(loop, {})
    key = (host, port)
    lookup = running.get(key)
    if lookup is None:
        resolve_now = functools.partial(socket.getaddrinfo, host, port, type=socket.SOCK_STREAM)
        lookup = loop.run_in_executor(None, resolve_now)
        running[key] = lookup
        lookup.add_done_callback(functools.partial(_finished, running, key))
    return lookup


def _finished(
    running: dict[tuple[str, int], asyncio.Future[list[AddressInfo]]],
    key: tuple[str, int],
    lookup: asyncio.Future[list[AddressInfo]],
) -> None:
    if running.get(key) is lookup:
        del running[key]
    if not lookup.cancelled():
        lookup.exception()  # seen here: every attempt that waited for it may be gone
