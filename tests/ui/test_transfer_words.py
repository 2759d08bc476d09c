"""Transfers in words and the pure steps of the file dialogs: the status line's line, the
transfers view's rows, typed directories, the listed tree, typed local paths."""

from __future__ import annotations

from pathlib import Path

import platformdirs

from termkeep.config.settings import Settings
from termkeep.transfers.model import Direction, TransferState, TransferView
from termkeep.transport.remote_files import EntryKind, RemoteEntry
from termkeep.ui.screens.file_lists import entry_line, inside, local_listing, split_typed
from termkeep.ui.transfer_flow import downloads_folder, remote_dir_of, target_words
from termkeep.ui.transfer_text import active_line, view_line


def view(ident: int, state: TransferState, **changes: object) -> TransferView:
    fields: dict[str, object] = {
        "id": ident,
        "direction": Direction.UPLOAD,
        "source": f"/home/u/file{ident}.bin",
        "destination": "/srv",
        "state": state,
        "size": 1_000_000,
    }
    fields.update(changes)
    return TransferView(**fields)  # type: ignore[arg-type]


def test_the_status_line_follows_the_running_transfer_and_counts_the_queue() -> None:
    views = [
        view(1, TransferState.DONE),
        view(2, TransferState.RUNNING, done=420_000, rate=12_300_000.0, eta=8.0),
        view(3, TransferState.QUEUED),
    ]
    assert active_line(views) == "↑ file2.bin 42% 12.3 MB/s 8.0 s left (+1 queued)"


def test_a_transfer_waiting_for_the_link_or_queued_shows_too() -> None:
    waiting = view(1, TransferState.WAITING, done=500_000, direction=Direction.DOWNLOAD)
    assert active_line([waiting]) == "↓ file1.bin 50% waiting for the link"
    assert active_line([view(1, TransferState.QUEUED)]) == "↑ file1.bin: queued"
    assert active_line([view(1, TransferState.DONE), view(2, TransferState.FAILED)]) is None


def test_a_row_says_state_progress_why_and_where() -> None:
    failed = view(4, TransferState.FAILED, done=1000, reason="/srv: permission denied")
    assert view_line(failed) == (
        "↑ file4.bin [failed] 1.0 kB of 1.0 MB — /srv: permission denied → /srv"
    )


def test_a_hostile_name_is_shown_with_its_controls_visible() -> None:
    hostile = view(5, TransferState.DONE, source="/x/evil\x1b[2Jname")
    assert "\x1b" not in view_line(hostile)
    assert "\x1b" not in (active_line([view(6, TransferState.QUEUED, source="/a\x07b")]) or "")


def test_typed_remote_directories() -> None:
    assert remote_dir_of("~") is None
    assert remote_dir_of(" ~/ ") is None
    assert remote_dir_of("~/www") == "www"  # relative: SFTP starts in the login directory
    assert remote_dir_of("/srv/www") == "/srv/www"
    assert target_words("box", None) == "box:~"
    assert "\n" not in target_words("box", "/srv/a\nb")


def test_the_listed_tree() -> None:
    assert inside("/srv/www", "/srv")
    assert inside("/srv", "/srv/")
    assert not inside("/srvx/a", "/srv")
    assert not inside("/etc/passwd", "/srv")
    assert inside("/etc", "/")


def test_a_remote_entry_line() -> None:
    entry = RemoteEntry("big.bin", EntryKind.FILE, 2_500_000, 0o644, 1000.0)
    assert entry_line(entry, now=1000.0 + 7_500) == "big.bin  2.5 MB  2 h 5 min"
    folder = RemoteEntry("logs", EntryKind.DIRECTORY, 4096, 0o755, 0.0)
    assert entry_line(folder) == "logs/"
    link = RemoteEntry("out", EntryKind.SYMLINK, 12, 0o777, 0.0)
    assert entry_line(link) == "out ->  12 B"


def test_typed_local_paths(tmp_path: Path) -> None:
    home = Path.home()
    assert split_typed("", tmp_path) == (tmp_path, "")
    assert split_typed("rep", tmp_path) == (tmp_path, "rep")
    assert split_typed("~/pro", tmp_path) == (home, "pro")
    assert split_typed("/etc/", tmp_path) == (Path("/etc"), "")
    assert split_typed("sub/x", tmp_path) == (tmp_path / "sub", "x")


def test_a_local_listing_puts_folders_first_and_hidden_last(tmp_path: Path) -> None:
    for name in ("b.txt", "A.txt", ".hidden"):
        (tmp_path / name).write_text("x")
    (tmp_path / "zdir").mkdir()
    assert local_listing(tmp_path).names == ["zdir/", "A.txt", "b.txt", ".hidden"]
    missing = local_listing(tmp_path / "absent")
    assert missing.names == []
    assert "No such file or directory" in missing.problem


def test_downloads_go_to_the_setting_or_the_downloads_folder(tmp_path: Path) -> None:
    assert downloads_folder(Settings()) == Path(platformdirs.user_downloads_dir())
    assert downloads_folder(Settings(downloads_dir="~/in")) == Path.home() / "in"
    assert downloads_folder(Settings(downloads_dir=str(tmp_path))) == tmp_path
