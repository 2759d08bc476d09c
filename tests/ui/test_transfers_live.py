"""Files from a tab, in the app, on the real sshd (OpenSSH's sftp-server) and real tmux:
prefix u uploads to the pane's directory, a dropped-file paste asks and uploads, an
existing file asks, prefix U lists and downloads (symlinks kept inside the tree), prefix T
shows the transfers with cancel and retry, and the status line shows the one moving."""

from __future__ import annotations

import hashlib
import os
import shlex
from pathlib import Path

import pytest
from textual import events
from textual.pilot import Pilot
from textual.widgets import Input, OptionList

from termkeep.config.profile import TmuxSettings
from termkeep.config.settings import Settings, settings_from_mapping
from termkeep.config.store import ProfileStore
from termkeep.supervisor.phase import Phase
from termkeep.transfers.model import TransferState
from termkeep.transport.remote_files import NO_SFTP
from termkeep.ui.live_session import LiveSession
from termkeep.ui.screens.dialogs import TextInputScreen
from termkeep.ui.screens.file_lists import LocalFilePicker, RemoteBrowserScreen
from termkeep.ui.screens.transfers import ExistingFileScreen, PasteUploadScreen, TransfersScreen
from termkeep.ui.widgets.session_pane import SessionPane
from termkeep.ui.widgets.status_line import StatusLine
from termkeep.ui.widgets.terminal_view import TerminalView
from tests.fixtures.profiles import profile_for
from tests.fixtures.sftp import with_sftp
from tests.fixtures.sshd import SshServer
from tests.ui.fakes import RecordingApp
from tests.ui.pilot import LIVE, PREFIX, wait_for

SIZE = (200, 32)
"""Wide: the long test paths a paste leaves at the prompt stay on one row."""


@pytest.fixture
def sftp_sshd(sshd: SshServer) -> SshServer:
    return with_sftp(sshd)


@pytest.fixture
def local(tmp_path: Path) -> Path:
    directory = tmp_path / "local files"
    directory.mkdir()
    return directory


@pytest.fixture
def remote(tmp_path: Path) -> Path:
    """The server's directory the pane's shell works in (the server runs on this machine)."""
    directory = tmp_path / "on the server"
    directory.mkdir()
    return directory


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def live_app(
    store: ProfileStore, server: SshServer, settings: Settings | None = None
) -> RecordingApp:
    store.save(profile_for(server, name="box", tmux_session="tk-files"))
    return RecordingApp(store, settings, open_session=None)


async def shell_in(app: RecordingApp, pilot: Pilot[None], directory: Path) -> SessionPane:
    """Open the tab, attach, and cd its shell into ``directory``."""
    pane = await app.open_profile("box")
    assert pane is not None
    assert isinstance(pane.session, LiveSession)
    await wait_for(pilot, lambda: pane.status.state is Phase.ATTACHED, "attach", bound=LIVE)
    marker = "tk-in-dir"
    await pilot.press(*f"cd {shlex.quote(str(directory))} && echo {marker}-$((1+1))", "enter")
    emulator = live(pane).session.emulator
    await wait_for(pilot, lambda: f"{marker}-2" in emulator.text(), "the cd", bound=LIVE)
    return pane


def live(pane: SessionPane) -> LiveSession:
    assert isinstance(pane.session, LiveSession)
    return pane.session


def transfers_of(pane: SessionPane) -> list[TransferState]:
    transfers = pane.session.transfers
    assert transfers is not None
    return [view.state for view in transfers.transfers()]


async def pick_local(pilot: Pilot[None], app: RecordingApp, path: Path) -> None:
    """In the open local file picker, type ``path`` and press enter."""
    await wait_for(
        pilot, lambda: isinstance(app.screen, LocalFilePicker), "the file picker", bound=LIVE
    )
    app.screen.query_one("#path", Input).value = str(path)
    await pilot.press("enter")


