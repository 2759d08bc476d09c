"""The steps of an upload or a download from a tab, with the questions on the way.

Where files go is where the tab's shell is: the tmux pane's current directory, asked over
the tab's connection. When the pane's foreground program is not a shell, its directory may
be another machine's (a nested ``ssh``) or another user's (``sudo -s``): the user is told
what runs there and asked for the directory. A tab without tmux has no pane to ask: files go
to the login directory, and the user is told so. The bytes themselves go over the tab's
transfer connection (a second one), never the tab's own.

These run in workers (they wait on dialogs with ``push_screen_wait``).
"""

from __future__ import annotations

import asyncio
import posixpath
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import platformdirs
from textual.app import App

from termkeep.config.settings import Settings
from termkeep.terminal.display_text import safe_text
from termkeep.tmux.pane import PanePlace
from termkeep.transfers.jobs import ExistsDecider
from termkeep.transfers.model import Existing, ExistingFile
from termkeep.ui.screens.dialogs import TextInputScreen
from termkeep.ui.screens.file_lists import LocalFilePicker, RemoteBrowserScreen, expand_home
from termkeep.ui.screens.transfers import ExistingFileScreen
from termkeep.ui.session_api import (
    PaneUnknownError,
    RemoteListingError,
    SessionLike,
    TabTransfers,
)

LOGIN_DIRECTORY = "~"
NO_TMUX_NOTE = (
    "This tab runs without tmux, so termkeep cannot see the shell's directory: "
    "files go to the login directory."
)


@dataclass(frozen=True, slots=True)
class Target:
    """Where an upload goes: ``directory`` (None: the login directory) and how to say it."""

    directory: str | None
    words: str
    note: str = ""


def remote_dir_of(typed: str) -> str | None:
    """A directory the user typed, as the transfer takes it: ``~`` is the login directory
    (None), ``~/x`` is ``x`` relative to it (SFTP paths start there), anything else as is."""
    typed = typed.strip()
    if typed in {"", "~", "~/"}:
        return None
    if typed.startswith("~/"):
        return typed[2:]
    return typed


def target_words(host: str, directory: str | None) -> str:
    """``host:/srv/www``, or ``host:~`` for the login directory."""
    return f"{host}:{safe_text(directory) if directory else LOGIN_DIRECTORY}"


async def ask_directory(app: App[None], question: str, suggestion: str) -> str | None:
    """The directory the user types (None: cancelled)."""
    answer = await app.push_screen_wait(TextInputScreen(question, suggestion))
    return answer if isinstance(answer, str) else None


def not_a_shell_question(label: str, place: PanePlace, host: str, what: str) -> str:
    """Says what runs in the pane and why termkeep asks."""
    command = safe_text(place.command) or "a program"
    return (
        f"{command} runs in {label}'s pane, so its directory may be another machine's or "
        f"another user's. {what} which directory on {host}?"
    )


async def upload_target(app: App[None], session: SessionLike, label: str) -> Target | None:
    """Where prefix ``u`` uploads to (None: the user cancelled)."""
    transfers = session.transfers
    assert transfers is not None
    host = transfers.host
    try:
        place = await session.pane_place()
    except PaneUnknownError as error:
        question = f"{error}. Upload into which directory on {host}?"
        typed = await ask_directory(app, question, LOGIN_DIRECTORY)
        return None if typed is None else _typed_target(host, typed)
    if place is None:
        return Target(None, target_words(host, None), NO_TMUX_NOTE)
    if not place.at_shell:
        question = not_a_shell_question(label, place, host, "Upload into")
        typed = await ask_directory(app, question, place.path)
        return None if typed is None else _typed_target(host, typed)
    return Target(place.path, target_words(host, place.path))


async def paste_target(session: SessionLike, *, full_screen: bool) -> Target | None:
    """Where a pasted file list would go, or None when the paste should stay text: the pane
    runs a program that is not a shell, or is full-screen, or tmux cannot say. Without tmux
    only ``full_screen`` (the tab's own terminal on the alternate screen) can tell."""
    transfers = session.transfers
    if transfers is None:
        return None
    host = transfers.host
    try:
        place = await session.pane_place()
    except PaneUnknownError:
        return None
    if place is None:
        return None if full_screen else Target(None, target_words(host, None), NO_TMUX_NOTE)
    if place.alternate or not place.at_shell:
        return None
    return Target(place.path, target_words(host, place.path))


def _typed_target(host: str, typed: str) -> Target:
    directory = remote_dir_of(typed)
    return Target(directory, target_words(host, directory))


