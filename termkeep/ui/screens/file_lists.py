"""The file lists of uploads and downloads.

- ``LocalFilePicker`` (prefix ``u``): this computer's files, fuzzy over the directory typed
  so far; a typed path (``~`` too) is taken as it is.
- ``RemoteBrowserScreen`` (prefix ``U``): a directory on the server (name, size, age), type
  to filter, enter on a folder goes in; a symlink is followed only inside the listed tree.

Every name shown here came from a file system, the server's included: it is shown as plain
text with its controls made visible, never as markup.
"""

from __future__ import annotations

import os
import posixpath
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

from textual import on, work
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Input, Label, OptionList, Static
from textual.widgets.option_list import Option

from termkeep.terminal.display_text import safe_text
from termkeep.transfers.model import (
    size_text,
)
from termkeep.transport.remote_files import EntryKind, RemoteEntry
from termkeep.ui.plain_text import plain
from termkeep.ui.screens.dialogs import fuzzy_filter
from termkeep.ui.session_api import RemoteListingError, TabTransfers
from termkeep.ui.transfer_text import age_text

FILE_KEYS: tuple[tuple[str, str], ...] = (
    ("type", "filter (fuzzy); in the local picker a path, ~ for home"),
    ("enter", "the marked files, else: a folder goes in, a file is uploaded or downloaded"),
    ("tab", "mark or unmark a file (several at once); on a folder, go in"),
    ("..", "remote list: the folder above"),
    ("escape", "close"),
)
"""The keys of the local picker (prefix u) and the remote list (prefix U), for the help."""


MAX_LOCAL_ENTRIES = 5_000
"""Entries of one local directory listed at most."""


# --- the local file picker ------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class LocalListing:
    """A local directory's entries: directories (names ending in ``/``) first, then files."""

    directory: Path
    names: list[str]
    problem: str = ""


def local_listing(directory: Path) -> LocalListing:
    """``directory``'s entries, hidden ones last, at most MAX_LOCAL_ENTRIES; a directory that
    cannot be read gives a problem in words."""
    try:
        with os.scandir(directory) as scan:
            entries = [entry for _, entry in zip(range(MAX_LOCAL_ENTRIES), scan, strict=False)]
    except OSError as error:
        return LocalListing(directory, [], f"{directory}: {error.strerror or error}")
    folders: list[str] = []
    files: list[str] = []
    for entry in entries:
        try:
            is_dir = entry.is_dir()
        except OSError:
            is_dir = False
        (folders if is_dir else files).append(entry.name + ("/" if is_dir else ""))
    ordered = sorted(folders, key=_listing_order) + sorted(files, key=_listing_order)
    return LocalListing(directory, ordered)


def _listing_order(name: str) -> tuple[bool, str]:
    return (name.startswith("."), name.lower())


def split_typed(typed: str, start: Path) -> tuple[Path, str]:
    """The directory a typed path lists and the part still to match: ``~/pro`` lists the
    home directory, matching ``pro``; ``rep`` lists ``start``, matching ``rep``."""
    head, tail = os.path.split(expand_home(typed))
    if not head:
        return start, tail
    return start / head, tail  # an absolute head replaces start


def expand_home(typed: str) -> str:
    """``~`` and ``~/...`` as the home directory; a trailing slash is kept (it means "list
    this folder")."""
    if typed == "~" or typed.startswith("~/"):
        return str(Path.home()) + typed[1:]
    return typed


MARK = "✓ "


def marked_label(text: str, marked: bool) -> str:
    """A row's text with the mark of a file chosen with tab."""
    return f"{MARK}{text}" if marked else f"  {text}"


