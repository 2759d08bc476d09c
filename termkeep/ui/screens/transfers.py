"""Files over a tab's session: the transfers view and the questions of uploads and downloads
(the file lists are in ``file_lists``).

- ``TransfersScreen`` (prefix ``T``): every transfer of the tab with its state; cancel, retry.
- ``ExistingFileScreen``: the destination exists: overwrite, keep both or skip.
- ``PasteUploadScreen``: a paste of local file paths: upload them, or paste the text?

Every name shown here came from a file system, the server's included: it is shown as plain
text with its controls made visible, never as markup.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import ClassVar

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Label, OptionList, Static
from textual.widgets.option_list import Option

from termkeep.terminal.display_text import safe_text
from termkeep.transfers.model import (
    Existing,
    ExistingFile,
    TransferState,
    TransferView,
    size_text,
)
from termkeep.ui.plain_text import plain
from termkeep.ui.session_api import TabTransfers
from termkeep.ui.transfer_text import view_line

TRANSFERS_KEYS: tuple[tuple[str, str], ...] = (
    ("c", "cancel the highlighted transfer (its partial files go)"),
    ("r", "retry a failed or cancelled one (from where it stopped)"),
    ("escape", "close"),
)
"""The keys of the transfers view (prefix T), for the help."""


# --- questions ------------------------------------------------------------------------------


class ExistingFileScreen(ModalScreen[Existing]):
    """The destination exists: overwrite it, keep both (``name (1).ext``) or skip the file.
    Skip has the focus and escape skips: nothing is lost by a stray key."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("o", "answer('overwrite')", "overwrite"),
        Binding("k", "answer('keep both')", "keep both"),
        Binding("s,escape", "answer('skip')", "skip"),
    ]

    def __init__(self, existing: ExistingFile) -> None:
        super().__init__()
        self.existing = existing

    def compose(self) -> ComposeResult:
        existing = self.existing
        with Vertical(classes="dialog"):
            yield Label(
                plain(f"{safe_text(existing.path)} already exists on {existing.where}"),
                classes="question",
            )
            yield Static(
                plain(
                    f"There: {size_text(existing.size)}; the new one: "
                    f"{size_text(existing.source_size)}. Keep both writes the new one as "
                    "name (1).ext."
                ),
                classes="detail",
            )
            with Horizontal(classes="buttons"):
                yield Button("Overwrite", variant="error", id="overwrite")
                yield Button("Keep both", id="keep-both")
                yield Button("Skip", id="skip")

    def on_mount(self) -> None:
        self.query_one("#skip", Button).focus()

    @on(Button.Pressed)
    def _pressed(self, event: Button.Pressed) -> None:
        choices = {"overwrite": Existing.OVERWRITE, "keep-both": Existing.KEEP_BOTH}
        self.dismiss(choices.get(event.button.id or "", Existing.SKIP))

    def action_answer(self, choice: str) -> None:
        """Dismiss with ``choice`` (an ``Existing`` value)."""
        self.dismiss(Existing(choice))


class PasteChoice:
    """What the user made of a paste of local file paths."""

    UPLOAD = "upload"
    PASTE = "paste"


class PasteUploadScreen(ModalScreen[str | None]):
    """ "Upload N files to HOST:DIR, or paste the text?" Enter uploads (an upload never
    overwrites without asking); escape pastes nothing."""

    BINDINGS: ClassVar[list[BindingType]] = [Binding("escape", "cancel", "cancel")]

    def __init__(self, tab: str, paths: Sequence[str], target: str, note: str = "") -> None:
        super().__init__()
        self.tab = tab
        self.paths = list(paths)
        self.target = target
        self.note = note

    @property
    def question(self) -> str:
        count = len(self.paths)
        files = f"{count} file{'s' if count != 1 else ''}"
        return f"Upload {files} to {self.target}, or paste the text?"

    def compose(self) -> ComposeResult:
        names = [safe_text(path) for path in self.paths[:8]]
        if len(self.paths) > len(names):
            names.append(f"… and {len(self.paths) - len(names)} more")
        detail = "\n".join(names) + (f"\n\n{self.note}" if self.note else "")
        with Vertical(classes="dialog"):
            yield Label(plain(safe_text(self.question)), classes="question")
            yield Static(plain(detail, multiline=True), classes="detail")
            with Horizontal(classes="buttons"):
                yield Button("Upload", variant="primary", id="upload")
                yield Button("Paste the text", id="paste")
                yield Button("Cancel", id="cancel")

    def on_mount(self) -> None:
        self.query_one("#upload", Button).focus()

    @on(Button.Pressed)
    def _pressed(self, event: Button.Pressed) -> None:
        answers = {"upload": PasteChoice.UPLOAD, "paste": PasteChoice.PASTE}
        self.dismiss(answers.get(event.button.id or ""))

    def action_cancel(self) -> None:
        """Neither: nothing is uploaded or pasted."""
        self.dismiss(None)