def queue_upload(
    app: App[None], transfers: TabTransfers, label: str, paths: Sequence[Path], target: Target
) -> None:
    """Queue ``paths`` into ``target`` and say so (with the no-tmux note when it applies)."""
    transfers.upload(paths, target.directory)
    count = len(paths)
    what = safe_text(paths[0].name) if count == 1 else f"{count} files"
    note = " (no tmux: the login directory)" if target.note else ""
    app.notify(f"{label}: uploading {what} to {target.words}{note}")


async def upload_flow(app: App[None], session: SessionLike, label: str) -> None:
    """Prefix ``u``: pick a local file, find where the shell is, queue the upload."""
    transfers = session.transfers
    if transfers is None:
        app.notify(f"{label} cannot carry files")
        return
    target = await upload_target(app, session, label)
    if target is None:
        return
    picker = LocalFilePicker(f"Upload to {target.words}", Path.cwd())
    chosen = await app.push_screen_wait(picker)
    if chosen:
        queue_upload(app, transfers, label, chosen, target)


def downloads_folder(settings: Settings) -> Path:
    """``downloads_dir`` from the settings (``~`` allowed), else the user's downloads folder."""
    if settings.downloads_dir.strip():
        return Path(expand_home(settings.downloads_dir.strip()))
    return Path(platformdirs.user_downloads_dir())


async def download_start(app: App[None], session: SessionLike, label: str) -> str | None:
    """The remote directory prefix ``U`` lists first (None: nothing to list)."""
    transfers = session.transfers
    assert transfers is not None
    try:
        place = await session.pane_place()
    except PaneUnknownError as error:
        app.notify(f"{label}: {error}; listing the login directory")
        return await _home(app, transfers, label)
    if place is None:
        app.notify(f"{label}: {NO_TMUX_NOTE.replace('go to', 'come from')}")
        return await _home(app, transfers, label)
    if not place.at_shell:
        question = not_a_shell_question(label, place, transfers.host, "List")
        typed = await ask_directory(app, question, place.path)
        return None if typed is None else await _typed_directory(app, transfers, label, typed)
    return place.path


async def _typed_directory(
    app: App[None], transfers: TabTransfers, label: str, typed: str
) -> str | None:
    """A typed remote directory made absolute (``~`` and relative ones from the login
    directory), None when the server cannot resolve it (said in one line)."""
    directory = remote_dir_of(typed)
    if directory is None:
        return await _home(app, transfers, label)
    if directory.startswith("/"):
        return directory
    return await _resolved(app, transfers, label, directory)


async def _home(app: App[None], transfers: TabTransfers, label: str) -> str | None:
    try:
        return await transfers.home()
    except RemoteListingError as error:
        app.notify(f"{label}: {error}", severity="error")
        return None


async def _resolved(app: App[None], transfers: TabTransfers, label: str, path: str) -> str | None:
    try:
        return await transfers.realpath(path)
    except RemoteListingError as error:
        app.notify(f"{label}: {error}", severity="error")
        return None


async def download_flow(
    app: App[None], session: SessionLike, label: str, settings: Settings
) -> None:
    """Prefix ``U``: list where the shell is on the server, queue the chosen file."""
    transfers = session.transfers
    if transfers is None:
        app.notify(f"{label} cannot carry files")
        return
    start = await download_start(app, session, label)
    if start is None:
        return
    browser = RemoteBrowserScreen(f"Download from {transfers.host}", transfers, start)
    chosen = await app.push_screen_wait(browser)
    if not chosen:
        return
    folder = downloads_folder(settings)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        app.notify(
            f"Cannot make the downloads folder {folder}: {error.strerror or error}; "
            "set downloads_dir in settings.toml",
            severity="error",
        )
        return
    transfers.download(chosen, folder)
    names = ", ".join(safe_text(posixpath.basename(path)) for path in chosen)
    app.notify(f"{label}: downloading {names} to {folder}")


def existing_decider(app: App[None]) -> ExistsDecider:
    """What the tabs' transfers ask when a destination exists: a dialog, answered
    overwrite, keep both or skip (a dialog closed without an answer skips)."""

    async def decide(existing: ExistingFile) -> Existing:
        answer: asyncio.Future[Existing] = asyncio.get_running_loop().create_future()

        def answered(choice: Existing | None) -> None:
            if not answer.done():
                answer.set_result(choice or Existing.SKIP)

        app.push_screen(ExistingFileScreen(existing), answered)
        return await answer

    return decide
