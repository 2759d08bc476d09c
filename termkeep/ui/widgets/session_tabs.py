"""The tab bar and its panes: one SessionPane per tab, labels with a state marker."""

from __future__ import annotations

from itertools import count

from textual.content import Content
from textual.widgets import TabbedContent, TabPane, Tabs

from termkeep.ui.plain_text import plain
from termkeep.ui.session_api import SessionLike
from termkeep.ui.widgets.session_pane import SessionPane, TerminalFactory
from termkeep.ui.widgets.status_line import marker


class SessionTabs(TabbedContent):
    """TabbedContent that knows its panes are sessions."""

    def __init__(self, terminal_factory: TerminalFactory) -> None:
        super().__init__()
        self._terminal_factory = terminal_factory
        self._ids = count(1)

    @property
    def panes(self) -> list[SessionPane]:
        """Session panes in tab order."""
        return list(self.query(SessionPane))

    @property
    def active_session_pane(self) -> SessionPane | None:
        """The pane of the active tab, if any tab is open."""
        if not self.active:
            return None
        tab_pane = self.get_pane(self.active)
        return tab_pane.query_one(SessionPane)

    async def open(self, session: SessionLike, label: str | None = None) -> SessionPane:
        """Add a tab for ``session`` (named ``label`` if given), make it active and give it
        the keyboard."""
        number = next(self._ids)
        pane = SessionPane(session, self._terminal_factory, id=f"session-{number}")
        pane.custom_label = label
        tab_id = f"tab-{number}"
        await self.add_pane(TabPane(self.label_for(pane), pane, id=tab_id))
        self.active = tab_id
        pane.focus_terminal()
        return pane

    async def close(self, pane: SessionPane) -> None:
        """Remove the tab holding ``pane`` (the caller closes the session)."""
        tab_pane = pane.parent
        if isinstance(tab_pane, TabPane) and tab_pane.id is not None:
            await self.remove_pane(tab_pane.id)
        self.focus_active()

    def on_session_pane_clipboard_set(self, message: SessionPane.ClipboardSet) -> None:
        """A tab's remote set the clipboard: the tab on screen says so, naming the writer when
        it is another (a background tab's write is never silent)."""
        message.stop()
        active = self.active_session_pane
        if active is None:
            return
        count = message.characters
        size = f"{count} character{'s' if count != 1 else ''}"
        if active is message.pane:
            active.flash(f"clipboard set ({size})")
        else:
            active.flash(f"clipboard set by {message.pane.label} ({size})")

    def refresh_label(self, pane: SessionPane) -> None:
        """Redraw the tab label of ``pane`` (after a state, title or name change)."""
        tab_pane = pane.parent
        if isinstance(tab_pane, TabPane) and tab_pane.id is not None:
            self.get_tab(tab_pane.id).label = self.label_for(pane)

    def select(self, index: int) -> bool:
        """Activate the tab at ``index`` (0-based); False when there is no such tab."""
        panes = self.panes
        if not 0 <= index < len(panes):
            return False
        tab_pane = panes[index].parent
        if isinstance(tab_pane, TabPane) and tab_pane.id is not None:
            self.active = tab_pane.id
        self.focus_active()
        return True

    def step(self, delta: int) -> None:
        """Move to the next (+1) or previous (-1) tab, wrapping around."""
        panes = self.panes
        current = self.active_session_pane
        if not panes or current is None:
            return
        self.select((panes.index(current) + delta) % len(panes))

    def on_mount(self) -> None:
        # The tab bar must never take the keyboard: with focus there, arrows would switch
        # tabs and typing would go nowhere. Tabs still switch by mouse and by the prefix keys.
        self.query_one(Tabs).can_focus = False

    def on_tabbed_content_tab_activated(self) -> None:
        """A tab is shown: its status line catches up and ticks (the others stop ticking),
        and its terminal gets the keyboard."""
        pane = self.active_session_pane
        for other in self.panes:
            other.set_ticking(other is pane)
        if pane is not None:
            pane.refresh_status()
            pane.focus_terminal()

    def focus_active(self) -> None:
        """Give the keyboard to the active tab's terminal."""
        pane = self.active_session_pane
        if pane is not None:
            pane.focus_terminal()

    @staticmethod
    def label_for(pane: SessionPane) -> Content:
        """The tab label: state marker, broadcast mark if any, and the pane's label, as plain
        content (the label may be a remote title)."""
        mark = pane.broadcast_mark
        if mark is None:
            return Content.assemble(marker(pane.status.state), " ", plain(pane.label))
        return Content.assemble(marker(pane.status.state), " ", mark, " ", plain(pane.label))