class LocalFilePicker(ModalScreen[list[Path] | None]):
    """Pick local files to upload: type to filter (fuzzy) the directory typed so far; enter
    on a folder goes in, on a file picks it; a typed path to a file is taken as it is; tab
    marks files (as in fzf), in any folder, and enter then takes the marked ones."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "cancel"),
        Binding("down", "move(1)", "next", show=False),
        Binding("up", "move(-1)", "previous", show=False),
        Binding("tab", "mark", "mark", show=False, priority=True),
    ]

    def __init__(self, title: str, start: Path) -> None:
        super().__init__()
        self.title_text = title
        self.start = start
        self._listing = LocalListing(start, [])
        self.marked: list[Path] = []
        """Files marked with tab, in the order they were marked."""

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog picker wide"):
            yield Label(plain(self.title_text), classes="question")
            yield Static(plain(str(self.start)), id="where", classes="hint")
            yield Input(placeholder="type to filter, or a path (~ works)", id="path")
            yield OptionList(id="choices", markup=False)
            yield Static("", id="problem", classes="hint")

    def on_mount(self) -> None:
        self._show("")
        self.query_one("#path", Input).focus()

    @property
    def shown(self) -> list[str]:
        """The names listed now, in order."""
        options = self.query_one("#choices", OptionList)
        return [str(options.get_option_at_index(i).id) for i in range(options.option_count)]

    @on(Input.Changed, "#path")
    def _typed(self, event: Input.Changed) -> None:
        self._show(event.value)

    def _show(self, typed: str) -> None:
        directory, pattern = split_typed(typed, self.start)
        if directory != self._listing.directory or not self._listing.names:
            self._listing = local_listing(directory)
        self.query_one("#where", Static).update(plain(safe_text(str(directory))))
        self.query_one("#problem", Static).update(plain(safe_text(self._listing.problem)))
        names = fuzzy_filter(pattern, self._listing.names)
        options = self.query_one("#choices", OptionList)
        options.clear_options()
        options.add_options([Option(self.label_for(directory, name), id=name) for name in names])
        if names:
            options.highlighted = 0

    def label_for(self, directory: Path, name: str) -> Content:
        return plain(marked_label(safe_text(name), directory / name in self.marked))

    def _highlighted(self) -> str | None:
        options = self.query_one("#choices", OptionList)
        if options.highlighted is None:
            return None
        return str(options.get_option_at_index(options.highlighted).id)

    def _go_into(self, name: str) -> None:
        typed = self.query_one("#path", Input)
        directory, _ = split_typed(typed.value, self.start)
        typed.value = str(directory / name.rstrip("/")) + "/"
        typed.cursor_position = len(typed.value)

    @on(Input.Submitted, "#path")
    def _submit(self, event: Input.Submitted) -> None:
        if self.marked:
            self.dismiss(list(self.marked))
            return
        typed = expand_home(event.value.strip())
        if typed:
            path = self.start / typed  # an absolute path replaces start
            if path.is_file():
                self.dismiss([path])
                return
        name = self._highlighted()
        if name is None:
            self.query_one("#problem", Static).update(plain(f"{typed}: no such file"))
            return
        self._pick(name)

    @on(OptionList.OptionSelected)
    def _selected(self, event: OptionList.OptionSelected) -> None:
        self._pick(str(event.option.id))

    def _pick(self, name: str) -> None:
        if self.marked:
            self.dismiss(list(self.marked))
            return
        if name.endswith("/"):
            self._go_into(name)
            return
        directory, _ = split_typed(self.query_one("#path", Input).value, self.start)
        self.dismiss([directory / name])

    def action_mark(self) -> None:
        """Mark (or unmark) the highlighted file and move on; on a folder, go in."""
        name = self._highlighted()
        if name is None:
            return
        if name.endswith("/"):
            self._go_into(name)
            return
        directory, _ = split_typed(self.query_one("#path", Input).value, self.start)
        path = directory / name
        if path in self.marked:
            self.marked.remove(path)
        else:
            self.marked.append(path)
        options = self.query_one("#choices", OptionList)
        if options.highlighted is not None:
            options.replace_option_prompt_at_index(
                options.highlighted, self.label_for(directory, name)
            )
        count = len(self.marked)
        said = f"{count} marked: enter uploads {'it' if count == 1 else 'them'}" if count else ""
        self.query_one("#problem", Static).update(plain(said))
        self.action_move(1)

    def action_move(self, delta: int) -> None:
        """Move the highlight while the path keeps the keyboard."""
        options = self.query_one("#choices", OptionList)
        if options.option_count:
            options.highlighted = ((options.highlighted or 0) + delta) % options.option_count

    def action_cancel(self) -> None:
        """Close without a file."""
        self.dismiss(None)


# --- the remote browser ---------------------------------------------------------------------

UP = ".."


def inside(path: str, root: str) -> bool:
    """Whether the absolute remote ``path`` is ``root`` or below it."""
    path, root = posixpath.normpath(path), posixpath.normpath(root)
    return path == root or path.startswith(root.rstrip("/") + "/")


def entry_line(entry: RemoteEntry, now: float | None = None) -> str:
    """``name/`` or ``name  12.3 MB  3 h 5 min`` (controls in the name made visible)."""
    name = safe_text(entry.name)
    if entry.kind is EntryKind.DIRECTORY:
        return f"{name}/"
    mark = " ->" if entry.kind is EntryKind.SYMLINK else ""
    age = age_text(entry.mtime, now)
    return f"{name}{mark}  {size_text(entry.size)}  {age}".rstrip()


class RemoteBrowserScreen(ModalScreen[list[str] | None]):
    """A directory on the server: type to filter (fuzzy), enter on a folder goes in, on a
    file downloads it, ``..`` goes up; tab marks files (in any folder) and enter then takes
    the marked ones. A symlink is followed only when it resolves inside the tree listed
    from (the directory it opened on, or one the user went up to)."""

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("escape", "cancel", "cancel"),
        Binding("down", "move(1)", "next", show=False),
        Binding("up", "move(-1)", "previous", show=False),
        Binding("tab", "mark", "mark", show=False, priority=True),
    ]

    def __init__(self, title: str, transfers: TabTransfers, start: str) -> None:
        super().__init__()
        self.title_text = title
        self.transfers = transfers
        self.directory = start
        self.root = start
        """The listed tree: symlinks are followed only when they resolve inside it."""
        self.entries: dict[str, RemoteEntry] = {}
        self.loaded = False
        self.marked: list[str] = []
        """Remote files marked with tab, in the order they were marked."""

    def compose(self) -> ComposeResult:
        with Vertical(classes="dialog picker wide"):
            yield Label(plain(self.title_text), classes="question")
            yield Static(plain(safe_text(self.directory)), id="where", classes="hint")
            yield Input(placeholder="type to filter", id="filter")
            yield OptionList(id="choices", markup=False)
            yield Static("", id="problem", classes="hint")

    def on_mount(self) -> None:
        self.query_one("#filter", Input).focus()
        self._load(self.directory)

    @property
    def shown(self) -> list[str]:
        """The entry names listed now, in order (``..`` first)."""
        options = self.query_one("#choices", OptionList)
        return [str(options.get_option_at_index(i).id) for i in range(options.option_count)]

    def say(self, problem: str) -> None:
        """Show a problem in one line under the list."""
        self.query_one("#problem", Static).update(plain(safe_text(problem)))

    @work(exclusive=True, group="listing")
    async def _load(self, directory: str) -> None:
        self.loaded = False
        self.say("reading…")
        try:
            entries = await self.transfers.listdir(directory)
        except RemoteListingError as error:
            self.say(str(error))
            self.loaded = True
            return
        self.directory = directory
        self.entries = {entry.name: entry for entry in entries}
        self.query_one("#where", Static).update(plain(safe_text(directory)))
        self.query_one("#filter", Input).value = ""
        self.say("")
        self._show("")
        self.loaded = True

    def _show(self, pattern: str) -> None:
        folders = sorted(
            (name for name, entry in self.entries.items() if entry.kind is EntryKind.DIRECTORY),
            key=_listing_order,
        )
        others = sorted(
            (name for name, entry in self.entries.items() if entry.kind is not EntryKind.DIRECTORY),
            key=_listing_order,
        )
        names = fuzzy_filter(pattern, folders + others)
        options = self.query_one("#choices", OptionList)
        options.clear_options()
        rows = [] if pattern or self.directory == "/" else [Option(plain(f"{UP}/"), id=UP)]
        rows += [Option(self.label_for(name), id=name) for name in names]
        options.add_options(rows)
        if rows:
            options.highlighted = 0

    def label_for(self, name: str) -> Content:
        path = posixpath.join(self.directory, name)
        return plain(marked_label(entry_line(self.entries[name]), path in self.marked))

    def action_mark(self) -> None:
        """Mark (or unmark) the highlighted file and move on."""
        options = self.query_one("#choices", OptionList)
        if options.highlighted is None:
            return
        name = str(options.get_option_at_index(options.highlighted).id)
        entry = self.entries.get(name)
        if entry is None or entry.kind is not EntryKind.FILE:
            self._open(name)  # a folder, .. or a link: go there, the marks stay
            return
        path = posixpath.join(self.directory, name)
        if path in self.marked:
            self.marked.remove(path)
        else:
            self.marked.append(path)
        options.replace_option_prompt_at_index(options.highlighted, self.label_for(name))
        count = len(self.marked)
        self.say(
            f"{count} marked: enter downloads {'it' if count == 1 else 'them'}" if count else ""
        )
        self.action_move(1)

    @on(Input.Changed, "#filter")
    def _filter(self, event: Input.Changed) -> None:
        if self.entries or event.value:
            self._show(event.value)

    @on(Input.Submitted, "#filter")
    def _submit(self) -> None:
        options = self.query_one("#choices", OptionList)
        if options.highlighted is not None:
            self._choose(str(options.get_option_at_index(options.highlighted).id))
        elif self.marked:
            self.dismiss(list(self.marked))

    @on(OptionList.OptionSelected)
    def _selected(self, event: OptionList.OptionSelected) -> None:
        self._choose(str(event.option.id))

    def _choose(self, name: str) -> None:
        """Enter: the marked files if any, else open ``name``."""
        if self.marked:
            self.dismiss(list(self.marked))
        else:
            self._open(name)

    def _open(self, name: str) -> None:
        if name == UP:
            parent = posixpath.dirname(self.directory.rstrip("/")) or "/"
            if not inside(parent, self.root):
                self.root = parent  # the user chose to list the wider tree
            self._load(parent)
            return
        entry = self.entries.get(name)
        if entry is None:
            return
        path = posixpath.join(self.directory, name)
        if entry.kind is EntryKind.DIRECTORY:
            self._load(path)
        elif entry.kind is EntryKind.FILE:
            self.dismiss([path])
        elif entry.kind is EntryKind.SYMLINK:
            self._follow(path)
        else:
            self.say(f"{name} is not a file or a folder: nothing to download")

    @work(exclusive=True, group="listing")
    async def _follow(self, path: str) -> None:
        """A symlink: followed only when it resolves inside the listed tree."""
        try:
            target = await self.transfers.realpath(path)
        except RemoteListingError as error:
            self.say(str(error))
            return
        if not inside(target, self.root):
            self.say(
                f"{posixpath.basename(path)} points outside {self.root} ({target}): "
                "not followed; go there with .. if you mean it"
            )
            return
        try:
            entries = await self.transfers.listdir(target)
        except RemoteListingError:
            # Not a directory: the file it names, under the link's own name (marked, when
            # files are being marked).
            if not self.marked:
                self.dismiss([path])
            elif path not in self.marked:
                self.marked.append(path)
                self.say(f"{len(self.marked)} marked: enter downloads them")
            return
        del entries
        self._load(target)

    def action_move(self, delta: int) -> None:
        """Move the highlight while the filter keeps the keyboard."""
        options = self.query_one("#choices", OptionList)
        if options.option_count:
            options.highlighted = ((options.highlighted or 0) + delta) % options.option_count

    def action_cancel(self) -> None:
        """Close without downloading."""
        self.dismiss(None)