async def test_prefix_u_uploads_to_the_panes_directory_and_asks_before_overwriting(
    store: ProfileStore, sftp_sshd: SshServer, local: Path, remote: Path
) -> None:
    report = local / "report 1.pdf"
    report.write_bytes(os.urandom(300_000))
    app = live_app(store, sftp_sshd)
    async with app.run_test(size=SIZE) as pilot:
        pane = await shell_in(app, pilot, remote)
        tab_connection = sftp_sshd.connection_pids()
        assert len(tab_connection) == 1
        await pilot.press(PREFIX, "u")
        await wait_for(
            pilot, lambda: isinstance(app.screen, LocalFilePicker), "the picker", bound=LIVE
        )
        picker = app.screen
        assert isinstance(picker, LocalFilePicker)
        # Fuzzy over the directory typed so far: "rep" finds the file in the local folder.
        picker.query_one("#path", Input).value = f"{local}/rp1"
        await wait_for(pilot, lambda: picker.shown == ["report 1.pdf"], "the fuzzy match")
        await pilot.press("enter")
        arrived = remote / "report 1.pdf"
        await wait_for(
            pilot, lambda: transfers_of(pane) == [TransferState.DONE], "the upload", bound=LIVE
        )
        assert digest(arrived) == digest(report)
        # The bytes went over a second connection (no PTY, no tmux), not the tab's own.
        connections = sftp_sshd.connection_pids()
        assert len(connections) == 2
        assert set(tab_connection) < set(connections)
        assert any(
            f"uploading report 1.pdf to {sftp_sshd.host}:{remote}" in m for m in app.messages
        )

        # Again: the file exists there, and nothing is overwritten without asking.
        report.write_bytes(b"the second version")
        await pilot.press(PREFIX, "u")
        await pick_local(pilot, app, report)
        await wait_for(
            pilot, lambda: isinstance(app.screen, ExistingFileScreen), "the question", bound=LIVE
        )
        await pilot.press("k")  # keep both
        await wait_for(
            pilot,
            lambda: transfers_of(pane) == [TransferState.DONE] * 2,
            "the second upload",
            bound=LIVE,
        )
        assert (remote / "report 1 (1).pdf").read_bytes() == b"the second version"
        assert digest(arrived) != digest(report)  # the first one is untouched


async def test_a_dropped_file_paste_at_the_prompt_asks_and_uploads(
    store: ProfileStore, sftp_sshd: SshServer, local: Path, remote: Path
) -> None:
    photo, notes = local / "it's a photo.jpg", local / "notes.txt"
    photo.write_bytes(b"\xff\xd8 not really a jpeg")
    notes.write_text("notes")
    app = live_app(store, sftp_sshd)
    async with app.run_test(size=SIZE) as pilot:
        pane = await shell_in(app, pilot, remote)
        view = pane.query_one(TerminalView)
        # What GNOME Terminal sends for two dropped files: quoted, space-separated.
        dropped = f"{shlex.quote(str(photo))} {shlex.quote(str(notes))} "
        view.post_message(events.Paste(dropped))
        await wait_for(
            pilot, lambda: isinstance(app.screen, PasteUploadScreen), "the question", bound=LIVE
        )
        question = app.screen
        assert isinstance(question, PasteUploadScreen)
        assert question.question == (
            f"Upload 2 files to {sftp_sshd.host}:{remote}, or paste the text?"
        )
        await pilot.press("enter")  # Upload has the focus
        await wait_for(
            pilot,
            lambda: transfers_of(pane) == [TransferState.DONE] * 2,
            "the uploads",
            bound=LIVE,
        )
        assert (remote / "it's a photo.jpg").read_bytes() == photo.read_bytes()
        assert (remote / "notes.txt").read_text() == "notes"
        emulator = live(pane).session.emulator
        assert "notes.txt" not in emulator.text()  # nothing was typed at the prompt

        # A file:// URI, answered "paste the text": the text reaches the shell as it was.
        view.post_message(events.Paste(notes.as_uri()))
        await wait_for(
            pilot, lambda: isinstance(app.screen, PasteUploadScreen), "asked again", bound=LIVE
        )
        await pilot.click("#paste")
        await wait_for(
            pilot, lambda: notes.as_uri() in emulator.text(), "the pasted text", bound=LIVE
        )
        assert len(transfers_of(pane)) == 2


