"""The broadcast picker: which tabs receive what is typed in the current one."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import ClassVar

from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Label, SelectionList, Static
from textual.widgets.selection_list import Selection

from termkeep.ui.plain_text import plain

PICKER_HINT = "space checks a tab · a checks all (again: none) · enter starts · escape cancels"


class BroadcastPickerScreen(ModalScreen[list[str] | None]):
    """Check the tabs that receive the typing; enter returns their ids (none checked: an
    empty list, which turns broadcasting off), escape returns None."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "cancel"),
        # Priority: the list would take enter (and any key) as its own.
        Binding("enter", "confirm", "start", priority=True),
        Binding("a", "all", "all", priority=True),
    ]

    def __init__(
        self, source_label: str, tabs: Sequence[tuple[str, str]], checked: Collection[str] = ()
    ) -> None:
        """``tabs`` are (id, label) of the other tabs, in tab order; ``checked`` the ids of
        those receiving now."""
        super().__init__()
        self.source_label = source_label
        self.tabs = list(tabs)
        self.checked = set(checked)

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog broadcast-picker"):
            yield Label(
                plain(f"Broadcast what is typed in {self.source_label} to:"), classes="question"
            )
            yield SelectionList[str](
                *(
                    Selection(plain(label), tab_id, tab_id in self.checked)
                    for tab_id, label in self.tabs
                ),
                id="targets",
            )
            yield Static(PICKER_HINT, classes="hint", markup=False)

    def on_mount(self) -> None:
        self.query_one("#targets", SelectionList).focus()

    @property
    def selection_list(self) -> SelectionList[str]:
        """The list of tabs."""
        return self.query_one("#targets", SelectionList)

    def action_all(self) -> None:
        """Check every tab; when all are checked already, uncheck them."""
        targets = self.selection_list
        if len(targets.selected) == targets.option_count:
            targets.deselect_all()
        else:
            targets.select_all()

    def action_confirm(self) -> None:
        """Broadcast to the checked tabs, in tab order."""
        chosen = set(self.selection_list.selected)
        self.dismiss([tab_id for tab_id, _ in self.tabs if tab_id in chosen])

    def action_cancel(self) -> None:
        """Leave broadcasting as it was."""
        self.dismiss(None)
