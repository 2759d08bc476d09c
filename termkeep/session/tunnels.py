"""Keeps a TunnelSet on whatever SSH connection the supervisor has attached.

A tab and a ``termkeep tunnel`` run both do this: when the supervisor reports ``attached``
the forwards move onto that link (remote forwards are requested again), and
when it reports anything else new local connections wait for the next attach.
"""

from __future__ import annotations

import asyncio

from termkeep.supervisor.phase import Phase
from termkeep.supervisor.state import Status
from termkeep.supervisor.supervisor import Supervisor
from termkeep.supervisor.updates import Update
from termkeep.transport.link import Link
from termkeep.transport.tunnels import TunnelSet


class TunnelsOnLink:
    """Follows ``supervisor``'s attached link with ``tunnels``."""

    def __init__(self, supervisor: Supervisor, tunnels: TunnelSet) -> None:
        self._supervisor = supervisor
        self.tunnels = tunnels
        self._attaching: set[asyncio.Task[None]] = set()
        supervisor.add_listener(self._follow)

    def _follow(self, update: Update) -> None:
        if not isinstance(update, Status):
            return
        if update.state is not Phase.ATTACHED:
            self.tunnels.detach()
            return
        link = self._supervisor.current_link
        if link is not None:
            self._attach(link)

    def _attach(self, link: Link) -> None:
        task = asyncio.ensure_future(self.tunnels.attach(link))
        self._attaching.add(task)
        task.add_done_callback(self._attaching.discard)

    async def close(self) -> None:
        """Close the tunnels (listeners and connections) and any attach in progress."""
        for task in list(self._attaching):
            task.cancel()
        await self.tunnels.close()