async def test_a_program_that_is_not_a_shell_is_named_and_asked_about(
    store: ProfileStore, sftp_sshd: SshServer, local: Path, remote: Path, tmp_path: Path
) -> None:
    """A paste of paths into it is text; prefix u says what runs there and asks where."""
    notes = local / "notes.txt"
    notes.write_text("notes")
    chosen = tmp_path / "chosen dir"
    chosen.mkdir()
    app = live_app(store, sftp_sshd)
    async with app.run_test(size=SIZE) as pilot:
        pane = await shell_in(app, pilot, remote)
        emulator = live(pane).session.emulator
        await pilot.press(*"cat", "enter")  # cat reads the paste: not a shell prompt
        await wait_for(
            pilot,
            lambda: (
                sftp_sshd.tmux(
                    "display-message", "-p", "-t", "=tk-files:", "#{pane_current_command}"
                ).stdout.strip()
                == "cat"
            ),
            "cat in the foreground",
            bound=LIVE,
        )
        pane.query_one(TerminalView).post_message(events.Paste(shlex.quote(str(notes))))
        await wait_for(
            pilot, lambda: shlex.quote(str(notes)) in emulator.text(), "the text", bound=LIVE
        )
        assert not isinstance(app.screen, PasteUploadScreen)
        assert transfers_of(pane) == []

        await pilot.press(PREFIX, "u")
        await wait_for(
            pilot, lambda: isinstance(app.screen, TextInputScreen), "the question", bound=LIVE
        )
        question = app.screen
        assert isinstance(question, TextInputScreen)
        assert question.title_text.startswith("cat runs in box's pane, so its directory may be")
        assert question.value == str(remote)  # the pane's directory, to accept or change
        question.query_one(Input).value = str(chosen)
        await pilot.press("enter")
        await pick_local(pilot, app, notes)
        await wait_for(
            pilot, lambda: transfers_of(pane) == [TransferState.DONE], "the upload", bound=LIVE
        )
        assert (chosen / "notes.txt").read_text() == "notes"
        assert not (remote / "notes.txt").exists()


async def test_paste_upload_never_pastes_the_paths_as_text(
    store: ProfileStore, sftp_sshd: SshServer, local: Path, remote: Path
) -> None:
    notes = local / "notes.txt"
    notes.write_text("notes")
    settings = settings_from_mapping({"paste_upload": "never"}, store.directory)
    app = live_app(store, sftp_sshd, settings)
    async with app.run_test(size=SIZE) as pilot:
        pane = await shell_in(app, pilot, remote)
        emulator = live(pane).session.emulator
        pane.query_one(TerminalView).post_message(events.Paste(shlex.quote(str(notes))))
        await wait_for(
            pilot, lambda: shlex.quote(str(notes)) in emulator.text(), "the text", bound=LIVE
        )
        assert not isinstance(app.screen, PasteUploadScreen)


async def test_prefix_shift_u_lists_goes_in_and_downloads_keeping_symlinks_inside(
    store: ProfileStore, sftp_sshd: SshServer, remote: Path, tmp_path: Path
) -> None:
    (remote / "logs").mkdir()
    (remote / "logs" / "app.log").write_text("line 1\nline 2\n")
    (remote / "big.bin").write_bytes(b"\0" * 2_500_000)
    (remote / "inside").symlink_to(remote / "logs")
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (outside / "secret.txt").write_text("not for download")
    (remote / "escape").symlink_to(outside)
    downloads = tmp_path / "my downloads"
    settings = settings_from_mapping({"downloads_dir": str(downloads)}, store.directory)
    app = live_app(store, sftp_sshd, settings)
    async with app.run_test(size=SIZE) as pilot:
        pane = await shell_in(app, pilot, remote)
        await pilot.press(PREFIX, "U")
        await wait_for(pilot, lambda: isinstance(app.screen, RemoteBrowserScreen), "the list")
        browser = app.screen
        assert isinstance(browser, RemoteBrowserScreen)
        await wait_for(pilot, lambda: browser.loaded and browser.entries, "the entries", bound=LIVE)
        assert browser.directory == str(remote)
        assert browser.shown == ["..", "logs", "big.bin", "escape", "inside"]
        big_row = browser.query_one("#choices").get_option("big.bin").prompt  # type: ignore[attr-defined]
        assert "2.5 MB" in str(big_row)

        # A symlink out of the listed tree is not followed.
        browser.query_one("#filter", Input).value = "escape"
        await pilot.press("enter")
        await wait_for(
            pilot,
            lambda: "not followed" in str(browser.query_one("#problem").render()),
            "the refusal",
            bound=LIVE,
        )
        assert browser.directory == str(remote)
        # Tab marks a file; on a link inside the tree, it follows it to the folder there.
        browser.query_one("#filter", Input).value = "big"
        await pilot.press("tab")
        assert browser.marked == [str(remote / "big.bin")]
        browser.query_one("#filter", Input).value = "inside"
        await pilot.press("tab")
        await wait_for(
            pilot, lambda: browser.directory == str(remote / "logs"), "in the link", bound=LIVE
        )
        await wait_for(pilot, lambda: browser.shown == ["..", "app.log"], "its entries")
        await pilot.press("down", "tab", "enter")  # app.log marked too; enter takes both
        await wait_for(
            pilot,
            lambda: transfers_of(pane) == [TransferState.DONE] * 2,
            "the downloads",
            bound=LIVE,
        )
        assert (downloads / "app.log").read_text() == "line 1\nline 2\n"
        assert (downloads / "big.bin").stat().st_size == 2_500_000
        assert not (downloads / "secret.txt").exists()


