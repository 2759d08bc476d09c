"""Broadcast input: what is typed in one tab (the source) also goes to the tabs picked to
receive it, as iTerm2's broadcast, Terminator's groups or tmux's synchronize-panes do.

Keys travel as keys (``TypedKey``), not bytes: each receiving tab encodes them for its own
remote's modes (application cursor keys, the kitty protocol) and wraps a paste in
bracketed-paste markers only if its own remote asked for them. They go through the receiving
tab's own input path, ``SessionLike.write``, so a tab that is reconnecting holds them like
keys typed into it and delivers them at reattach.

Only what the source's terminal body sends its remote is relayed: the prefix key, the app's
actions, dialogs and the scrollback view never reach it (the app routes them elsewhere), and the
prefix key itself is dropped here in case it is passed through (prefix pressed twice).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from textual.content import Content

from termkeep.config.settings import canonical_event_key
from termkeep.ui.plain_text import plain
from termkeep.ui.typed_input import Typed, TypedKey, TypingBody

if TYPE_CHECKING:
    from termkeep.ui.widgets.session_pane import SessionPane

SOURCE_GLYPH = "⇶"
"""On the label of the tab whose typing is broadcast."""
TARGET_GLYPH = "⇉"
"""On the label of each tab that receives it."""
_MARK_STYLE = "bold $warning"
SOURCE_NAME_LIMIT = 40
"""Characters of the source tab's name in a receiving tab's status line."""


def source_mark() -> Content:
    """The source tab's label mark."""
    return Content.styled(SOURCE_GLYPH, _MARK_STYLE)


def target_mark() -> Content:
    """A receiving tab's label mark."""
    return Content.styled(TARGET_GLYPH, _MARK_STYLE)


def tabs_word(count: int) -> str:
    """``1 tab``, ``3 tabs``."""
    return f"{count} tab{'s' if count != 1 else ''}"


class Broadcast:
    """Which tab's typing goes to which other tabs; keeps their marks and status lines."""

    def __init__(self, prefix: str, stop_hint: str, relabel: Callable[[SessionPane], None]) -> None:
        self._prefix = prefix
        self._stop_hint = stop_hint
        """How to turn it off (``ctrl+\\ B stops``), for the source's status line."""
        self._relabel = relabel
        self.source: SessionPane | None = None
        self.targets: list[SessionPane] = []
        self._source_label = ""
        """The source's label the receiving tabs' status lines name."""

    @property
    def on(self) -> bool:
        """Whether typing is being broadcast."""
        return self.source is not None

    def start(self, source: SessionPane, targets: Sequence[SessionPane]) -> bool:
        """From now on, what is typed in ``source`` also goes to ``targets`` (this replaces a
        broadcast going on). False when the source's terminal cannot tell what is typed."""
        body = source.body
        if not isinstance(body, TypingBody):
            return False
        self.stop()
        self.source = source
        self.targets = [target for target in targets if target is not source]
        body.on_typed = self.relay
        self._mark(source, source_mark(), self._source_note())
        self._mark_targets()
        return True

    def label_changed(self, pane: SessionPane) -> None:
        """A tab's label may have changed (a remote title, a rename): receiving tabs name
        their source by its current label."""
        if pane is self.source and pane.label != self._source_label:
            self._mark_targets()

    def _mark_targets(self) -> None:
        if self.source is None:
            return
        self._source_label = self.source.label
        note = Content.assemble(
            target_mark(),
            " receives what is typed in ",
            plain(self._source_label, limit=SOURCE_NAME_LIMIT),
        )
        for target in self.targets:
            self._mark(target, target_mark(), note)

    def stop(self) -> bool:
        """Broadcast no more; True if it was on."""
        source, targets = self.source, self.targets
        if source is None:
            return False
        self.source, self.targets = None, []
        body = source.body
        if isinstance(body, TypingBody):
            body.on_typed = None
        for pane in (source, *targets):
            self._mark(pane, None, None)
        return True

    def forget(self, pane: SessionPane) -> str | None:
        """``pane``'s tab is closing: it leaves the broadcast. What to tell the user when
        that ended broadcasting."""
        if pane is self.source:
            self.stop()
            return "Broadcast input is off: its source tab closed"
        if pane not in self.targets:
            return None
        self.targets.remove(pane)
        if not self.targets:
            self.stop()
            return "Broadcast input is off: no receiving tab is left"
        if self.source is not None:
            self._mark(self.source, source_mark(), self._source_note())
        return None

    def relay(self, typed: Typed) -> None:
        """Send what was typed in the source to every receiving tab, encoded by each."""
        if isinstance(typed, TypedKey) and canonical_event_key(typed.key) == self._prefix:
            return
        for target in self.targets:
            body = target.body
            if not isinstance(body, TypingBody):
                continue
            try:
                body.receive_typed(typed)
            except Exception as error:
                # One receiving tab's trouble is its own: the source and the others go on.
                target.fail(error, "broadcast input")

    def _source_note(self) -> Content:
        count = tabs_word(len(self.targets))
        return Content.assemble(source_mark(), f" broadcasting to {count} ({self._stop_hint})")

    def _mark(self, pane: SessionPane, mark: Content | None, note: Content | None) -> None:
        pane.broadcast_mark = mark
        pane.broadcast_note = note
        if pane.is_attached:
            self._relabel(pane)
            pane.refresh_status()