# --- the transfers view ---------------------------------------------------------------------


class TransfersScreen(ModalScreen[None]):
    """Every transfer of the tab, newest last, with its state (queued, running, waiting for
    the link, done, failed and why); ``c`` cancels the highlighted one, ``r`` retries it."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape,q", "dismiss", "close"),
        Binding("c", "cancel_transfer", "cancel"),
        Binding("r", "retry_transfer", "retry"),
    ]

    def __init__(self, tab: str, transfers: TabTransfers) -> None:
        super().__init__()
        self.tab = tab
        self.transfers = transfers
        self._states: dict[int, TransferState] = {}

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog picker wide transfers"):
            yield Label(plain(f"Transfers of {self.tab}"), classes="question")
            yield OptionList(id="transfers", markup=False)
            yield Static("c cancel · r retry · escape close", id="transfers-hint", classes="hint")

    def on_mount(self) -> None:
        self.refresh_rows()
        self.transfers.add_listener(self._changed)
        # Progress comes ten times a second; a row's rate and time left once a second is
        # enough, and keeps repaints away from the tab's echo.
        self.set_interval(1.0, self.refresh_rows)
        self.query_one("#transfers", OptionList).focus()

    def on_unmount(self) -> None:
        self.transfers.remove_listener(self._changed)

    def _changed(self, view: TransferView) -> None:
        """A state change shows at once; progress waits for the next second."""
        if self.is_attached and self._states.get(view.id) is not view.state:
            self.refresh_rows()

    @property
    def rows(self) -> list[str]:
        """The lines shown now, in order."""
        options = self.query_one("#transfers", OptionList)
        return [str(options.get_option_at_index(i).prompt) for i in range(options.option_count)]

    def refresh_rows(self) -> None:
        """Show every transfer as it is now, keeping the highlight on the same one."""
        options = self.query_one("#transfers", OptionList)
        chosen = self._chosen()
        views = self.transfers.transfers()
        self._states = {view.id: view.state for view in views}
        options.clear_options()
        if not views:
            options.add_option(
                Option("No transfers yet: prefix u uploads, U downloads", id="none", disabled=True)
            )
            return
        options.add_options([Option(plain(view_line(view)), id=str(view.id)) for view in views])
        ids = [view.id for view in views]
        options.highlighted = ids.index(chosen) if chosen in ids else len(ids) - 1

    def _chosen(self) -> int | None:
        options = self.query_one("#transfers", OptionList)
        if options.highlighted is None:
            return None
        ident = options.get_option_at_index(options.highlighted).id
        return int(ident) if ident and ident.isdigit() else None

    def action_cancel_transfer(self) -> None:
        """Cancel the highlighted transfer if it is still to finish."""
        ident = self._chosen()
        if ident is not None:
            self.transfers.cancel(ident)
            self.refresh_rows()

    def action_retry_transfer(self) -> None:
        """Queue the highlighted failed or cancelled transfer again."""
        ident = self._chosen()
        if ident is None:
            return
        views = {view.id: view for view in self.transfers.transfers()}
        if ident in views and views[ident].state in {TransferState.FAILED, TransferState.CANCELLED}:
            self.transfers.retry(ident)
            self.refresh_rows()