async def test_the_transfers_view_shows_waiting_cancel_and_retry(
    store: ProfileStore, sftp_sshd: SshServer, local: Path, remote: Path
) -> None:
    first, second = local / "first.txt", local / "second.txt"
    first.write_text("first")
    second.write_text("second")
    app = live_app(store, sftp_sshd)
    async with app.run_test(size=SIZE) as pilot:
        pane = await shell_in(app, pilot, remote)
        await pilot.press(PREFIX, "u")
        await pick_local(pilot, app, first)
        await wait_for(
            pilot, lambda: transfers_of(pane) == [TransferState.DONE], "the upload", bound=LIVE
        )

        sftp_sshd.stop()  # the server goes: the tab and the transfer connection wait
        await pilot.press(PREFIX, "u")
        # The tab cannot ask tmux now: termkeep says so and asks for the directory.
        await wait_for(
            pilot, lambda: isinstance(app.screen, TextInputScreen), "the question", bound=LIVE
        )
        app.screen.query_one(Input).value = str(remote)
        await pilot.press("enter")
        await pick_local(pilot, app, second)
        waiting = {TransferState.QUEUED, TransferState.WAITING}
        await wait_for(
            pilot,
            lambda: transfers_of(pane)[1:] and transfers_of(pane)[1] in waiting,
            "the second transfer waiting",
            bound=LIVE,
        )

        await pilot.press(PREFIX, "T")
        await wait_for(pilot, lambda: isinstance(app.screen, TransfersScreen), "the view")
        view = app.screen
        assert isinstance(view, TransfersScreen)
        assert "[done]" in view.rows[0]
        assert "first.txt" in view.rows[0]
        assert "second.txt" in view.rows[1]
        await pilot.press("c")  # the last one is highlighted
        await wait_for(pilot, lambda: "[cancelled]" in view.rows[1], "cancelled", bound=LIVE)
        assert transfers_of(pane)[1] is TransferState.CANCELLED

        await pilot.press("r")
        await wait_for(pilot, lambda: "[cancelled]" not in view.rows[1], "queued again")
        sftp_sshd.start()
        await wait_for(pilot, lambda: "[done]" in view.rows[1], "done after all", bound=LIVE)
        assert (remote / "second.txt").read_text() == "second"
        await pilot.press("escape")
        assert not isinstance(app.screen, TransfersScreen)


async def test_the_status_line_shows_the_transfer_in_flight(
    store: ProfileStore, sftp_sshd: SshServer, local: Path, remote: Path
) -> None:
    big = local / "big.iso"
    big.write_bytes(b"x" * 1_000)
    app = live_app(store, sftp_sshd)
    async with app.run_test(size=SIZE) as pilot:
        pane = await shell_in(app, pilot, remote)
        sftp_sshd.stop()  # the transfer waits for the link: it shows until the server is back
        transfers = pane.session.transfers
        assert transfers is not None
        transfers.upload([big], str(remote))
        line = pane.query_one(StatusLine)
        await wait_for(
            pilot,
            lambda: "↑ big.iso" in str(line.render()),
            "the transfer on the status line",
            bound=LIVE,
        )
        sftp_sshd.start()
        await wait_for(
            pilot, lambda: transfers_of(pane) == [TransferState.DONE], "the upload", bound=LIVE
        )
        pane.refresh_status()
        await wait_for(pilot, lambda: "big.iso" not in str(line.render()), "the line cleared")


