"""The tab bar and its panes: one SessionPane per tab, labels with a state marker."""

from __future__ import annotations

from itertools import count

from textual.content import Content
from textual.widgets import TabbedContent, TabPane, Tabs

from termkeep.terminal.activity import Mark
from termkeep.ui.plain_text import plain
from termkeep.ui.session_api import SessionLike
from termkeep.ui.widgets.session_pane import SessionPane, TerminalFactory
from termkeep.ui.widgets.status_line import marker

MARK_GLYPHS: tuple[tuple[Mark, str, str], ...] = (
    (Mark.BELL, "!", "$warning"),
    (Mark.DONE, "✓", "$success"),
    (Mark.ACTIVITY, "+", "$accent"),
)
"""How a background tab's label shows its marks: glyph and theme colour, in this order."""


def marks_content(marks: frozenset[Mark]) -> Content | None:
    """A label's marks (``!`` bell, ``✓`` done, else ``+`` new output); None for none. Done
    says more than activity, so a done tab shows ``✓`` alone."""
    shown = [
        Content.styled(glyph, f"bold {colour}")
        for mark, glyph, colour in MARK_GLYPHS
        if mark in marks and not (mark is Mark.ACTIVITY and Mark.DONE in marks)
    ]
    return Content.assemble(*shown) if shown else None


def marked_count_note(count: int) -> Content | None:
    """What the tab in front says of the others with marks."""
    if not count:
        return None
    return Content.styled(f"{count} tab{'s' if count != 1 else ''} marked", "$accent")


def _plain(content: Content | None) -> str | None:
    return None if content is None else content.plain


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

    def tmux_sessions_of(self, profile_name: str) -> list[str | None]:
        """The tmux sessions the open tabs on profile ``profile_name`` hold."""
        return [
            pane.session.tmux_session for pane in self.panes if pane.session.name == profile_name
        ]

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

    def on_session_pane_marks_changed(self, message: SessionPane.MarksChanged) -> None:
        """A tab's marks changed: its label shows them, the tab in front counts them."""
        message.stop()
        self.refresh_label(message.pane)
        self._count_marks()

    def _count_marks(self) -> None:
        active = self.active_session_pane
        if active is None:
            return
        note = marked_count_note(sum(pane.activity.marked for pane in self.panes))
        if _plain(note) != _plain(active.marked_note):
            active.marked_note = note
            active.refresh_status()

    def next_marked(self) -> SessionPane | None:
        """Show the next tab (after the one in front, wrapping) with a mark; None when no
        tab has one."""
        panes = self.panes
        current = self.active_session_pane
        start = panes.index(current) + 1 if current in panes else 0
        for offset in range(len(panes)):
            index = (start + offset) % len(panes)
            if panes[index].activity.marked:
                self.select(index)
                return panes[index]
        return None

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
            other.set_shown(other is pane)
            if other is not pane:
                other.marked_note = None  # only the tab in front counts the marks
        if pane is not None:
            self._count_marks()
            pane.refresh_status()
            pane.focus_terminal()

    def focus_active(self) -> None:
        """Give the keyboard to the active tab's terminal."""
        pane = self.active_session_pane
        if pane is not None:
            pane.focus_terminal()

    @staticmethod
    def label_for(pane: SessionPane) -> Content:
        """The tab label: state marker, broadcast mark and activity marks if any, and the
        pane's label, as plain content (the label may be a remote title)."""
        pieces: list[Content | str] = [marker(pane.status.state), " "]
        for mark in (pane.broadcast_mark, marks_content(pane.activity.marks)):
            if mark is not None:
                pieces += [mark, " "]
        return Content.assemble(*pieces, plain(pane.label))
