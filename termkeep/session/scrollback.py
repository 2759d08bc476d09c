"""A session's side service for the tmux pane's scrollback.

``RemoteScrollback`` reads the pane's history on a side channel of the session's own
connection, through a helper shell kept open there (one round trip a page), and falls back
to a command per page when the helper cannot be had.
"""

from __future__ import annotations

import asyncio

from termkeep.supervisor.phase import Phase
from termkeep.supervisor.state import Status
from termkeep.supervisor.supervisor import Supervisor
from termkeep.supervisor.updates import Update
from termkeep.tmux import scrollback
from termkeep.tmux.scrollback import (
    ScrollbackError,
    ScrollbackHelper,
    ScrollbackPage,
    SearchAnswer,
)
from termkeep.transport.link import Link


class RemoteScrollback:
    """The tmux pane's scrollback of one session, read over its attached connection."""

    def __init__(self, supervisor: Supervisor, tmux_session: str) -> None:
        self._supervisor = supervisor
        self._tmux_session = tmux_session
        self._helper: tuple[Link, ScrollbackHelper] | None = None
        self._warming: asyncio.Future[ScrollbackHelper | None] | None = None

    def available(self) -> bool:
        """Whether the session is attached to a tmux session whose history can be read."""
        link = self._supervisor.current_link
        return link is not None and link.tmux

    async def read_page(self, first: int, last: int) -> ScrollbackPage:
        """Lines ``first``..``last`` of the tmux pane (0 is the screen's top line), read on
        a side channel of the current connection. ScrollbackError when there is none."""
        link = self._supervisor.current_link
        if link is None or not link.tmux:
            raise ScrollbackError("the tab is not attached to a tmux session right now")
        helper = await self._helper_on(link)
        if helper is not None:
            try:
                return await helper.read_page(first, last)
            except ScrollbackError:
                # The helper shell went away (a server that gives commands no stdin, an
                # idle timeout): this page runs as a command of its own, the next one
                # opens a new helper.
                pass
        return await scrollback.read_page(link, self._tmux_session, first, last)

    async def search(
        self, pattern: str, cursor: int, *, forward: bool, context: int
    ) -> SearchAnswer:
        """Rows of the pane that may hold ``pattern`` (see ``scrollback.search``): one
        request on the current connection. ScrollbackError when there is none."""
        link = self._supervisor.current_link
        if link is None or not link.tmux:
            raise ScrollbackError("the tab is not attached to a tmux session right now")
        helper = await self._helper_on(link)
        if helper is not None:
            try:
                return await helper.search(pattern, cursor, forward=forward, context=context)
            except ScrollbackError:
                pass  # as for a page: this search runs as a command of its own
        return await scrollback.search(
            link, self._tmux_session, pattern, cursor, forward=forward, context=context
        )

    def keep_warm(self) -> None:
        """Open the helper whenever the session attaches to tmux (for a view that can show
        the remote scrollback; the headless attach has none and skips the channel)."""
        self._supervisor.add_listener(self._warm)

    def close(self) -> None:
        """Stop a warm-up in progress and close the helper."""
        if self._warming is not None:
            self._warming.cancel()
        if self._helper is not None:
            self._helper[1].close()
            self._helper = None

    async def _helper_on(self, link: Link) -> ScrollbackHelper | None:
        """The helper channel on ``link``'s connection, opened if need be (None if it cannot
        be: then each page runs as a command of its own)."""
        held = self._helper
        if held is not None and held[0] is link and not held[1].closed:
            return held[1]
        if held is not None:
            held[1].close()
        self._helper = None
        try:
            helper = await ScrollbackHelper.open(link, self._tmux_session)
        except ScrollbackError:
            return None
        if self._supervisor.current_link is not link:
            helper.close()
            return None
        self._helper = (link, helper)
        return helper

    def _warm(self, update: Update) -> None:
        # Open the helper as soon as the session is attached, so the first scrollback view
        # costs one round trip, not three.
        if not isinstance(update, Status) or update.state is not Phase.ATTACHED or self._warming:
            return
        link = self._supervisor.current_link
        if link is not None and link.tmux:
            self._warming = asyncio.ensure_future(self._helper_on(link))
            self._warming.add_done_callback(self._warmed)

    def _warmed(self, task: asyncio.Future[ScrollbackHelper | None]) -> None:
        self._warming = None
        if not task.cancelled():
            task.exception()  # retrieved: a failed warm-up only means the slow path