async def test_a_tab_without_tmux_uploads_to_the_login_directory_and_says_so(
    store: ProfileStore, sftp_sshd: SshServer, local: Path
) -> None:
    notes = local / "notes.txt"
    notes.write_text("notes")
    store.save(profile_for(sftp_sshd, name="box", tmux=TmuxSettings(enabled=False)))
    app = RecordingApp(store, open_session=None)
    async with app.run_test(size=SIZE) as pilot:
        pane = await app.open_profile("box")
        assert pane is not None
        await wait_for(pilot, lambda: pane.status.state is Phase.ATTACHED, "attach", bound=LIVE)
        # A dropped file: the question says where it would go, and why there.
        # Backslash-escaped, as iTerm2 and Konsole send a dropped file.
        escaped = str(notes).replace(" ", "\\ ")
        pane.query_one(TerminalView).post_message(events.Paste(escaped))
        await wait_for(
            pilot, lambda: isinstance(app.screen, PasteUploadScreen), "the question", bound=LIVE
        )
        question = app.screen
        assert isinstance(question, PasteUploadScreen)
        assert question.question == f"Upload 1 file to {sftp_sshd.host}:~, or paste the text?"
        assert "runs without tmux" in question.note
        assert "login directory" in question.note
        await pilot.press("escape")  # neither: nothing uploaded, nothing pasted
        await wait_for(pilot, lambda: not isinstance(app.screen, PasteUploadScreen), "closed")
        assert "notes.txt" not in live(pane).session.emulator.text()

        await pilot.press(PREFIX, "u")
        await wait_for(
            pilot, lambda: isinstance(app.screen, LocalFilePicker), "the picker", bound=LIVE
        )
        picker = app.screen
        assert isinstance(picker, LocalFilePicker)
        assert picker.title_text == f"Upload to {sftp_sshd.host}:~"
        await pilot.press("escape")
        assert transfers_of(pane) == []


async def test_a_hostile_remote_name_is_shown_harmless_and_saved_under_a_safe_name(
    store: ProfileStore, sftp_sshd: SshServer, remote: Path, tmp_path: Path
) -> None:
    hostile = "..\x1b]0;owned\x07\x1b[2Jevil\u202egpj.exe"
    (remote / hostile).write_text("payload")
    downloads = tmp_path / "downloads"
    settings = settings_from_mapping({"downloads_dir": str(downloads)}, store.directory)
    app = live_app(store, sftp_sshd, settings)
    async with app.run_test(size=SIZE) as pilot:
        pane = await shell_in(app, pilot, remote)
        await pilot.press(PREFIX, "U")
        await wait_for(pilot, lambda: isinstance(app.screen, RemoteBrowserScreen), "the list")
        browser = app.screen
        assert isinstance(browser, RemoteBrowserScreen)
        await wait_for(pilot, lambda: browser.loaded and browser.entries, "the entries", bound=LIVE)
        assert browser.shown == ["..", hostile]
        row = str(browser.query_one("#choices", OptionList).get_option_at_index(1).prompt)
        assert not set(row) & {"\x1b", "\x07", "\u202e"}  # shown, never obeyed
        await pilot.press("down", "enter")
        await wait_for(
            pilot, lambda: transfers_of(pane) == [TransferState.DONE], "the download", bound=LIVE
        )
        (saved,) = downloads.iterdir()
        assert saved.read_text() == "payload"
        assert saved.name == "___]0;owned__[2Jevil_gpj.exe"
        assert not set(saved.name) & {"\x1b", "\x07", "\u202e", "/"}


async def test_a_server_without_sftp_is_said_in_one_line(
    store: ProfileStore, sshd: SshServer, local: Path, remote: Path
) -> None:
    notes = local / "notes.txt"
    notes.write_text("notes")
    app = live_app(store, sshd)  # the fixture's sshd has no Subsystem sftp
    async with app.run_test(size=SIZE) as pilot:
        pane = await shell_in(app, pilot, remote)
        await pilot.press(PREFIX, "U")
        await wait_for(pilot, lambda: isinstance(app.screen, RemoteBrowserScreen), "the list")
        browser = app.screen
        assert isinstance(browser, RemoteBrowserScreen)
        problem = browser.query_one("#problem")
        await wait_for(pilot, lambda: NO_SFTP in str(problem.render()), "the words", bound=LIVE)
        await pilot.press("escape")

        await pilot.press(PREFIX, "u")
        await pick_local(pilot, app, notes)
        await wait_for(
            pilot, lambda: transfers_of(pane) == [TransferState.FAILED], "the failure", bound=LIVE
        )
        await pilot.press(PREFIX, "T")
        await wait_for(pilot, lambda: isinstance(app.screen, TransfersScreen), "the view")
        view = app.screen
        assert isinstance(view, TransfersScreen)
        assert view.rows == [f"↑ notes.txt [failed] — {NO_SFTP} → {remote}"]
        assert not (remote / "notes.txt").exists()
